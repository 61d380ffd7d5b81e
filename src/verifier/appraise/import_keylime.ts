/**
 * keylime runtime policy v1 → policy v1 `ima` section (DESIGN §6.3).
 *
 * Read: `meta.version` (must be 1), `digests` (path → hex; an `alg:` prefix as in keylime's
 * own test policy is stripped), `excludes` (Python regexes, translated by the supported subset
 * or refused), `keyrings`, `ima.ignored_keyrings`, `ima-buf`, `verification-keys` (a JSON string
 * `{"pubkeys":[base64 SPKI…]}`). `generator`, `release` and `timestamp` are optional here —
 * keylime's own verdict tests use policies without them.
 *
 * A DSSE envelope (`payload`, `payloadType`, `signatures`) is accepted only with a key: the
 * signature must be ECDSA over the DSSE pre-authentication encoding, DER-encoded (keylime's
 * `ecdsa` backend); any signature that does not verify refuses the import.
 *
 * @module
 */
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import type { PolicyV1 } from './policy.js';

function invalid(message: string, details: Record<string, unknown> = {}): MrstackError {
  return new MrstackError('ERR_POLICY_INVALID', `keylime policy: ${message}`, { details });
}

/** DSSE pre-authentication encoding: `DSSEv1 <len type> <type> <len body> <body>`. */
export function dssePae(type: string, body: Uint8Array): Buffer {
  const t = Buffer.from(type, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `),
    t,
    Buffer.from(` ${body.length} `),
    Buffer.from(body),
  ]);
}

/** keylime's lenient decoder: hex first, then standard base64, then URL-safe base64. */
function decodeKeylimeB64(s: string): Buffer {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(s)) return Buffer.from(s, 'hex');
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
}

/** Unwraps a DSSE envelope after verifying a signature with `key` (PEM). */
function unwrapDsse(env: Record<string, unknown>, key: Uint8Array | undefined): Uint8Array {
  if (key === undefined)
    throw invalid('the policy is DSSE-signed: give the signer public key with --key');
  const payloadType = env['payloadType'];
  const payload = env['payload'];
  const sigs = env['signatures'];
  if (typeof payloadType !== 'string' || typeof payload !== 'string' || !Array.isArray(sigs))
    throw invalid('a DSSE envelope needs payload, payloadType and signatures');
  const body = decodeKeylimeB64(payload);
  const pae = dssePae(payloadType, body);
  let pub;
  try {
    pub = createPublicKey(Buffer.from(key));
  } catch (e) {
    throw invalid(`--key is not a public key (${(e as Error).message})`);
  }
  for (const s of sigs as Record<string, unknown>[]) {
    if (typeof s['sig'] !== 'string') continue;
    const sig = decodeKeylimeB64(s['sig']);
    if (verifySignature('sha256', pae, { key: pub, dsaEncoding: 'der' }, sig)) return body;
  }
  throw new MrstackError(
    'ERR_SIGNATURE_INVALID',
    'keylime policy: no DSSE signature verifies with the given key; the policy is refused',
  );
}

const DIGEST = /^[0-9a-f]{40,128}$/;

function digestList(path: string, v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw invalid(`${field}[${JSON.stringify(path)}] is not a list`);
  return v.map((d) => {
    if (typeof d !== 'string')
      throw invalid(`${field}[${JSON.stringify(path)}] holds a non-string`);
    const h = d.replace(/^[a-z0-9-]+:/, '').toLowerCase();
    if (!DIGEST.test(h))
      throw invalid(`${field}[${JSON.stringify(path)}]: ${JSON.stringify(d)} is not a hex digest`);
    return h;
  });
}

function digestMap(v: unknown, field: string): Record<string, string[]> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${field} is not an object`);
  const out: Record<string, string[]> = {};
  for (const [k, d] of Object.entries(v)) out[k] = digestList(k, d, field);
  return out;
}

/**
 * Converts a keylime runtime policy (plain or DSSE-signed) to a policy v1.
 * @throws MrstackError `ERR_POLICY_INVALID`, `ERR_SIGNATURE_INVALID`, `ERR_REGEX_UNSUPPORTED`
 * (later, when the result is validated)
 */
export function importKeylimePolicy(
  bytes: Uint8Array,
  opts: { readonly name: string; readonly key?: Uint8Array; readonly file?: string },
): PolicyV1 {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw invalid(`not JSON (${(e as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw invalid('not a JSON object');
  let rec = obj as Record<string, unknown>;
  let signed = false;
  if ('payload' in rec && 'signatures' in rec) {
    const body = unwrapDsse(rec, opts.key);
    signed = true;
    try {
      rec = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw invalid(`the DSSE payload is not JSON (${(e as Error).message})`);
    }
  }
  const meta = rec['meta'] as Record<string, unknown> | undefined;
  if (meta === undefined || typeof meta !== 'object') throw invalid('meta is missing');
  if (meta['version'] !== 1)
    throw invalid(`meta.version ${JSON.stringify(meta['version'])} is not supported (1 is)`);
  const digests = digestMap(rec['digests'], 'digests') ?? {};
  const excludes = rec['excludes'] ?? [];
  if (!Array.isArray(excludes) || excludes.some((x) => typeof x !== 'string'))
    throw invalid('excludes is not a list of strings');
  const keyrings = digestMap(rec['keyrings'], 'keyrings');
  const imaBuf = digestMap(rec['ima-buf'], 'ima-buf');
  const imaSec = (rec['ima'] ?? {}) as Record<string, unknown>;
  const ignored = imaSec['ignored_keyrings'] ?? [];
  if (!Array.isArray(ignored)) throw invalid('ima.ignored_keyrings is not a list');
  const keys: string[] = [];
  const vk = rec['verification-keys'];
  if (typeof vk === 'string' && vk.trim() !== '') {
    let ring: unknown;
    try {
      ring = JSON.parse(vk);
    } catch {
      throw invalid('verification-keys is not a JSON keyring');
    }
    const pubkeys = (ring as Record<string, unknown>)['pubkeys'];
    if (Array.isArray(pubkeys)) for (const k of pubkeys) if (typeof k === 'string') keys.push(k);
  }
  const ima: Record<string, unknown> = { digests, excludes };
  if (keyrings !== undefined && Object.keys(keyrings).length > 0) ima['keyrings'] = keyrings;
  if (ignored.length > 0) ima['ignored_keyrings'] = ignored;
  if (imaBuf !== undefined && Object.keys(imaBuf).length > 0) ima['ima_buf'] = imaBuf;
  if (keys.length > 0) ima['keys'] = keys;
  return {
    version: 1,
    name: opts.name,
    description: `imported from a keylime runtime policy${signed ? ' (DSSE signature verified)' : ''}`,
    source: {
      importer: 'keylime',
      ...(opts.file === undefined ? {} : { files: [opts.file] }),
      ...(signed ? { signed_by: 'the --key given at import' } : {}),
    },
    ima: ima,
  };
}
