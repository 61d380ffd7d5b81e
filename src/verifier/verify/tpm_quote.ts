/**
 * TPM 2.0 quote verification: a TPMS_ATTEST of type quote, its TPMT_SIGNATURE by the AK
 * (RSASSA, RSAPSS with the salt length recovered from the signature, ECDSA), the nonce in
 * extraData, and the pcrDigest recomputed from supplied PCR values with the **signing scheme's
 * hash** (not the bank's), over the selected PCRs in selection order.
 *
 * @module
 */
import {
  constants as C,
  createHash,
  createPublicKey,
  publicDecrypt,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { ByteReader } from '../../bytes/reader.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { hash } from '../../crypto/hash.js';
import { digestSize, hashAlgFromId, hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { isMrstackError, ParseError, VerifyError, type ErrorCode } from '../../errors.js';
import { TPM_ALG, TPM_ST } from '../../formats/tpm2/constants.js';
import { parseAttest, type TpmsAttest } from '../../formats/tpm2/marshal/attest.js';
import type { PcrSelection } from '../../formats/tpm2/marshal/pcr_selection.js';
import { readPublic, type TpmPublic } from '../../formats/tpm2/marshal/public.js';
import { parseSignature, type TpmtSignature } from '../../formats/tpm2/marshal/signature.js';
import { objectName, publicToKeyObject } from '../../formats/tpm2/public_key.js';
import { checkAkAttributes, decideAkTrust } from './tpm_ak_trust.js';
import { checkLeafRevocation, crlsOf } from './leaf_revocation.js';
import { cvmAkBinding, type CvmAkBinding } from './cvm_ak_binding.js';
import { anchorRef } from './trust_policy.js';
import { parseCertificates, type Certificate } from './x509/certificate.js';
import {
  ResultBuilder,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import { parseJsonText } from '../../formats/json/json_text.js';

/** PCR values by bank and index. */
export type PcrValues = ReadonlyMap<HashAlg, ReadonlyMap<number, Uint8Array>>;

/** The AK: a TPMT_PUBLIC (best: its attributes are checked), a PEM/DER SPKI, or a JWK. */
export type AkInput =
  | { readonly tpmtPublic: Uint8Array }
  | { readonly pem: string }
  | { readonly spkiDer: Uint8Array }
  | { readonly jwk: JsonWebKey };

/** What to verify. */
export interface TpmQuoteInput {
  /** TPMS_ATTEST bytes (what the TPM signed). */
  readonly attest: Uint8Array;
  /** TPMT_SIGNATURE bytes, or a bare RSA signature (RSASSA, the AK scheme's hash or SHA-256). */
  readonly signature: Uint8Array;
  readonly ak: AkInput;
  /** The expected qualifying data (nonce); checked when given. */
  readonly nonce?: Uint8Array;
  /** PCR values; when given, every quoted PCR must be present and the digest must match. */
  readonly pcrs?: PcrValues;
}

/** One failed check. */
export interface TpmQuoteIssue {
  readonly code: ErrorCode;
  readonly message: string;
}

/** The claims a TPM quote carries (JSON-ready: bytes as Uint8Array print as hex). */
export interface TpmQuoteClaims {
  readonly extra_data: Uint8Array;
  readonly pcr_select: Readonly<Record<string, readonly number[]>>;
  readonly pcr_digest: Uint8Array;
  readonly qualified_signer: Uint8Array;
  readonly clock: string;
  readonly reset_count: number;
  readonly restart_count: number;
  readonly safe: boolean;
  readonly firmware_version: string;
  readonly signature_scheme: string;
  readonly signature_hash: string;
  /** RSAPSS: the salt length the signature was made with. */
  readonly pss_salt_length?: number;
  /** The AK's TPM name, when the AK was given as a TPMT_PUBLIC. */
  readonly ak_name?: Uint8Array;
  /** PCR values, by bank and `pcrN`, when supplied and matching the digest. */
  readonly pcrs?: Readonly<Record<string, Readonly<Record<string, Uint8Array>>>>;
}

/** The verification result (the common result shape: verified, kind, claims, errors). */
export interface TpmQuoteResult {
  readonly verified: boolean;
  readonly kind: 'tpm';
  readonly claims: TpmQuoteClaims | undefined;
  readonly errors: readonly TpmQuoteIssue[];
  readonly warnings: readonly string[];
}

const SIG_NAMES: Readonly<Record<number, string>> = {
  [TPM_ALG.RSASSA]: 'rsassa',
  [TPM_ALG.RSAPSS]: 'rsapss',
  [TPM_ALG.ECDSA]: 'ecdsa',
};

/** Loads the AK as a KeyObject, and its TPMT_PUBLIC when given. */
export function loadAkPublicKey(ak: AkInput): { key: KeyObject; tpm: TpmPublic | undefined } {
  if ('tpmtPublic' in ak) {
    const r = new ByteReader(ak.tpmtPublic, { format: 'tpm2' });
    const tpm = readPublic(r, 'ak');
    r.expectEnd('ak');
    return { key: publicToKeyObject(tpm), tpm };
  }
  if ('pem' in ak) return { key: createPublicKey(ak.pem), tpm: undefined };
  if ('spkiDer' in ak) {
    return {
      key: createPublicKey({ key: Buffer.from(ak.spkiDer), format: 'der', type: 'spki' }),
      tpm: undefined,
    };
  }
  return { key: createPublicKey({ key: ak.jwk, format: 'jwk' }), tpm: undefined };
}

function mgf1(alg: string, seed: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let off = 0;
  for (let i = 0; off < len; i++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(i);
    const h = createHash(alg).update(seed).update(c).digest();
    out.set(h.subarray(0, Math.min(h.length, len - off)), off);
    off += h.length;
  }
  return out;
}

/**
 * Recovers the salt length of an RSASSA-PSS signature (RFC 8017 9.1.2 decoding, without the
 * final hash check, which the verify call makes). Undefined when the encoding is malformed.
 */
export function pssSaltLength(key: KeyObject, sig: Uint8Array, alg: HashAlg): number | undefined {
  let em: Buffer;
  try {
    em = publicDecrypt({ key, padding: C.RSA_NO_PADDING }, sig);
  } catch {
    return undefined;
  }
  const hLen = digestSize(alg);
  const modBits = (key.asymmetricKeyDetails?.modulusLength ?? em.length * 8) - 1;
  // EM is emLen = ceil(modBits / 8) bytes; publicDecrypt returns k bytes (a leading 0 when 8 | modBits).
  const emLen = Math.ceil(modBits / 8);
  const e = em.subarray(em.length - emLen);
  if (e[emLen - 1] !== 0xbc || emLen < hLen + 2) return undefined;
  const masked = e.subarray(0, emLen - hLen - 1);
  const h = e.subarray(emLen - hLen - 1, emLen - 1);
  const db = mgf1(hashInfo(alg).nodeName, h, masked.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ masked[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLen - modBits));
  const one = db.findIndex((b) => b !== 0);
  if (one < 0 || db[one] !== 0x01) return undefined;
  return db.length - one - 1;
}

function p1363(r: Uint8Array, s: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(2 * size);
  const strip = (b: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < b.length - size && b[i] === 0) i++;
    return b.subarray(i);
  };
  const rr = strip(r);
  const ss = strip(s);
  if (rr.length > size || ss.length > size) return new Uint8Array(0);
  out.set(rr, size - rr.length);
  out.set(ss, 2 * size - ss.length);
  return out;
}

/** Concatenated PCR values of a selection, in selection order; lists the missing ones. */
export function selectedPcrValues(
  select: readonly PcrSelection[],
  pcrs: PcrValues,
): { values: Uint8Array[]; missing: string[] } {
  const values: Uint8Array[] = [];
  const missing: string[] = [];
  for (const s of select) {
    const alg = hashAlgFromId(s.hashAlg);
    const bank = alg === undefined ? undefined : pcrs.get(alg);
    for (const p of s.pcrs) {
      const v = bank?.get(p);
      if (v === undefined) missing.push(`pcr${p}:${alg ?? `0x${s.hashAlg.toString(16)}`}`);
      else values.push(v);
    }
  }
  return { values, missing };
}

function sigBytesKind(sig: Uint8Array, key: KeyObject, tpm: TpmPublic | undefined): TpmtSignature {
  try {
    return parseSignature(sig);
  } catch (e) {
    const modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    if (key.asymmetricKeyType === 'rsa' && sig.length === modulusBytes) {
      const hashAlg = tpm?.scheme.hashAlg ?? TPM_ALG.SHA256;
      return { kind: 'rsa', sigAlg: TPM_ALG.RSASSA, hashAlg, sig };
    }
    throw e;
  }
}

/**
 * Verifies a TPM quote **with the AK the caller hands over**: whether that AK deserves trust is
 * the caller's decision ({@link decideAkTrust}; the `tpm` evidence verifier makes it). Never
 * throws for a failed check: failures are listed in `errors` with their codes
 * (`ERR_SIGNATURE_INVALID`, `ERR_NONCE_MISMATCH`, `ERR_BINDING_MISMATCH`, `ERR_AK_ATTRIBUTES` …);
 * malformed input is reported the same way with its ParseError code.
 */
export function verifyTpmQuote(input: TpmQuoteInput): TpmQuoteResult {
  const errors: TpmQuoteIssue[] = [];
  const warnings: string[] = [];
  const fail = (code: ErrorCode, message: string): void => {
    errors.push({ code, message });
  };
  let attest: TpmsAttest;
  let key: KeyObject;
  let tpm: TpmPublic | undefined;
  let sig: TpmtSignature;
  try {
    attest = parseAttest(input.attest);
    ({ key, tpm } = loadAkPublicKey(input.ak));
    sig = sigBytesKind(input.signature, key, tpm);
  } catch (e) {
    if (isMrstackError(e)) fail(e.code, e.message);
    else fail('ERR_BAD_VALUE', `AK or evidence unreadable: ${(e as Error).message}`);
    return { verified: false, kind: 'tpm', claims: undefined, errors, warnings };
  }
  if (attest.type !== TPM_ST.ATTEST_QUOTE || attest.attested.kind !== 'quote') {
    fail('ERR_BAD_VALUE', `attest.type 0x${attest.type.toString(16)} is not TPM_ST_ATTEST_QUOTE`);
    return { verified: false, kind: 'tpm', claims: undefined, errors, warnings };
  }
  const quote = attest.attested;

  // The AK must be a restricted signing key, or the TPM_GENERATED magic proves nothing.
  if (tpm !== undefined) {
    try {
      checkAkAttributes(tpm);
    } catch (e) {
      if (!isMrstackError(e)) throw e;
      fail(e.code, e.message);
    }
  } else {
    warnings.push('AK given as a plain public key: its restricted attribute cannot be checked');
  }

  // Signature.
  let sigHash: HashAlg | undefined;
  let saltLength: number | undefined;
  if (sig.kind !== 'rsa' && sig.kind !== 'ecc') {
    fail('ERR_UNKNOWN_ALGORITHM', `signature scheme ${sig.kind} cannot be verified with an AK`);
  } else {
    sigHash = hashAlgFromId(sig.hashAlg);
    if (sigHash === undefined) {
      fail('ERR_UNKNOWN_ALGORITHM', `signature hash 0x${sig.hashAlg.toString(16)} is not known`);
    } else {
      const nodeHash = hashInfo(sigHash).nodeName;
      let ok = false;
      try {
        if (sig.kind === 'rsa') {
          if (key.asymmetricKeyType !== 'rsa') throw new Error('an RSA signature needs an RSA AK');
          if (sig.sigAlg === TPM_ALG.RSAPSS) {
            saltLength = pssSaltLength(key, sig.sig, sigHash);
            ok =
              saltLength !== undefined &&
              cryptoVerify(
                nodeHash,
                input.attest,
                { key, padding: C.RSA_PKCS1_PSS_PADDING, saltLength },
                sig.sig,
              );
          } else {
            ok = cryptoVerify(
              nodeHash,
              input.attest,
              { key, padding: C.RSA_PKCS1_PADDING },
              sig.sig,
            );
          }
        } else {
          if (sig.sigAlg !== TPM_ALG.ECDSA)
            throw new Error('only ECDSA is verified among ECC schemes');
          if (key.asymmetricKeyType !== 'ec') throw new Error('an ECDSA signature needs an EC AK');
          const crv = key.asymmetricKeyDetails?.namedCurve;
          const size =
            crv === 'prime256v1' ? 32 : crv === 'secp384r1' ? 48 : crv === 'secp521r1' ? 66 : 0;
          const raw = p1363(sig.r, sig.s, size);
          ok =
            raw.length > 0 &&
            cryptoVerify(nodeHash, input.attest, { key, dsaEncoding: 'ieee-p1363' }, raw);
        }
      } catch (e) {
        fail('ERR_SIGNATURE_INVALID', `quote signature: ${(e as Error).message}`);
        ok = true; // reported already
      }
      if (!ok) fail('ERR_SIGNATURE_INVALID', 'the quote signature does not verify with the AK');
    }
    if (
      tpm !== undefined &&
      tpm.scheme.scheme !== TPM_ALG.NULL &&
      tpm.scheme.scheme !== sig.sigAlg
    ) {
      warnings.push('the signature scheme differs from the AK template scheme');
    }
  }

  // Nonce.
  if (input.nonce !== undefined && !bytesEqual(input.nonce, attest.extraData)) {
    fail(
      'ERR_NONCE_MISMATCH',
      `extraData ${toHex(attest.extraData) || '(empty)'} is not the expected nonce ${toHex(input.nonce) || '(empty)'}`,
    );
  } else if (input.nonce === undefined) {
    warnings.push('no nonce given: freshness not checked');
  }

  // PCR digest with the signing hash.
  let pcrClaims: Record<string, Record<string, Uint8Array>> | undefined;
  if (input.pcrs !== undefined && sigHash !== undefined) {
    const { values, missing } = selectedPcrValues(quote.pcrSelect, input.pcrs);
    if (missing.length > 0) {
      fail('ERR_BINDING_MISMATCH', `PCR values missing for quoted ${missing.join(', ')}`);
    } else {
      const digest = hash(sigHash, Buffer.concat(values));
      if (!bytesEqual(digest, quote.pcrDigest)) {
        fail(
          'ERR_BINDING_MISMATCH',
          `pcrDigest ${toHex(quote.pcrDigest)} differs from ${sigHash}(selected PCR values) ${toHex(digest)}`,
        );
      } else {
        pcrClaims = {};
        for (const s of quote.pcrSelect) {
          const alg = hashAlgFromId(s.hashAlg)!;
          const bank = (pcrClaims[alg] ??= {});
          for (const p of s.pcrs) bank[`pcr${p}`] = input.pcrs.get(alg)!.get(p)!;
        }
      }
    }
  } else if (input.pcrs === undefined) {
    warnings.push('no PCR values given: only the quoted digest is known');
  }

  const pcrSelect: Record<string, number[]> = {};
  for (const s of quote.pcrSelect) {
    pcrSelect[hashAlgFromId(s.hashAlg) ?? `0x${s.hashAlg.toString(16)}`] = [...s.pcrs];
  }
  const claims: TpmQuoteClaims = {
    extra_data: attest.extraData,
    pcr_select: pcrSelect,
    pcr_digest: quote.pcrDigest,
    qualified_signer: attest.qualifiedSigner,
    clock: attest.clockInfo.clock.toString(),
    reset_count: attest.clockInfo.resetCount,
    restart_count: attest.clockInfo.restartCount,
    safe: attest.clockInfo.safe,
    firmware_version: `0x${attest.firmwareVersion.toString(16).padStart(16, '0')}`,
    signature_scheme:
      sig.kind === 'rsa' || sig.kind === 'ecc'
        ? (SIG_NAMES[sig.sigAlg] ?? `0x${sig.sigAlg.toString(16)}`)
        : sig.kind,
    signature_hash: sigHash ?? 'unknown',
    ...(saltLength === undefined ? {} : { pss_salt_length: saltLength }),
    ...(tpm === undefined || !('tpmtPublic' in input.ak)
      ? {}
      : { ak_name: objectName(input.ak.tpmtPublic) }),
    ...(pcrClaims === undefined ? {} : { pcrs: pcrClaims }),
  };
  return { verified: errors.length === 0, kind: 'tpm', claims, errors, warnings };
}

/**
 * Reads a PCR values file for a quote's selection: JSON (`{"<alg>":{"<index>":"hex"}}`, or
 * `{"<index>":"hex"}` / an array of hex or byte arrays for a one-bank selection), or binary
 * (the values concatenated in selection order, as `tpm2_quote -o FILE -F values` writes).
 * @throws ParseError `ERR_BAD_JSON`, `ERR_BAD_VALUE`
 */
export function parsePcrValues(
  bytes: Uint8Array,
  select: readonly PcrSelection[],
): Map<HashAlg, Map<number, Uint8Array>> {
  const out = new Map<HashAlg, Map<number, Uint8Array>>();
  const text = Buffer.from(bytes).toString('utf8').trimStart();
  const bad = (code: 'ERR_BAD_JSON' | 'ERR_BAD_VALUE', what: string): ParseError =>
    new ParseError({
      code,
      format: code === 'ERR_BAD_JSON' ? 'json' : 'tpm2',
      offset: 0,
      field: 'pcrs',
      expected: what,
    });
  const toBytes = (v: unknown): Uint8Array => {
    if (typeof v === 'string' && /^(0x)?([0-9a-fA-F]{2})*$/.test(v))
      return new Uint8Array(Buffer.from(v.replace(/^0x/, ''), 'hex'));
    if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256))
      return new Uint8Array(v as number[]);
    throw bad('ERR_BAD_JSON', 'hex strings or byte arrays as PCR values');
  };
  const bankFromObj = (o: unknown): Map<number, Uint8Array> => {
    const m = new Map<number, Uint8Array>();
    if (Array.isArray(o)) o.forEach((v, i) => m.set(i, toBytes(v)));
    else if (typeof o === 'object' && o !== null) {
      for (const [k, v] of Object.entries(o)) {
        const n = Number(k.replace(/^pcr/i, ''));
        if (!Number.isInteger(n) || n < 0 || n > 31) throw bad('ERR_BAD_JSON', 'PCR indexes 0..31');
        m.set(n, toBytes(v));
      }
    } else throw bad('ERR_BAD_JSON', 'an object or array of PCR values');
    return m;
  };
  // Binary values are digests: they may begin with '{' or '[' by chance (1 in ~128), so bytes of
  // exactly the selection's size that are not all printable text are binary, never JSON.
  let binarySize = 0;
  for (const s of select) {
    const alg = hashAlgFromId(s.hashAlg);
    binarySize += alg === undefined ? 0 : digestSize(alg) * s.pcrs.length;
  }
  const printable = bytes.every(
    (c) => c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f),
  );
  const binary = bytes.length === binarySize && !printable;
  if (!binary && (text.startsWith('{') || text.startsWith('['))) {
    const j = parseJsonText(text, 'pcrs', { expected: 'JSON' });
    const keys = typeof j === 'object' && j !== null && !Array.isArray(j) ? Object.keys(j) : [];
    // {"hash":"sha256","pcrs":{…}} (the captures' shape).
    const named = j as Record<string, unknown>;
    if (keys.includes('pcrs') && typeof named['hash'] === 'string') {
      const alg = hashAlgFromName(named['hash']);
      if (alg === undefined) throw bad('ERR_BAD_JSON', 'a known hash name in "hash"');
      out.set(alg, bankFromObj(named['pcrs']));
      return out;
    }
    const algKeys = keys.filter((k) => hashAlgFromName(k) !== undefined);
    if (algKeys.length > 0 && algKeys.length === keys.length) {
      for (const k of algKeys)
        out.set(hashAlgFromName(k)!, bankFromObj((j as Record<string, unknown>)[k]));
      return out;
    }
    const algs = [...new Set(select.map((s) => hashAlgFromId(s.hashAlg)))];
    if (algs.length !== 1 || algs[0] === undefined)
      throw bad('ERR_BAD_JSON', 'banks named by algorithm for a multi-bank quote');
    out.set(algs[0], bankFromObj(j));
    return out;
  }
  let off = 0;
  for (const s of select) {
    const alg = hashAlgFromId(s.hashAlg);
    if (alg === undefined) throw bad('ERR_BAD_VALUE', 'known banks in the selection');
    const size = digestSize(alg);
    const bank = out.get(alg) ?? new Map<number, Uint8Array>();
    out.set(alg, bank);
    for (const p of s.pcrs) {
      if (off + size > bytes.length)
        throw bad('ERR_BAD_VALUE', `${off + size} bytes of PCR values`);
      bank.set(p, bytes.slice(off, off + size));
      off += size;
    }
  }
  if (off !== bytes.length) throw bad('ERR_BAD_VALUE', `exactly ${off} bytes of PCR values`);
  return out;
}

function hashAlgFromName(name: string): HashAlg | undefined {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  return n === 'sha1'
    ? 'sha1'
    : n === 'sha256'
      ? 'sha256'
      : n === 'sha384'
        ? 'sha384'
        : n === 'sha512'
          ? 'sha512'
          : n === 'sm3' || n === 'sm3256'
            ? 'sm3'
            : undefined;
}

/**
 * Reads an AK file's bytes: PEM SPKI, a JWK (JSON), DER SPKI (starts with a SEQUENCE), or a
 * TPMT_PUBLIC (what `tpm2_createak -u` / `tpm2_readpublic -o` write as TPM2B_PUBLIC is also
 * accepted: its size prefix is stripped when it matches).
 */
export function akFromBytes(bytes: Uint8Array): AkInput {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text.startsWith('-----BEGIN')) return { pem: text };
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as Record<string, unknown>;
      const keys = j['keys'];
      const jwk = (Array.isArray(keys) ? keys[0] : j) as JsonWebKey;
      return { jwk };
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: 'json',
        offset: 0,
        field: 'ak',
        expected: 'a JWK',
        cause,
      });
    }
  }
  if (bytes[0] === 0x30) return { spkiDer: bytes };
  if (bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2) {
    return { tpmtPublic: bytes.subarray(2) };
  }
  return { tpmtPublic: bytes };
}

/** The `tpm` entry of the evidence dispatch table (TPMS_ATTEST + parts or files). */
export const TPM_QUOTE_VERIFIER: EvidenceVerifier = {
  detect: (d: Uint8Array): boolean =>
    d.length >= 4 && new DataView(d.buffer, d.byteOffset, 4).getUint32(0, false) === 0xff544347,
  show(data: Uint8Array): EvidenceShowResult {
    const a = parseAttest(data);
    const claims: Record<string, unknown> = {
      type: `0x${a.type.toString(16)}`,
      qualified_signer: a.qualifiedSigner,
      extra_data: a.extraData,
      clock: a.clockInfo.clock.toString(),
      reset_count: a.clockInfo.resetCount,
      restart_count: a.clockInfo.restartCount,
      safe: a.clockInfo.safe,
      firmware_version: `0x${a.firmwareVersion.toString(16).padStart(16, '0')}`,
    };
    if (a.attested.kind === 'quote') {
      const sel: Record<string, number[]> = {};
      for (const s of a.attested.pcrSelect) {
        sel[hashAlgFromId(s.hashAlg) ?? `0x${s.hashAlg.toString(16)}`] = [...s.pcrs];
      }
      claims['pcr_select'] = sel;
      claims['pcr_digest'] = a.attested.pcrDigest;
    }
    return { kind: 'tpm', claims, warnings: [] };
  },
  async verify(data: Uint8Array, opts: ResolvedVerifyOptions): Promise<EvidenceResult> {
    // An Azure vTPM quote comes with the HCL report that publishes its AK: verify that first.
    const cvm = await cvmAkBinding(opts);
    return verifyTpmEvidence(data, opts, cvm);
  },
};

/** The certificates an AK may come with: the caller's (`--cert`) first, then the evidence's. */
function akCertificates(opts: ResolvedVerifyOptions): Certificate[] {
  const out: Certificate[] = [];
  (opts.certs ?? []).forEach((c, i) => out.push(...parseCertificates(c, `cert[${i}]`)));
  for (const part of AK_CERT_PARTS) {
    const bytes = opts.parts?.[part];
    if (bytes !== undefined) out.push(...parseCertificates(bytes, `parts.${part}`));
  }
  return out;
}

/**
 * Envelope parts that carry AK certificates (DER, or PEM with any number of certificates): the
 * AK certificate and, optionally, its issuers.
 */
export const AK_CERT_PARTS = ['ak_cert', 'ak_cert_chain'] as const;

/** The check each verifyTpmQuote code belongs to. */
function checkOf(c: ErrorCode): string {
  return c === 'ERR_NONCE_MISMATCH'
    ? 'nonce'
    : c === 'ERR_BINDING_MISMATCH'
      ? 'pcr_digest'
      : c === 'ERR_AK_ATTRIBUTES'
        ? 'ak_attributes'
        : 'quote_signature';
}

/**
 * The `tpm` evidence verifier: the quote signature with the AK (`opts.ak` — the caller's pin,
 * or what the verifier service registered — else the evidence's `ak_public`, else the AK
 * certificate's key), then, reported separately as `ak_trust`, why that AK is trusted
 * ({@link decideAkTrust}); an AK nothing vouches for is `ERR_UNTRUSTED_KEY`.
 */
export function verifyTpmEvidence(
  data: Uint8Array,
  opts: ResolvedVerifyOptions,
  cvm?: CvmAkBinding,
): EvidenceResult {
  const b = new ResultBuilder('tpm', opts.at, opts.policy);
  if (cvm !== undefined) nestCvmResult(b, cvm);
  const certs = akCertificates(opts);
  const akBytes = opts.ak ?? opts.parts?.['ak_public'];
  // Without an AK public part, the key a CVM report publishes, else the AK certificate's.
  const certKey = certs.find((c) => c.basicConstraints?.ca !== true);
  const cvmKey = cvm?.ak?.export({ format: 'der', type: 'spki' });
  const ak: AkInput | undefined =
    akBytes !== undefined
      ? akFromBytes(akBytes)
      : cvmKey !== undefined
        ? { spkiDer: new Uint8Array(cvmKey) }
        : certKey === undefined
          ? undefined
          : { spkiDer: certKey.spki };
  const sigBytes = opts.signature ?? opts.parts?.['signature'];
  const pcrBytes = opts.pcrs ?? opts.parts?.['pcr_values'];
  if (ak === undefined || sigBytes === undefined) {
    b.fail(
      'quote_signature',
      'ERR_COLLATERAL_MISSING',
      'a TPM quote needs the AK (--ak, or an AK certificate with --cert) and the signature (--signature)',
    );
    return b.build();
  }
  let pcrs: PcrValues | undefined;
  try {
    if (pcrBytes !== undefined) {
      const a = parseAttest(data);
      if (a.attested.kind === 'quote') pcrs = parsePcrValues(pcrBytes, a.attested.pcrSelect);
    }
    const r = verifyTpmQuote({
      attest: data,
      signature: sigBytes,
      ak,
      ...(opts.nonce === undefined ? {} : { nonce: opts.nonce }),
      ...(pcrs === undefined ? {} : { pcrs }),
    });
    b.claims = { ...(r.claims ?? {}), ...b.claims };
    // Freshness is recorded by b.freshness below (or by the bundle), not as this warning.
    b.warnings.push(...r.warnings.filter((w) => !w.startsWith('no nonce given')));
    for (const e of r.errors) b.fail(checkOf(e.code), e.code, e.message);
    b.ok('quote_signature');
    // verifyTpmQuote compared extraData with the nonce; a mismatch is already a failure.
    b.freshness(opts, () => undefined);
    if (pcrs !== undefined) b.ok('pcr_digest');
    else b.optional('pcr_digest', 'no PCR values given: only the quoted digest is known');
    if (r.claims === undefined) return b.build(); // the AK or the quote is unreadable
    const { key, tpm } = loadAkPublicKey(ak);
    if (tpm !== undefined) b.ok('ak_attributes');
    else
      b.optional('ak_attributes', 'the AK came as a plain public key: no TPMT_PUBLIC attributes');
    akTrust(b, key, opts, certs, cvm);
  } catch (e) {
    if (isMrstackError(e)) b.fail('quote_signature', e.code, e.message);
    else throw e;
  }
  return b.build();
}

/** Records the `ak_trust` check and, when trusted, `claims.ak_trust` and `trust`. */
function akTrust(
  b: ResultBuilder,
  key: KeyObject,
  opts: ResolvedVerifyOptions,
  certificates: readonly Certificate[],
  cvm: CvmAkBinding | undefined,
): void {
  try {
    const d = decideAkTrust({
      key,
      callerPinned: opts.ak !== undefined,
      registered: opts.akRegistered === true,
      policy: opts.policy,
      certificates,
      at: opts.at,
      ...(cvm === undefined ? {} : { cvm }),
    });
    b.claims['ak_trust'] = d.trust;
    if (d.trust.reason === 'cvm_report' && cvm !== undefined) {
      b.trust = cvm.result.trust;
    } else if (d.anchor !== undefined) {
      b.trust = {
        root: d.anchor.subject,
        emulated: d.anchor.emulated === true,
        anchor: anchorRef(d.anchor),
      };
    } else {
      b.trust = { root: `${d.trust.reason} AK ${d.trust.ak_spki_sha256}`, emulated: false };
    }
    b.ok('ak_trust');
    // An AK trusted through its certificate is revoked when its CA's CRL lists it (the emulated
    // TPM CA issues one beside the AK certificate).
    if (d.chain !== undefined)
      checkLeafRevocation(
        b,
        d.chain,
        crlsOf(opts.collateral?.files?.values()),
        opts.at,
        'the AK certificate',
      );
  } catch (e) {
    b.failWith('ak_trust', svsmEkOnly(e, opts));
  }
}

/**
 * An SVSM report beside a TPM quote (parts `svsm_report`, `manifestblob`) vouches for the vTPM's
 * EK, which cannot sign: offline there is no credential activation to tie an AK to that EK, so
 * the AK stays untrusted, and the error says so rather than only "comes with the evidence".
 */
function svsmEkOnly(e: unknown, opts: ResolvedVerifyOptions): unknown {
  const p = opts.parts;
  const svsm = p?.['svsm_report'] !== undefined || p?.['manifestblob'] !== undefined;
  if (!svsm || !(e instanceof VerifyError) || e.code !== 'ERR_UNTRUSTED_KEY') return e;
  return new VerifyError(
    'ERR_UNTRUSTED_KEY',
    `${e.message} — an SVSM report vouches only for the vTPM's EK, which cannot sign: no AK is trusted for it without credential activation (register the AK with a verifier: mrstack verifier register --svsm-report), or pin the AK (--ak)`,
    { details: { ...e.details, svsm_report: 'vouches-for-ek-only' } },
  );
}

/**
 * The CVM report's verification inside the TPM result: its checks as `cvm.<check>` (a failure,
 * or a required skip nobody relaxed, fails `verified` here too), its claims as `claims.cvm`, and
 * the relaxations it used in `relaxed`.
 */
function nestCvmResult(b: ResultBuilder, cvm: CvmAkBinding): void {
  const r = cvm.result;
  b.claims['cvm'] = { report: cvm.report, kind: r.kind, ...r.claims };
  if (r.tcbStatus !== undefined) b.tcbStatus = r.tcbStatus;
  if (r.advisories !== undefined) b.advisories = [...r.advisories];
  for (const w of r.warnings) b.warnings.push(`cvm: ${w}`);
  b.absorb(r, 'cvm.');
}
