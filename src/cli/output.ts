/**
 * How the CLI speaks: JSON for machines (`--json`), tables for people, one-line errors, and the
 * exit codes of DESIGN §7 (0 ok, 1 verification/replay failure, 2 usage/bad input, 3 operational).
 *
 * @module
 */
import Table from 'cli-table3';
import { CommanderError } from 'commander';
import { MrstackError, type ExitCode } from '../errors.js';

/** Options every command has. */
export interface OutputOptions {
  readonly json?: boolean;
}

/** Prints a value as one JSON document (Uint8Array and bigint become hex / decimal strings). */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJsonText(value)}\n`);
}

/** JSON text with the CLI's conventions: bytes as lowercase hex, bigint as decimal strings. */
export function toJsonText(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v: unknown): unknown => {
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v as Map<unknown, unknown>);
      return v;
    },
    indent,
  );
}

/** Prints rows as a table for people. */
export function printTable(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const t = new Table({ head: [...head], style: { head: [], border: [] }, wordWrap: false });
  for (const r of rows) t.push([...r]);
  process.stdout.write(`${t.toString()}\n`);
}

/** Prints `key: value` lines for people. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const w = Math.max(0, ...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}

/** Exit code and printed form of any thrown value; never a stack trace. */
export function reportError(e: unknown, json: boolean): ExitCode {
  let code: ExitCode;
  let body: Record<string, unknown>;
  if (e instanceof MrstackError) {
    code = e.exitCode;
    body = e.toJSON();
  } else if (e instanceof CommanderError) {
    code = 2;
    body = { code: 'ERR_USAGE', message: e.message.replace(/^error: /, '') };
  } else {
    code = 3;
    const message = e instanceof Error ? e.message : String(e);
    body = { code: 'ERR_INTERNAL', message };
  }
  if (json) process.stdout.write(`${toJsonText({ error: body })}\n`);
  else process.stderr.write(`mrstack: ${String(body['code'])}: ${String(body['message'])}\n`);
  if (process.env['MRSTACK_DEBUG'] === '1' && e instanceof Error)
    process.stderr.write(`${e.stack ?? ''}\n`);
  return code;
}

/**
 * Wraps a command action: runs it, maps errors to exit codes. An action may return an exit
 * code (1 for "verified: false" results) or nothing for 0.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const json = args.some(
      (a) => typeof a === 'object' && a !== null && (a as { json?: unknown }).json === true,
    );
    try {
      const rc = await fn(...args);
      process.exitCode = rc ?? 0;
    } catch (e) {
      process.exitCode = reportError(e, json);
    }
  };
}
