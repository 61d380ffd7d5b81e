/**
 * Expected register values for `log replay --expect FILE`: the same JSON shape as replay's
 * `registers` (`{"<mr>":{"<alg>":"<hex>"}}`), or a whole replay output (`{"registers":{…}}`).
 * Register names are lowercase kernel names; an `NAME:ALG` key (`{"rtmr3:sha384":"<hex>"}`) is
 * accepted too.
 *
 * @module
 */
import { fromHex } from '../bytes/hex.js';
import { digestSize, parseHashAlg, type HashAlg } from '../crypto/hash_alg.js';
import { ParseError, fieldErrors } from '../errors.js';
import type { ExpectedValues } from './replay.js';

const bad = fieldErrors({ code: 'ERR_BAD_JSON', format: 'json' });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses expected values.
 * @throws ParseError `ERR_BAD_JSON`, `ERR_BAD_HEX`, `ERR_UNKNOWN_ALGORITHM`
 */
export function parseExpectedJson(text: string): ExpectedValues {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'json',
      offset: 0,
      field: 'expect',
      expected: 'JSON',
      actual: cause instanceof Error ? cause.message : String(cause),
    });
  }
  if (isObject(doc) && isObject(doc['registers'])) doc = doc['registers'];
  if (!isObject(doc)) throw bad('expect', 'an object of registers', typeof doc);
  const out = new Map<string, Map<HashAlg, Uint8Array>>();
  const put = (reg: string, alg: HashAlg, hex: unknown, field: string): void => {
    if (typeof hex !== 'string') throw bad(field, 'a hex string', typeof hex);
    const v = fromHex(hex, field);
    if (v.length !== digestSize(alg)) {
      throw bad(field, `${digestSize(alg)} bytes for ${alg}`, `${v.length} bytes`);
    }
    let m = out.get(reg);
    if (m === undefined) out.set(reg, (m = new Map<HashAlg, Uint8Array>()));
    m.set(alg, v);
  };
  for (const [key, val] of Object.entries(doc)) {
    const reg = key.toLowerCase();
    const colon = reg.indexOf(':');
    if (colon > 0) {
      put(reg.slice(0, colon), parseHashAlg(reg.slice(colon + 1), key), val, key);
      continue;
    }
    if (!isObject(val)) throw bad(key, 'an object {"<alg>": "<hex>"}', typeof val);
    for (const [a, hex] of Object.entries(val))
      put(reg, parseHashAlg(a, `${key}.${a}`), hex, `${key}.${a}`);
  }
  return out;
}
