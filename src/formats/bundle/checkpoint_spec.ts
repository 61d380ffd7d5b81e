/**
 * The trusted-checkpoint SPEC a verifier passes to `mrstack evidence verify
 * --trusted-checkpoint` (`docs/bundle.md`): a checkpoint it already trusts from an earlier
 * attestation, as its number and the physical register's value just before its CHECKPOINT record.
 *
 * Text form: `<seq>:<alg>/<hex>[,<alg>/<hex>…]` (one value per bank), e.g.
 * `2:sha384/9f…`. JSON form: `{"seq":2,"values":{"sha384":"9f…"}}` — the shape of each entry of
 * `claims.layers.physical.checkpoints` in an earlier verification's output (its extra members
 * are ignored).
 *
 * @module
 */
import { fieldErrors } from '../../errors.js';
import { fromHex } from '../../bytes/hex.js';
import { digestSize, parseHashAlg, type HashAlg } from '../../crypto/hash_alg.js';

/** A trusted checkpoint: number and register value just before it, per bank. */
export interface TrustedCheckpoint {
  readonly seq: number;
  readonly values: ReadonlyMap<HashAlg, Uint8Array>;
}

const bad = fieldErrors({
  code: 'ERR_BAD_VALUE',
  format: 'bundle',
  prefix: 'trusted-checkpoint.',
});

function value(alg: string, hex: string, values: Map<HashAlg, Uint8Array>): void {
  const a = parseHashAlg(alg, 'trusted-checkpoint.alg');
  const v = fromHex(hex, `trusted-checkpoint ${a} value`);
  if (v.length !== digestSize(a))
    throw bad(`values.${a}`, `${digestSize(a)} bytes`, `${v.length} bytes`);
  if (values.has(a)) throw bad(`values.${a}`, 'one value per bank', `${a} twice`);
  values.set(a, v);
}

function seqOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad('seq', 'a checkpoint number >= 0', JSON.stringify(v));
  return v;
}

/**
 * Parses a trusted checkpoint in its text or JSON form.
 * @throws ParseError `ERR_BAD_VALUE` (format `bundle`); `ERR_BAD_HEX` for bad hex
 */
export function parseTrustedCheckpoint(text: string): TrustedCheckpoint {
  const t = text.trim();
  const values = new Map<HashAlg, Uint8Array>();
  if (t.startsWith('{')) {
    let j: unknown;
    try {
      j = JSON.parse(t);
    } catch {
      throw bad('json', 'a JSON object {"seq","values"}', 'invalid JSON');
    }
    const o = j as { seq?: unknown; values?: unknown };
    const seq = seqOf(o.seq);
    if (typeof o.values !== 'object' || o.values === null)
      throw bad('values', 'an object {"<alg>":"<hex>"}', JSON.stringify(o.values));
    for (const [a, v] of Object.entries(o.values)) {
      if (typeof v !== 'string') throw bad(`values.${a}`, 'a hex string', JSON.stringify(v));
      value(a, v, values);
    }
    if (values.size === 0) throw bad('values', 'at least one bank', 'none');
    return { seq, values };
  }
  const m = /^([0-9]{1,15}):(.+)$/.exec(t);
  if (m === null) throw bad('spec', '<seq>:<alg>/<hex>[,<alg>/<hex>…]', JSON.stringify(t));
  for (const part of m[2]!.split(',')) {
    const p = /^([a-z0-9]+)\/([0-9a-fA-F]+)$/.exec(part);
    if (p === null) throw bad('spec', '<alg>/<hex>', JSON.stringify(part));
    value(p[1]!, p[2]!, values);
  }
  return { seq: seqOf(Number(m[1])), values };
}
