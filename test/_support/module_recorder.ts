/**
 * Module-resolution hooks for a child Node process: every resolved URL is appended to the file
 * named by `MRSTACK_LOADED_LOG`, so a test can see which packages an import pulled in
 * (ESM-only packages never appear in `require.cache`).
 */
import { appendFileSync } from 'node:fs';

type Next = (spec: string, ctx: unknown) => Promise<{ url: string }>;

/** The `resolve` hook: records each resolved URL, one per line. */
export async function resolve(spec: string, ctx: unknown, next: Next): Promise<{ url: string }> {
  const r = await next(spec, ctx);
  const log = process.env['MRSTACK_LOADED_LOG'];
  if (log !== undefined) appendFileSync(log, `${r.url}\n`);
  return r;
}
