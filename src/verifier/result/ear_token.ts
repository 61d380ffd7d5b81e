/**
 * EAR tokens as JWTs (compact JWS) through `jose`: signing in the veraison 2023 profile, and
 * verifying with the caller's keys only.
 *
 * Key trust (DESIGN §6.1, "nothing in the evidence vouches for itself"): a key the token carries
 * in its header (`jwk`, `x5c`) is used only when it equals a key the caller gave (`--key`,
 * `--jwks`) or its `x5c` chain reaches one of the caller's `--trust-anchor`s (and the `jwk`, if
 * any, is the chain's leaf key). `x5u` and `jku` are never fetched. `alg: none` and HMAC are
 * refused before any key is touched; payload claims are parsed from exactly the bytes the
 * signature covered, strictly (no duplicate members, integer times).
 *
 * @module
 */
import {
  constants as cryptoConstants,
  createPublicKey,
  sign as cryptoSign,
  type SignKeyObjectInput,
} from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { MrstackError, ParseError, VerifyError } from '../../errors.js';
import { parseStrictJson } from '../../formats/json/json_strict.js';
import { parseCertificate } from '../verify/x509/certificate.js';
import {
  anchorsFromCertificateFiles,
  validateChain,
  type ChainProfile,
} from '../verify/x509/chain.js';
import { decodeEarClaims, type Ear } from './ear_claims.js';
import {
  EAR_VERIFY_ALGS,
  publicKeyInfo,
  type EarPublicKey,
  type EarSigningKey,
} from './ear_keys.js';

/** The protected header mrstack writes. */
export interface EarHeader {
  readonly alg: string;
  readonly typ?: string;
  readonly kid?: string;
  readonly [member: string]: unknown;
}

/**
 * Signs a claims-set (see `earClaimsJson`) as a compact JWS: header `{alg, typ: "JWT", kid}`
 * with `kid` the key's RFC 7638 thumbprint.
 */
export function signEar(
  claims: Readonly<Record<string, unknown>>,
  key: EarSigningKey,
): Promise<string> {
  // node:crypto signs the JWS signing input directly. jose's CompactSign does the same through
  // WebCrypto, which re-imports the key and normalizes the algorithm on every call: that was the
  // largest single cost of a verifier-service session. Tokens are still read by jose
  // (verifyEar) and checked by openssl in the tests.
  const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
  const header = { alg: key.alg, typ: 'JWT', kid: key.publicKey.thumbprint };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const s = NODE_SIGN[key.alg];
  const sig = cryptoSign(s.hash, Buffer.from(input, 'ascii'), { key: key.privateKey, ...s.opts });
  return Promise.resolve(`${input}.${b64u(sig)}`);
}

/** How node:crypto makes each JWS algorithm's signature (RFC 7518 §3.3–3.5, RFC 8037). */
const NODE_SIGN: Readonly<
  Record<EarSigningKey['alg'], { hash: string | null; opts: Partial<SignKeyObjectInput> }>
> = {
  ES256: { hash: 'sha256', opts: { dsaEncoding: 'ieee-p1363' } },
  ES384: { hash: 'sha384', opts: { dsaEncoding: 'ieee-p1363' } },
  PS256: {
    hash: 'sha256',
    opts: { padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  },
  EdDSA: { hash: null, opts: {} },
};

/** A compact JWS split into its parts (no signature check). */
export interface CompactJws {
  readonly header: EarHeader;
  /** The payload bytes (base64url-decoded). */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  /** `header.payload` as ASCII: the bytes the signature covers. */
  readonly signingInput: string;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function jwsError(offset: number, field: string, expected: string, actual?: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_ENCODING',
    format: 'jws',
    offset,
    field,
    expected,
    ...(actual === undefined ? {} : { actual }),
  });
}

/**
 * Splits a compact JWS: exactly three non-empty base64url segments (a leading `.` or a fourth
 * segment is refused), the header strict JSON with an `alg`.
 * @throws ParseError `ERR_BAD_ENCODING`/`ERR_BAD_JSON` (format `jws`)
 */
export function splitCompactJws(token: string): CompactJws {
  const t = token.replace(/\s+$/, '');
  const parts = t.split('.');
  if (parts[0] === '') throw jwsError(0, 'header', 'non-empty base64url (no padding)', 'empty');
  if (parts.length !== 3)
    throw jwsError(
      0,
      'token',
      'three "."-separated segments (header.payload.signature)',
      `${parts.length} segments`,
    );
  const names = ['header', 'payload', 'signature'];
  let off = 0;
  for (let i = 0; i < 3; i++) {
    const p = parts[i]!;
    // An empty signature is left to the alg check (alg none) and the signature check.
    if (!(i === 2 && p === '') && !B64URL.test(p)) {
      const bad = p === '' ? 'empty' : JSON.stringify(/[^A-Za-z0-9_-]/.exec(p)?.[0] ?? '');
      throw jwsError(off, names[i]!, 'non-empty base64url (no padding)', bad);
    }
    off += p.length + 1;
  }
  const headerText = Buffer.from(parts[0]!, 'base64url').toString('utf8');
  const header = parseStrictJson(headerText, 'header', { format: 'jws' }).value;
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw jwsError(0, 'header', 'a JSON object');
  const h = header as Record<string, unknown>;
  if (typeof h['alg'] !== 'string') throw jwsError(0, 'header.alg', 'a string');
  return {
    header: h as EarHeader,
    payload: new Uint8Array(Buffer.from(parts[1]!, 'base64url')),
    signature: new Uint8Array(Buffer.from(parts[2]!, 'base64url')),
    signingInput: `${parts[0]!}.${parts[1]!}`,
  };
}

/** Options of {@link verifyEar}. */
export interface VerifyEarOptions {
  /** Keys the caller trusts (`--key`, `--jwks`). */
  readonly keys?: readonly EarPublicKey[];
  /** Roots an `x5c` chain in the header may lead to (`--trust-anchor`), PEM or DER each. */
  readonly trustAnchors?: readonly Uint8Array[];
  /** The verification time (exp, nbf, iat, certificate validity). */
  readonly at: Date;
  /** Clock skew allowed on exp/nbf/iat, seconds (default 0). */
  readonly clockToleranceSeconds?: number;
}

/** How the verifying key was trusted. */
export type EarKeySource = 'given' | 'x5c';

/** A verified EAR. */
export interface VerifiedEar {
  readonly ear: Ear;
  readonly header: EarHeader;
  /** The key that verified the signature. */
  readonly key: EarPublicKey;
  readonly keySource: EarKeySource;
  /** The exact payload claims (strict-parsed from the signed bytes). */
  readonly claims: Readonly<Record<string, unknown>>;
}

function untrusted(message: string, details: Record<string, unknown> = {}): VerifyError {
  return new VerifyError('ERR_UNTRUSTED_KEY', message, { details });
}

/**
 * Refuses `alg` values mrstack never verifies: `none`, HMAC, anything outside
 * {@link EAR_VERIFY_ALGS}.
 * @throws VerifyError `ERR_JWS_ALG_REFUSED`
 */
export function checkJwsAlg(alg: string): void {
  if (alg === 'none' || /^HS\d+$/.test(alg) || !EAR_VERIFY_ALGS.includes(alg)) {
    const why =
      alg === 'none'
        ? 'an unsigned token (alg none)'
        : alg.startsWith('HS')
          ? 'an HMAC algorithm (a public key must never be used as an HMAC secret)'
          : 'not an asymmetric signature algorithm mrstack verifies';
    throw new VerifyError('ERR_JWS_ALG_REFUSED', `JWS alg ${JSON.stringify(alg)} refused: ${why}`, {
      details: { alg, accepted: EAR_VERIFY_ALGS },
    });
  }
}

/** The EAR signer's chain: a non-CA leaf that may sign, under any CAs up to the anchor. */
const EAR_SIGNER_PROFILE: ChainProfile = {
  name: 'EAR signer x5c chain',
  levels: [{ role: 'EAR signer', keyUsage: ['digitalSignature'] as const }, { role: 'CA' }],
  repeatLast: true,
  // 0: the leaf itself may be the caller's anchor (a pinned self-signed signer certificate).
  minLength: 0,
};

/**
 * The key a header endorses through `x5c` (in the header, or inside its `jwk`): the leaf must
 * chain to one of `anchors` through the one X.509 core (`validateChain`; the rest of x5c are
 * untrusted candidates in any order), and a `jwk` beside it must be the leaf's key.
 * @throws VerifyError `ERR_UNTRUSTED_KEY` (no x5c, jwk ≠ leaf); the chain errors of
 *   `validateChain` (`ERR_UNTRUSTED_ROOT`, `ERR_CHAIN_INVALID`, `ERR_CERT_PROFILE`, validity)
 */
export async function keyFromX5c(
  header: Readonly<Record<string, unknown>>,
  anchors: readonly Uint8Array[],
  at: Date,
): Promise<EarPublicKey> {
  const jwk = header['jwk'] as Record<string, unknown> | undefined;
  const x5c = header['x5c'] ?? jwk?.['x5c'];
  if (!Array.isArray(x5c) || x5c.length === 0)
    throw untrusted(
      'the token carries a key without an x5c chain, and that key is not one of the given keys',
    );
  const certs = x5c.map((s: unknown, i) => {
    if (typeof s !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s))
      throw untrusted(`x5c[${i}] is not standard base64`);
    return parseCertificate(new Uint8Array(Buffer.from(s, 'base64')), `x5c[${i}]`);
  });
  const chain = validateChain({
    leaf: certs[0]!,
    intermediates: certs.slice(1),
    profile: EAR_SIGNER_PROFILE,
    anchors: anchorsFromCertificateFiles(anchors, 'trust_anchor'),
    at,
  });
  const leaf = await publicKeyInfo(chain.leaf.publicKey, { certificate: chain.leaf.der });
  if (jwk !== undefined) {
    const carried = await headerJwkThumbprint(jwk);
    if (carried !== leaf.thumbprint)
      throw untrusted("the token's header jwk is not the key of its x5c leaf certificate", {
        jwk_thumbprint: carried,
        leaf_thumbprint: leaf.thumbprint,
      });
  }
  return leaf;
}

async function headerJwkThumbprint(jwk: unknown): Promise<string> {
  if (typeof jwk !== 'object' || jwk === null) throw untrusted('header jwk is not an object');
  try {
    const j = jwk as Record<string, unknown>;
    const pub: Record<string, unknown> =
      j['kty'] === 'EC'
        ? { kty: 'EC', crv: j['crv'], x: j['x'], y: j['y'] }
        : j['kty'] === 'RSA'
          ? { kty: 'RSA', n: j['n'], e: j['e'] }
          : { kty: j['kty'], crv: j['crv'], x: j['x'] };
    return (await publicKeyInfo(createPublicKey({ key: pub as never, format: 'jwk' }))).thumbprint;
  } catch (cause) {
    if (cause instanceof MrstackError) throw cause;
    throw untrusted('header jwk is not a usable public key');
  }
}

/** The keys worth trying for a header, by the trust rules above. */
async function candidateKeys(
  header: EarHeader,
  opts: VerifyEarOptions,
): Promise<{ keys: readonly EarPublicKey[]; source: EarKeySource }> {
  const given = opts.keys ?? [];
  const anchors = opts.trustAnchors ?? [];
  const carriesKey = header['jwk'] !== undefined || header['x5c'] !== undefined;
  if (header['jwk'] !== undefined) {
    const tp = await headerJwkThumbprint(header['jwk']);
    const same = given.filter((k) => k.thumbprint === tp);
    if (same.length > 0) return { keys: same, source: 'given' };
  }
  if (carriesKey && anchors.length > 0) {
    return { keys: [await keyFromX5c(header, anchors, opts.at)], source: 'x5c' };
  }
  if (header['jwk'] !== undefined) {
    throw untrusted(
      given.length === 0
        ? 'the token carries its own key (header jwk); a carried key is never trusted by itself — give --key/--jwks, or --trust-anchor for an x5c chain'
        : 'the token carries its own key (header jwk), which is none of the given keys',
    );
  }
  if (given.length === 0) {
    throw untrusted(
      'no verification key given (--key, --jwks, or --trust-anchor for an x5c chain)',
    );
  }
  const kid = header.kid;
  if (typeof kid === 'string' && given.some((k) => k.kid !== undefined)) {
    const byKid = given.filter((k) => k.kid === kid || k.thumbprint === kid);
    if (byKid.length === 0) throw untrusted(`no given key has kid ${JSON.stringify(kid)}`, { kid });
    return { keys: byKid, source: 'given' };
  }
  return { keys: given, source: 'given' };
}

function checkTimes(ear: Ear, at: Date, tolerance: number): void {
  const now = Math.floor(at.getTime() / 1000);
  const iso = (s: number): string => new Date(s * 1000).toISOString();
  if (ear.exp !== undefined && now >= ear.exp + tolerance) {
    throw new VerifyError(
      'ERR_TOKEN_EXPIRED',
      `EAR expired at ${iso(ear.exp)} (exp ${ear.exp}); verification time ${at.toISOString()}`,
      {
        details: { exp: ear.exp, at: at.toISOString() },
      },
    );
  }
  if (ear.nbf !== undefined && now + tolerance < ear.nbf) {
    throw new VerifyError(
      'ERR_TOKEN_NOT_YET_VALID',
      `EAR not valid before ${iso(ear.nbf)} (nbf ${ear.nbf})`,
      {
        details: { nbf: ear.nbf, at: at.toISOString() },
      },
    );
  }
  if (now + tolerance < ear.iat) {
    throw new VerifyError(
      'ERR_TOKEN_NOT_YET_VALID',
      `EAR issued in the future: iat ${iso(ear.iat)} is after ${at.toISOString()}`,
      {
        details: { iat: ear.iat, at: at.toISOString() },
      },
    );
  }
}

/**
 * Decodes a token's claims without checking its signature (`mrstack ear show`): the same strict
 * parsing and claim validation as {@link verifyEar}, minus key, signature and time.
 */
export function decodeEarToken(token: string): {
  header: EarHeader;
  ear: Ear;
  claims: Record<string, unknown>;
} {
  const jws = splitCompactJws(token);
  const { value, nonIntegerLiterals } = parseStrictJson(
    Buffer.from(jws.payload).toString('utf8'),
    'payload',
    {
      format: 'ear',
    },
  );
  return {
    header: jws.header,
    ear: decodeEarClaims(value, nonIntegerLiterals),
    claims: value as Record<string, unknown>,
  };
}

/**
 * Verifies an EAR token: structure, algorithm, key trust, signature (jose), then the claims
 * parsed from exactly the signed bytes, then exp/nbf/iat at `opts.at`.
 * @throws ParseError (bad structure), VerifyError `ERR_JWS_ALG_REFUSED`, `ERR_UNTRUSTED_KEY`,
 *   `ERR_SIGNATURE_INVALID`, `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_NOT_YET_VALID`, chain errors;
 *   MrstackError `ERR_EAR_PROFILE`, `ERR_EAR_CLAIMS`
 */
export async function verifyEar(token: string, opts: VerifyEarOptions): Promise<VerifiedEar> {
  const jws = splitCompactJws(token);
  const alg = jws.header.alg;
  checkJwsAlg(alg);
  if (jws.header['crit'] !== undefined) {
    throw new MrstackError(
      'ERR_UNSUPPORTED',
      'JWS header names critical extensions (crit) mrstack does not process',
      {
        details: { crit: jws.header['crit'] },
      },
    );
  }
  const { keys, source } = await candidateKeys(jws.header, opts);
  let payload: Uint8Array | undefined;
  let used: EarPublicKey | undefined;
  for (const k of keys) {
    try {
      const r = await compactVerify(token.replace(/\s+$/, ''), k.key, { algorithms: [alg] });
      payload = r.payload;
      used = k;
      break;
    } catch (e) {
      // A key of another type for this alg, or a bad signature: try the next key.
      if (
        e instanceof joseErrors.JWSSignatureVerificationFailed ||
        e instanceof TypeError ||
        e instanceof joseErrors.JOSENotSupported
      )
        continue;
      if (e instanceof joseErrors.JOSEError) continue;
      throw e;
    }
  }
  if (payload === undefined || used === undefined) {
    throw new VerifyError(
      'ERR_SIGNATURE_INVALID',
      `EAR signature (${alg}) does not verify with ${keys.length === 1 ? 'the trusted key' : `any of the ${keys.length} trusted keys`}`,
      {
        details: { alg, keys: keys.map((k) => k.thumbprint) },
      },
    );
  }
  const { value, nonIntegerLiterals } = parseStrictJson(
    Buffer.from(payload).toString('utf8'),
    'payload',
    { format: 'ear' },
  );
  const ear = decodeEarClaims(value, nonIntegerLiterals);
  checkTimes(ear, opts.at, opts.clockToleranceSeconds ?? 0);
  return {
    ear,
    header: jws.header,
    key: used,
    keySource: source,
    claims: value as Record<string, unknown>,
  };
}
