/**
 * go-tpm-tools' `attest.Attestation` (the `attestation.pb` GCE and Confidential Space attesters
 * write): the AK's TPMT_PUBLIC, one quote per PCR bank (TPMS_ATTEST, TPMT_SIGNATURE and the bank's
 * PCR values), the TCG event log, and the AK certificate with its intermediates (DER).
 *
 * Decoded with protobufjs from the schema subset below — the field numbers and types of the
 * public `proto/attest.proto` and `proto/tpm.proto`, nothing else; fields outside the subset
 * (instance info, the canonical event log, the TEE attestation) are skipped as unknown fields.
 *
 * @module
 */
import protobuf from 'protobufjs';
import { fieldErrors } from '../../errors.js';
import type { HashAlg } from '../../crypto/hash_alg.js';

/** Our subset of go-tpm-tools' attest.proto / tpm.proto (field numbers are the wire contract). */
const SCHEMA = `
syntax = "proto3";
package mrstack.gotpm;
message PCRs {
  uint32 hash = 1;
  map<uint32, bytes> pcrs = 2;
}
message Quote {
  bytes quote = 1;
  bytes raw_sig = 2;
  PCRs pcrs = 3;
}
message Attestation {
  bytes ak_pub = 1;
  repeated Quote quotes = 2;
  bytes event_log = 3;
  bytes ak_cert = 6;
  repeated bytes intermediate_certs = 7;
}
`;

let attestationType: protobuf.Type | undefined;
function schema(): protobuf.Type {
  attestationType ??= protobuf
    .parse(SCHEMA, { keepCase: true })
    .root.lookupType('mrstack.gotpm.Attestation');
  return attestationType;
}

/** One quote of an attestation: a PCR bank's TPMS_ATTEST, its signature, its PCR values. */
export interface GoTpmQuote {
  /** The bank (from `PCRs.hash`, a TPM_ALG_ID). */
  readonly bank: HashAlg;
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  /** PCR values of the bank by index. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
}

/** A decoded `attest.Attestation`. */
export interface GoTpmAttestation {
  /** The AK's TPMT_PUBLIC. */
  readonly akPublic: Uint8Array;
  readonly quotes: readonly GoTpmQuote[];
  /** The TCG event log (raw), when present. */
  readonly eventLog?: Uint8Array;
  /** The AK certificate (DER), when present. */
  readonly akCert?: Uint8Array;
  /** Intermediate certificates (DER). */
  readonly intermediates: readonly Uint8Array[];
}

/** TPM_ALG_IDs of the banks go-tpm-tools names (tpm.HashAlgo). */
const BANKS: Readonly<Record<number, HashAlg>> = {
  0x0004: 'sha1',
  0x000b: 'sha256',
  0x000c: 'sha384',
  0x000d: 'sha512',
};

interface RawQuote {
  quote?: Uint8Array;
  raw_sig?: Uint8Array;
  pcrs?: { hash?: number; pcrs?: Record<string, Uint8Array> };
}
interface RawAttestation {
  ak_pub?: Uint8Array;
  quotes?: RawQuote[];
  event_log?: Uint8Array;
  ak_cert?: Uint8Array;
  intermediate_certs?: Uint8Array[];
}

const bad = fieldErrors({ code: 'ERR_BAD_VALUE', format: 'tpm2', prefix: 'attestation.' });

const nonEmpty = (b: Uint8Array | undefined): b is Uint8Array => b !== undefined && b.length > 0;

/**
 * True when the bytes look like an `attest.Attestation`: they start with field 1 (`ak_pub`,
 * length-delimited) and decode. Cheap enough for detection (one decode of the message).
 */
export function looksGoTpmAttestation(data: Uint8Array): boolean {
  if (data[0] !== 0x0a) return false;
  try {
    decodeGoTpmAttestation(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes an `attest.Attestation`.
 * @throws ParseError `ERR_BAD_VALUE` — not protobuf of this shape, no AK or no quote, a quote
 *   without its TPMS_ATTEST, signature or PCR bank, a bank go-tpm-tools does not name
 */
export function decodeGoTpmAttestation(data: Uint8Array): GoTpmAttestation {
  let raw: RawAttestation;
  try {
    const t = schema();
    raw = t.toObject(t.decode(data), { bytes: Uint8Array, defaults: false });
  } catch (e) {
    throw bad('', 'a go-tpm-tools attest.Attestation (protobuf)', undefined, e);
  }
  if (!nonEmpty(raw.ak_pub)) throw bad('ak_pub', 'the AK TPMT_PUBLIC (field 1)');
  const quotes = (raw.quotes ?? []).map((q, i): GoTpmQuote => {
    if (!nonEmpty(q.quote) || !nonEmpty(q.raw_sig))
      throw bad(`quotes[${i}]`, 'quote (1) and raw_sig (2)');
    const hash = q.pcrs?.hash ?? 0;
    const bank = BANKS[hash];
    if (bank === undefined)
      throw bad(
        `quotes[${i}].pcrs.hash`,
        'SHA1, SHA256, SHA384 or SHA512',
        `0x${hash.toString(16)}`,
      );
    const pcrs = new Map<number, Uint8Array>();
    for (const [k, v] of Object.entries(q.pcrs?.pcrs ?? {})) {
      const n = Number(k);
      if (!Number.isInteger(n) || n < 0 || n > 31)
        throw bad(`quotes[${i}].pcrs.pcrs`, 'PCR indexes 0..31', k);
      pcrs.set(n, v);
    }
    return { bank, attest: q.quote, signature: q.raw_sig, pcrs };
  });
  if (quotes.length === 0) throw bad('quotes', 'at least one quote (field 2)');
  return {
    akPublic: raw.ak_pub,
    quotes,
    ...(nonEmpty(raw.event_log) ? { eventLog: raw.event_log } : {}),
    ...(nonEmpty(raw.ak_cert) ? { akCert: raw.ak_cert } : {}),
    intermediates: (raw.intermediate_certs ?? []).filter(nonEmpty),
  };
}
