/**
 * The Arm CCA attestation token (Arm RMM spec "Attestation token format"; Arm CCA Security
 * Model; draft-ffm-rats-cca-token): a CBOR collection under tag 399 (or the CMW collection tag
 * 907, whose entries are `[content-type, bstr]`) holding the platform token (key 44234) and the
 * realm token (key 44241), each a COSE_Sign1 whose payload is a claims map. Claims are decoded
 * with readable snake_case names.
 *
 * @module
 */
import { Tag } from 'cbor-x';
import { ParseError } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import {
  ccaBadValue as bad,
  cborEncoder,
  decodeCbor,
  isBytes,
  parseCoseSign1,
  type CoseSign1,
} from './cose_sign1.js';

/** CBOR tags of the CCA attestation token (legacy and CMW collections, COSE_Sign1). */
export const CCA_TAGS = { legacyCollection: 399, cmwCollection: 907, coseSign1: 18 } as const;
/** Keys of the platform and realm tokens inside the CCA token collection. */
export const CCA_KEYS = { platform: 44234, realm: 44241 } as const;

/** Platform claim keys. */
export const CCA_PLATFORM_CLAIMS = {
  profile: 265,
  challenge: 10,
  implementation_id: 2396,
  instance_id: 256,
  config: 2401,
  lifecycle: 2395,
  hash_algo_id: 2402,
  sw_components: 2399,
  verification_service: 2400,
} as const;

/** Realm claim keys. */
export const CCA_REALM_CLAIMS = {
  profile: 265,
  challenge: 10,
  personalization_value: 44235,
  hash_algo_id: 44236,
  public_key: 44237,
  rim: 44238,
  rem: 44239,
  public_key_hash_algo_id: 44240,
} as const;

/** Software component keys. */
export const CCA_SW_COMPONENT = {
  measurement_type: 1,
  measurement_value: 2,
  version: 4,
  signer_id: 5,
  measurement_desc: 6,
} as const;

/** One platform software component. */
export interface CcaSwComponent {
  readonly measurement_type?: string;
  readonly measurement_value?: Uint8Array;
  readonly version?: string;
  readonly signer_id?: Uint8Array;
  readonly measurement_desc?: string;
}

/** Decoded platform claims. */
export interface CcaPlatformClaims {
  readonly profile?: string;
  readonly challenge: Uint8Array;
  readonly implementation_id?: Uint8Array;
  readonly instance_id?: Uint8Array;
  readonly config?: Uint8Array;
  readonly lifecycle?: number;
  readonly lifecycle_state?: string;
  readonly hash_algo_id?: string;
  readonly sw_components: readonly CcaSwComponent[];
  readonly verification_service?: string;
}

/** Decoded realm claims. */
export interface CcaRealmClaims {
  readonly profile?: string;
  readonly challenge: Uint8Array;
  readonly personalization_value?: Uint8Array;
  readonly hash_algo_id?: string;
  /** The RAK public key bytes exactly as carried (raw point or encoded COSE_Key). */
  readonly public_key: Uint8Array;
  readonly public_key_hash_algo_id: string;
  readonly rim: Uint8Array;
  readonly rem: readonly Uint8Array[];
}

/** A decoded CCA token. */
export interface CcaToken {
  /** 399 or 907. */
  readonly tag: number;
  readonly platform: CoseSign1;
  readonly realm: CoseSign1;
  readonly platformClaims: CcaPlatformClaims;
  readonly realmClaims: CcaRealmClaims;
}

/** The lifecycle state name of a PSA/CCA security lifecycle value. */
export function lifecycleName(v: number): string {
  switch (v >> 12) {
    case 0:
      return 'unknown';
    case 1:
      return 'assembly_and_test';
    case 2:
      return 'cca_platform_rot_provisioning';
    case 3:
      return 'secured';
    case 4:
      return 'non_cca_platform_debug';
    case 5:
      return 'recoverable_cca_platform_debug';
    case 6:
      return 'decommissioned';
    default:
      return 'invalid';
  }
}

/** Maps a token hash-algorithm name (`sha-256`, `sha-512`) to the kernel's name. */
export function ccaHashAlg(name: string): HashAlg | undefined {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  if (n === 'sha256') return 'sha256';
  if (n === 'sha384') return 'sha384';
  if (n === 'sha512') return 'sha512';
  return undefined;
}

function entryBytes(v: unknown, field: string): Uint8Array {
  // Legacy: the COSE_Sign1 bytes; CMW: [content-type, bstr]; tolerate an inline tag-18 item.
  if (isBytes(v)) return new Uint8Array(v);
  if (Array.isArray(v) && v.length === 2 && isBytes(v[1])) return new Uint8Array(v[1]);
  if (v instanceof Tag && v.tag === 18) return cborEncoder().encode(v);
  throw bad(field, 'a byte string or [content-type, bstr]');
}

const str = (m: Map<unknown, unknown>, k: number): string | undefined => {
  const v = m.get(k);
  return typeof v === 'string' ? v : undefined;
};
const bytesOpt = (m: Map<unknown, unknown>, k: number): Uint8Array | undefined => {
  const v = m.get(k);
  return isBytes(v) ? new Uint8Array(v) : undefined;
};
function bytesReq(m: Map<unknown, unknown>, k: number, field: string): Uint8Array {
  const v = bytesOpt(m, k);
  if (v === undefined) throw bad(field, `claim ${k} as a byte string`);
  return v;
}

function claimsMap(s: CoseSign1, field: string): Map<unknown, unknown> {
  const m = decodeCbor(s.payload, 'cca-token', `${field}.payload`);
  if (!(m instanceof Map)) throw bad(`${field}.payload`, 'a claims map');
  return m as Map<unknown, unknown>;
}

function decodePlatform(m: Map<unknown, unknown>): CcaPlatformClaims {
  const K = CCA_PLATFORM_CLAIMS;
  const sw = m.get(K.sw_components);
  const comps: CcaSwComponent[] = [];
  if (Array.isArray(sw)) {
    for (const c of sw as unknown[]) {
      if (!(c instanceof Map)) continue;
      const cm = c as Map<unknown, unknown>;
      const S = CCA_SW_COMPONENT;
      const o: Record<string, unknown> = {};
      const t = str(cm, S.measurement_type);
      if (t !== undefined) o['measurement_type'] = t;
      const mv = bytesOpt(cm, S.measurement_value);
      if (mv !== undefined) o['measurement_value'] = mv;
      const ver = str(cm, S.version);
      if (ver !== undefined) o['version'] = ver;
      const sid = bytesOpt(cm, S.signer_id);
      if (sid !== undefined) o['signer_id'] = sid;
      const d = str(cm, S.measurement_desc);
      if (d !== undefined) o['measurement_desc'] = d;
      comps.push(o);
    }
  }
  const lc = m.get(K.lifecycle);
  const o: Record<string, unknown> = {
    challenge: bytesReq(m, K.challenge, 'platform.challenge'),
    sw_components: comps,
  };
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) o[k] = v;
  };
  set('profile', str(m, K.profile));
  set('implementation_id', bytesOpt(m, K.implementation_id));
  set('instance_id', bytesOpt(m, K.instance_id));
  set('config', bytesOpt(m, K.config));
  if (typeof lc === 'number') {
    o['lifecycle'] = lc;
    o['lifecycle_state'] = lifecycleName(lc);
  }
  set('hash_algo_id', str(m, K.hash_algo_id));
  set('verification_service', str(m, K.verification_service));
  return o as unknown as CcaPlatformClaims;
}

function decodeRealm(m: Map<unknown, unknown>): CcaRealmClaims {
  const K = CCA_REALM_CLAIMS;
  const rem = m.get(K.rem);
  if (!Array.isArray(rem) || rem.length !== 4 || !rem.every(isBytes)) {
    throw bad('realm.rem', 'claim 44239 as an array of 4 byte strings');
  }
  const pkAlg = str(m, K.public_key_hash_algo_id);
  if (pkAlg === undefined) throw bad('realm.public_key_hash_algo_id', 'claim 44240 as text');
  const o: Record<string, unknown> = {
    challenge: bytesReq(m, K.challenge, 'realm.challenge'),
    public_key: bytesReq(m, K.public_key, 'realm.public_key'),
    public_key_hash_algo_id: pkAlg,
    rim: bytesReq(m, K.rim, 'realm.rim'),
    rem: rem.map((b) => new Uint8Array(b)),
  };
  const p = str(m, K.profile);
  if (p !== undefined) o['profile'] = p;
  const pv = bytesOpt(m, K.personalization_value);
  if (pv !== undefined) o['personalization_value'] = pv;
  const h = str(m, K.hash_algo_id);
  if (h !== undefined) o['hash_algo_id'] = h;
  return o as unknown as CcaRealmClaims;
}

/** True when the bytes start with CBOR tag 399 or 907. */
export function looksLikeCcaToken(d: Uint8Array): boolean {
  return d[0] === 0xd9 && ((d[1] === 0x01 && d[2] === 0x8f) || (d[1] === 0x03 && d[2] === 0x8b));
}

/**
 * Parses a CCA attestation token.
 * @throws ParseError `ERR_LENGTH_LIMIT`, `ERR_BAD_MAGIC`, `ERR_BAD_ENCODING`, `ERR_BAD_VALUE`
 */
export function parseCcaToken(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): CcaToken {
  if (bytes.length > limits.maxEvidenceSize) {
    throw new ParseError({
      code: 'ERR_LENGTH_LIMIT',
      format: 'cca-token',
      offset: 0,
      field: 'token',
      expected: `<= ${limits.maxEvidenceSize} bytes`,
      actual: String(bytes.length),
    });
  }
  const top = decodeCbor(bytes, 'cca-token', 'token');
  if (
    !(top instanceof Tag) ||
    (top.tag !== CCA_TAGS.legacyCollection && top.tag !== CCA_TAGS.cmwCollection)
  ) {
    throw new ParseError({
      code: 'ERR_BAD_MAGIC',
      format: 'cca-token',
      offset: 0,
      field: 'token.tag',
      expected: 'CBOR tag 399 or 907',
      actual: top instanceof Tag ? String(top.tag) : typeof top,
    });
  }
  const coll = top.value as unknown;
  if (!(coll instanceof Map)) throw bad('token.collection', 'a map');
  const c = coll as Map<unknown, unknown>;
  const pv = c.get(CCA_KEYS.platform);
  const rv = c.get(CCA_KEYS.realm);
  if (pv === undefined) throw bad('token.collection[44234]', 'a platform token');
  if (rv === undefined) throw bad('token.collection[44241]', 'a realm token');
  const platform = parseCoseSign1(entryBytes(pv, 'platform'), 'platform');
  const realm = parseCoseSign1(entryBytes(rv, 'realm'), 'realm');
  return {
    tag: top.tag,
    platform,
    realm,
    platformClaims: decodePlatform(claimsMap(platform, 'platform')),
    realmClaims: decodeRealm(claimsMap(realm, 'realm')),
  };
}

/** Claims in the JSON contract's names: `platform`, `realm`, and top-level `rim`, `rem0`…. */
export function ccaTokenClaims(t: CcaToken): Record<string, unknown> {
  const r = t.realmClaims;
  return {
    tag: t.tag,
    challenge: r.challenge,
    rim: r.rim,
    rem0: r.rem[0],
    rem1: r.rem[1],
    rem2: r.rem[2],
    rem3: r.rem[3],
    realm: {
      ...r,
      rem: undefined,
      signature_alg: t.realm.alg,
    },
    platform: { ...t.platformClaims, signature_alg: t.platform.alg },
  };
}
