/**
 * CoRIM / CoMID reference values → policy v1 (draft-ietf-rats-corim; DESIGN §6.3).
 *
 * Input: an unsigned CoRIM (`#6.501(unsigned-corim-map)`), a signed one
 * (`#6.18(COSE_Sign1)` whose payload is the unsigned CoRIM — its signature is verified with
 * `--key` before anything is read, a broken one is refused), or a bare CoMID
 * (`#6.506` or the map itself). Each CoMID's reference triples are read; a measurement becomes
 * a policy field only where a confirmed profile says what it is:
 *
 * - Arm CCA realm (`tag:arm.com,2025:cca_realm#1.0.0`): `cca.rim` → `cca.rim`, `cca.rem0`…`3`
 *   → `registers.rem0`…`3`, `cca.rpv` (raw value) → `cca.realm.personalization_value`;
 * - Arm CCA platform (`tag:arm.com,2025:cca_platform#1.0.0`): the class id (implementation id)
 *   → `cca.platform.implementation_id`, each `cca.software-component` → `cca.platform.
 *   sw_components` (digest, signer id, name).
 *
 * Everything else — other profiles (veraison's TDX profile describes the platform's SEAM and QE,
 * not a TD's MRs), no profile, attest-key and endorsement triples — is reported back as
 * unmapped (`vendor/model/mkey/…`, trustee's naming), never guessed. A CoRIM's validity
 * (`rim-validity`, or the signer's `corim-meta` validity) becomes every value's expiry; a CoRIM
 * already expired at the import time is refused.
 *
 * @module
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { MrstackError } from '../../errors.js';
import type { PolicyV1, RefValue } from './policy.js';

/** The profiles whose reference values are mapped to policy fields. */
export const CORIM_PROFILES: readonly string[] = Object.freeze([
  'tag:arm.com,2025:cca_realm#1.0.0',
  'tag:arm.com,2025:cca_platform#1.0.0',
]);

/** Options of {@link importCorim}. */
export interface CorimImportOptions {
  readonly name: string;
  /** The input file's name (for `source`). */
  readonly file?: string;
  /** The signer's public key (PEM, or a JWK as JSON) for a signed CoRIM. */
  readonly key?: Uint8Array;
  /** The import time: validity windows are checked against it (default now). */
  readonly at?: Date;
}

/** The import result: the policy and what no field maps. */
export interface CorimImport {
  readonly policy: PolicyV1;
  readonly unmapped: readonly string[];
  /** The CoRIM's profile, when it names one. */
  readonly profile?: string;
  /** Whether a COSE_Sign1 signature was verified. */
  readonly signed: boolean;
}

const TAG = { COSE_SIGN1: 18, URI: 32, UUID: 37, CORIM: 501, COMID: 506, OID: 111 } as const;

function invalid(message: string): MrstackError {
  return new MrstackError('ERR_POLICY_INVALID', `corim: ${message}`);
}

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

function decode(bytes: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw invalid(`${what} is not CBOR (${(e as Error).message})`);
  }
}

const untag = (v: unknown, tag: number): unknown =>
  v instanceof Tag && v.tag === tag ? v.value : v;

const mapOf = (v: unknown, what: string): Map<unknown, unknown> => {
  if (!(v instanceof Map)) throw invalid(`${what} is not a CBOR map`);
  return v;
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Loads a PEM public key or a public JWK (JSON). */
function publicKeyOf(material: Uint8Array): KeyObject {
  const text = Buffer.from(material).toString('utf8').trim();
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      const pub = { ...jwk };
      delete pub['d']; // a private JWK's public half
      return createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' });
    }
    return createPublicKey(text);
  } catch (e) {
    throw invalid(`--key is not a public key (${(e as Error).message})`);
  }
}

// COSE algorithm ids (RFC 9053) → node:crypto digest; ECDSA signatures are r ‖ s.
const COSE_ALGS: Readonly<Record<number, string>> = {
  [-7]: 'sha256',
  [-35]: 'sha384',
  [-36]: 'sha512',
};

/** Verifies a COSE_Sign1 and returns its payload and protected header. */
function openSign1(
  sign1: unknown,
  key: Uint8Array | undefined,
): { payload: Uint8Array; protectedHeader: Map<unknown, unknown> } {
  if (!Array.isArray(sign1) || sign1.length !== 4) throw invalid('COSE_Sign1 is not a 4-array');
  const [prot, , payload, sig] = sign1 as unknown[];
  if (
    !(prot instanceof Uint8Array) ||
    !(payload instanceof Uint8Array) ||
    !(sig instanceof Uint8Array)
  )
    throw invalid('COSE_Sign1 protected header, payload and signature must be byte strings');
  const header =
    prot.length === 0
      ? new Map<unknown, unknown>()
      : mapOf(decode(prot, 'the protected header'), 'the protected header');
  if (key === undefined)
    throw invalid('the CoRIM is signed (COSE_Sign1): give the signer public key with --key');
  const alg = header.get(1);
  const digest = typeof alg === 'number' ? COSE_ALGS[alg] : undefined;
  if (digest === undefined)
    throw invalid(`COSE algorithm ${String(alg)} is not supported (ES256, ES384, ES512 are)`);
  // Sig_structure (RFC 9052 §4.4): ["Signature1", body_protected, external_aad, payload]
  const toBeSigned = new Encoder({ useRecords: false, tagUint8Array: false }).encode([
    'Signature1',
    prot,
    new Uint8Array(0),
    payload,
  ]);
  const pub = publicKeyOf(key);
  let ok = false;
  try {
    ok = verifySignature(digest, toBeSigned, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new MrstackError(
      'ERR_SIGNATURE_INVALID',
      'corim: the COSE_Sign1 signature does not verify with the given key; the CoRIM is refused',
    );
  return { payload, protectedHeader: header };
}

/** A validity map `{0: not-before?, 1: not-after}` (times as tag-1 or text). */
function validityOf(v: unknown): { notBefore?: Date; notAfter?: Date } {
  if (!(v instanceof Map)) return {};
  const time = (x: unknown): Date | undefined => {
    const t = untag(x, 1);
    if (t instanceof Date) return t;
    if (typeof t === 'number') return new Date(t * 1000);
    if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return new Date(t);
    return undefined;
  };
  const nb = time(v.get(0));
  const na = time(v.get(1));
  return {
    ...(nb === undefined ? {} : { notBefore: nb }),
    ...(na === undefined ? {} : { notAfter: na }),
  };
}

/** Text of a class/mkey value for unmapped names (trustee's rule: string, int, UUID, bytes). */
function label(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v instanceof Tag && v.tag === TAG.UUID && v.value instanceof Uint8Array) {
    const h = hex(v.value);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (v instanceof Tag) return label(v.value);
  if (v instanceof Uint8Array) return hex(v);
  return '?';
}

/** Bytes of a tagged-bytes (#6.560) or plain byte string. */
function bytesOf(v: unknown): Uint8Array | undefined {
  const x: unknown = v instanceof Tag ? v.value : v;
  return x instanceof Uint8Array ? x : undefined;
}

interface Collected {
  rim: string[];
  registers: Map<string, string[]>;
  rpv: string[];
  implementationId: string[];
  sw: { measurement: string; signer_id?: string; type?: string }[];
  unmapped: string[];
}

/** Reads one CoMID's triples into `c`. */
function readComid(comid: Map<unknown, unknown>, profile: string | undefined, c: Collected): void {
  const triples = comid.get(4);
  if (!(triples instanceof Map)) throw invalid('a CoMID has no triples map (key 4)');
  for (const [k, v] of triples) {
    if (k !== 0) {
      const n = Array.isArray(v) ? v.length : 0;
      c.unmapped.push(
        `triples[${String(k)}] (${n} triple${n === 1 ? '' : 's'}: not reference values)`,
      );
      continue;
    }
    if (!Array.isArray(v)) throw invalid('reference-triples is not an array');
    for (const triple of v) {
      if (!Array.isArray(triple) || triple.length !== 2)
        throw invalid('a reference triple is not [environment, measurements]');
      const env = mapOf(triple[0], 'an environment');
      const cls =
        env.get(0) instanceof Map
          ? (env.get(0) as Map<unknown, unknown>)
          : new Map<unknown, unknown>();
      const classId = bytesOf(cls.get(0));
      const prefix = [cls.get(1), cls.get(2)].filter((x) => x !== undefined).map(label);
      const ms: unknown = (triple as unknown[])[1];
      if (!Array.isArray(ms)) throw invalid('reference measurements are not an array');
      if (profile === CORIM_PROFILES[1] && classId !== undefined)
        c.implementationId.push(hex(classId));
      for (const m of ms) {
        const mm = mapOf(m, 'a measurement');
        const mkey = mm.get(0);
        const mval =
          mm.get(1) instanceof Map
            ? (mm.get(1) as Map<unknown, unknown>)
            : new Map<unknown, unknown>();
        const digests = Array.isArray(mval.get(2))
          ? (mval.get(2) as unknown[])
              .filter(
                (d): d is [unknown, Uint8Array] => Array.isArray(d) && d[1] instanceof Uint8Array,
              )
              .map((d) => hex(d[1]))
          : [];
        // trustee's RV naming: vendor/model/mkey (the class id when neither is given)
        const name = [
          ...(prefix.length > 0 ? prefix : [label(classId ?? cls.get(0))]),
          label(mkey),
        ].join('/');
        if (profile === CORIM_PROFILES[0] && typeof mkey === 'string') {
          if (mkey === 'cca.rim' && digests.length > 0) {
            c.rim.push(...digests);
            continue;
          }
          const rem = /^cca\.(rem[0-3])$/.exec(mkey);
          if (rem !== null && digests.length > 0) {
            const list = c.registers.get(rem[1]!) ?? [];
            list.push(...digests);
            c.registers.set(rem[1]!, list);
            continue;
          }
          const raw = bytesOf(mval.get(4));
          if (mkey === 'cca.rpv' && raw !== undefined) {
            c.rpv.push(hex(raw));
            continue;
          }
        }
        if (
          profile === CORIM_PROFILES[1] &&
          mkey === 'cca.software-component' &&
          digests.length > 0
        ) {
          const keys: unknown = mval.get(13);
          const signer = Array.isArray(keys) ? bytesOf(keys[0]) : undefined;
          const nm: unknown = mval.get(11);
          for (const d of digests)
            c.sw.push({
              measurement: d,
              ...(signer === undefined ? {} : { signer_id: hex(signer) }),
              ...(typeof nm === 'string' ? { type: nm } : {}),
            });
          continue;
        }
        c.unmapped.push(`${name}/${digests.length > 0 ? 'digests' : 'values'}`);
      }
    }
  }
}

/**
 * Imports a CoRIM (signed or not) or a bare CoMID as a policy.
 * @throws MrstackError `ERR_POLICY_INVALID` for input that is not a CoRIM/CoMID, a signed CoRIM
 *   without `key`, or one expired at `at`; `ERR_SIGNATURE_INVALID` for a signature that does
 *   not verify
 */
export function importCorim(bytes: Uint8Array, opts: CorimImportOptions): CorimImport {
  const at = opts.at ?? new Date();
  let top = decode(bytes, 'the input');
  let signed = false;
  let validity: { notBefore?: Date; notAfter?: Date } = {};
  if (top instanceof Tag && top.tag === TAG.COSE_SIGN1) {
    const { payload, protectedHeader } = openSign1(top.value, opts.key);
    signed = true;
    // corim-meta (protected header 8): signer and signature validity
    const metaBytes = protectedHeader.get(8);
    if (metaBytes instanceof Uint8Array) {
      const meta = decode(metaBytes, 'corim-meta');
      if (meta instanceof Map) validity = validityOf(meta.get(1));
    }
    top = decode(payload, 'the COSE_Sign1 payload');
  }
  const c: Collected = {
    rim: [],
    registers: new Map(),
    rpv: [],
    implementationId: [],
    sw: [],
    unmapped: [],
  };
  let profile: string | undefined;
  if (top instanceof Tag && top.tag === TAG.CORIM) {
    const corim = mapOf(top.value, 'the CoRIM');
    const p = untag(untag(corim.get(3), TAG.URI), TAG.OID);
    if (typeof p === 'string') profile = p;
    const own = validityOf(corim.get(4));
    validity = {
      ...validity,
      ...(own.notBefore === undefined ? {} : { notBefore: own.notBefore }),
      ...(own.notAfter === undefined ? {} : { notAfter: own.notAfter }),
    };
    const tags = corim.get(1);
    if (!Array.isArray(tags)) throw invalid('the CoRIM has no tags array (key 1)');
    for (const t of tags) {
      if (!(t instanceof Tag) || t.tag !== TAG.COMID || !(t.value instanceof Uint8Array)) {
        c.unmapped.push(`tag #${t instanceof Tag ? String(t.tag) : '?'} (not a CoMID)`);
        continue;
      }
      readComid(mapOf(decode(t.value, 'a CoMID'), 'a CoMID'), profile, c);
    }
  } else {
    const comid = untag(top, TAG.COMID);
    readComid(
      mapOf(comid instanceof Uint8Array ? decode(comid, 'a CoMID') : comid, 'a CoMID'),
      profile,
      c,
    );
  }
  if (validity.notAfter !== undefined && validity.notAfter.getTime() < at.getTime())
    throw invalid(
      `the CoRIM expired at ${validity.notAfter.toISOString()} (import time ${at.toISOString()})`,
    );
  if (validity.notBefore !== undefined && validity.notBefore.getTime() > at.getTime())
    throw invalid(`the CoRIM is valid only from ${validity.notBefore.toISOString()}`);
  const ref = (values: readonly string[]): RefValue[] =>
    [...new Set(values)].map((value) =>
      validity.notAfter === undefined
        ? value
        : { value, expires: validity.notAfter.toISOString(), source: 'corim' },
    );
  const policy: Record<string, unknown> = {
    version: 1,
    name: opts.name,
    description: `reference values imported from a CoRIM${profile === undefined ? '' : ` (${profile})`}`,
    source: { importer: 'corim', ...(opts.file === undefined ? {} : { files: [opts.file] }) },
  };
  const cca: Record<string, unknown> = {};
  if (c.rim.length > 0) cca['rim'] = ref(c.rim);
  if (c.rpv.length > 0) cca['realm'] = { personalization_value: [...new Set(c.rpv)] };
  const platform: Record<string, unknown> = {};
  if (c.implementationId.length > 0) platform['implementation_id'] = ref(c.implementationId);
  if (c.sw.length > 0) platform['sw_components'] = c.sw;
  if (Object.keys(platform).length > 0) cca['platform'] = platform;
  if (Object.keys(cca).length > 0) policy['cca'] = cca;
  if (c.registers.size > 0)
    policy['registers'] = Object.fromEntries([...c.registers].map(([k, v]) => [k, ref(v)]));
  return {
    policy: policy as unknown as PolicyV1,
    unmapped: c.unmapped,
    ...(profile === undefined ? {} : { profile }),
    signed,
  };
}
