// Shared helpers of the `mrstack mr` end-to-end tests: temp state directories and JSON runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runCli, runCliJson, type CliResult } from '../../_support/cli.js';

/** A fresh temp state directory, removed when the test ends. */
export function tempState(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-mr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'tvm');
}

/** Runs `mrstack ...args --tvm-state dir --json`, asserts exit 0 and returns the JSON. */
export async function ok(dir: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { result, json } = await runCliJson([...args, '--tvm-state', dir, '--json']);
  assert.equal(result.code, 0, `mrstack ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return json as Record<string, unknown>;
}

/** Runs a command expected to fail; returns the error body and the run. */
export async function fails(
  dir: string,
  ...args: string[]
): Promise<{ error: Record<string, unknown>; result: CliResult }> {
  const { result, json } = await runCliJson([...args, '--tvm-state', dir, '--json']);
  const error = (json as { error?: Record<string, unknown> }).error;
  assert.ok(error, `expected an error from mrstack ${args.join(' ')}, got ${result.stdout}`);
  return { error, result };
}

/** `mr list --json` as a map `name` / `name:alg` → hex value. */
export async function listValues(dir: string): Promise<Map<string, string>> {
  const j = (await ok(dir, 'mr', 'list')) as {
    registers: { name: string; alg: string | null; value: string }[];
  };
  const m = new Map<string, string>();
  for (const r of j.registers) m.set(r.alg === null ? r.name : `${r.name}:${r.alg}`, r.value);
  return m;
}

export { runCli };

/** Runs `fn` over `items` with at most `n` running at once. */
export async function pool<T>(
  items: readonly T[],
  n: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: n }, async () => {
    while (next < items.length) {
      const x = items[next++]!;
      await fn(x);
    }
  });
  await Promise.all(workers);
}
