/**
 * Evidence as the peers hand it over, unpacked into the bytes mrstack verifies:
 *
 * - **trustee TDX evidence** (`TdxEvidence` of confidential-containers' attestation service):
 *   `{"quote": <base64 TD quote>, "cc_eventlog"?: <base64 CCEL>, "aa_eventlog"?: <text>}` — the
 *   quote is verified; the logs are returned beside it for `--eventlog`-style replay.
 * - **trustee SNP evidence** (`SnpEvidence`): `{"attestation_report": {…}, "cert_chain": [{
 *   "cert_type": "VCEK"|"VLEK"|"ASK"|"ARK"…, "data": [DER bytes]}]}` — the report as the `sev`
 *   crate serialises it, field by field; it is encoded back into the 1184-byte report (the
 *   signature then proves the bytes are the signed ones) and the certificates are passed on.
 * - **trustee Azure vTPM evidence** (`az-snp-vtpm`, `az-tdx-vtpm`, confidential-containers'
 *   `deps/verifier/src/az_*_vtpm/compat.rs`): v1/v2 `{"version", "tpm_quote": {"signature",
 *   "message", "pcrs"} (hex), "hcl_report" (base64url), "vcek" (base64url DER, SNP) |
 *   "td_quote" (base64url, TDX)}`; v0 the same as JSON byte arrays (SNP v0: `quote`, `report`,
 *   `vcek` as PEM text). The TPM quote (`message`, a TPMS_ATTEST) is the evidence; its bare RSA
 *   signature, its SHA-256 PCR values, the HCL report (whose `HCLAkPub` is the AK) and the TD
 *   quote become envelope-style parts, the VCEK a certificate. trustee's containers carry no
 *   event log: the vTPM's TCG log is given with `--eventlog`.
 *
 * Anything else is not recognised here ({@link peerEvidenceOf} returns undefined).
 *
 * @module
 */
import { fieldErrors } from '../../errors.js';
import { SNP_REPORT_SIZE, SNP_SIGNED_SIZE } from '../../formats/snp/report.js';
import { encodeSnpReportBody } from '../../formats/snp/report_encode.js';
import type { EvidenceKind } from './evidence_result.js';

/** Evidence unpacked from a peer's container. */
export interface PeerEvidence {
  /** Which container it came in (`trustee-tdx`, `trustee-snp`). */
  readonly container: 'trustee-tdx' | 'trustee-snp' | 'trustee-az-snp-vtpm' | 'trustee-az-tdx-vtpm';
  readonly kind: EvidenceKind;
  /** The evidence bytes (a TD quote, an SNP report). */
  readonly data: Uint8Array;
  /** Certificates that came with it (SNP: the `cert_chain`, DER each). */
  readonly certs?: readonly Uint8Array[];
  /**
   * Named parts, as an mrstack report envelope carries them (Azure vTPM: `signature`,
   * `pcr_values`, `hcl_report`, `td_quote`).
   */
  readonly parts?: Readonly<Record<string, Uint8Array>>;
  /** Event logs that came with it, by name (`cc_eventlog`: the CCEL; `aa_eventlog`: AAEL text). */
  readonly eventlogs?: Readonly<Record<string, Uint8Array>>;
}

/** The containers {@link peerEvidenceOf} knows, for messages. */
export const PEER_CONTAINERS: readonly string[] = Object.freeze([
  'trustee TDX evidence {"quote","cc_eventlog"?}',
  'trustee SNP evidence {"attestation_report","cert_chain"}',
  'trustee Azure vTPM evidence {"version"?,"tpm_quote"|"quote","hcl_report"|"report","vcek"|"td_quote"}',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const bad = fieldErrors({ code: 'ERR_BAD_JSON', format: 'json' });

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Field(doc: Record<string, unknown>, name: string): Uint8Array {
  const v = doc[name];
  if (typeof v !== 'string' || !B64.test(v.replace(/\s+/g, '')))
    throw bad(name, 'base64 text', typeof v === 'string' ? 'other text' : typeof v);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/** A JSON array of byte values (serde's `Vec<u8>` / `[u8; N]`), exactly `n` long when given. */
function byteArray(v: unknown, field: string, n?: number): Uint8Array {
  if (
    !Array.isArray(v) ||
    !v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255)
  )
    throw bad(field, 'an array of byte values', typeof v);
  if (n !== undefined && v.length !== n) throw bad(field, `${n} bytes`, `${v.length}`);
  return new Uint8Array(v as number[]);
}

function uint(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad(field, 'an unsigned integer', typeof v === 'number' ? String(v) : typeof v);
  return v;
}

/**
 * A TCB version as the `sev` crate writes it: `{fmc, bootloader, tee, snp, microcode}`, `fmc`
 * null before Turin. SEV-SNP ABI TCB_VERSION: Milan/Genoa bytes bootloader, tee, 4 reserved,
 * snp, microcode; Turin fmc, bootloader, tee, snp, 3 reserved, microcode.
 */
function tcbVersion(v: unknown, field: string): bigint {
  if (!isObject(v)) throw bad(field, 'a TCB version object', typeof v);
  const b = (k: string): bigint => {
    const n = uint(v[k], `${field}.${k}`);
    if (n > 255) throw bad(`${field}.${k}`, 'a byte', String(n));
    return BigInt(n);
  };
  if (v['fmc'] === null || v['fmc'] === undefined)
    return b('bootloader') | (b('tee') << 8n) | (b('snp') << 48n) | (b('microcode') << 56n);
  return (
    b('fmc') |
    (b('bootloader') << 8n) |
    (b('tee') << 16n) |
    (b('snp') << 24n) |
    (b('microcode') << 56n)
  );
}

function firmware(v: unknown, field: string): { major: number; minor: number; build: number } {
  if (!isObject(v)) throw bad(field, 'a {major, minor, build} object', typeof v);
  return {
    major: uint(v['major'], `${field}.major`),
    minor: uint(v['minor'], `${field}.minor`),
    build: uint(v['build'], `${field}.build`),
  };
}

/** The 1184-byte report from the `sev` crate's JSON of an `AttestationReport`. */
function snpReportOfJson(r: Record<string, unknown>): Uint8Array {
  const f = 'attestation_report';
  const version = uint(r['version'], `${f}.version`);
  if (version !== 2 && version !== 3 && version !== 5)
    throw bad(`${f}.version`, '2, 3 or 5', String(version));
  if (uint(r['sig_algo'], `${f}.sig_algo`) !== 1)
    throw bad(`${f}.sig_algo`, '1 (ECDSA P-384 with SHA-384)', String(r['sig_algo']));
  const keyInfo = uint(r['key_info'], `${f}.key_info`);
  const cpuid =
    version >= 3
      ? {
          family: uint(r['cpuid_fam_id'], `${f}.cpuid_fam_id`),
          model: uint(r['cpuid_mod_id'], `${f}.cpuid_mod_id`),
          stepping: uint(r['cpuid_step'], `${f}.cpuid_step`),
        }
      : undefined;
  const body = encodeSnpReportBody({
    version,
    guest_svn: uint(r['guest_svn'], `${f}.guest_svn`),
    policy: BigInt(uint(r['policy'], `${f}.policy`)),
    family_id: byteArray(r['family_id'], `${f}.family_id`, 16),
    image_id: byteArray(r['image_id'], `${f}.image_id`, 16),
    vmpl: uint(r['vmpl'], `${f}.vmpl`),
    current_tcb: tcbVersion(r['current_tcb'], `${f}.current_tcb`),
    platform_info: BigInt(uint(r['plat_info'], `${f}.plat_info`)),
    author_key_en: (keyInfo & 1) !== 0,
    mask_chip_key: (keyInfo & 2) !== 0,
    signing_key: (keyInfo >> 2) & 7,
    report_data: byteArray(r['report_data'], `${f}.report_data`, 64),
    measurement: byteArray(r['measurement'], `${f}.measurement`, 48),
    host_data: byteArray(r['host_data'], `${f}.host_data`, 32),
    id_key_digest: byteArray(r['id_key_digest'], `${f}.id_key_digest`, 48),
    author_key_digest: byteArray(r['author_key_digest'], `${f}.author_key_digest`, 48),
    report_id: byteArray(r['report_id'], `${f}.report_id`, 32),
    report_id_ma: byteArray(r['report_id_ma'], `${f}.report_id_ma`, 32),
    reported_tcb: tcbVersion(r['reported_tcb'], `${f}.reported_tcb`),
    ...(cpuid === undefined ? {} : { cpuid }),
    chip_id: byteArray(r['chip_id'], `${f}.chip_id`, 64),
    committed_tcb: tcbVersion(r['committed_tcb'], `${f}.committed_tcb`),
    current: firmware(r['current'], `${f}.current`),
    committed: firmware(r['committed'], `${f}.committed`),
    launch_tcb: tcbVersion(r['launch_tcb'], `${f}.launch_tcb`),
    ...(version >= 5
      ? {
          launch_mit_vector: BigInt(uint(r['launch_mit_vector'], `${f}.launch_mit_vector`)),
          current_mit_vector: BigInt(uint(r['current_mit_vector'], `${f}.current_mit_vector`)),
        }
      : {}),
  });
  const sig = r['signature'];
  if (!isObject(sig)) throw bad(`${f}.signature`, 'an {r, s} object', typeof sig);
  const out = new Uint8Array(SNP_REPORT_SIZE);
  out.set(body, 0);
  // r and s as the report holds them: 72 bytes each, little-endian, then reserved zeros.
  out.set(byteArray(sig['r'], `${f}.signature.r`, 72), SNP_SIGNED_SIZE);
  out.set(byteArray(sig['s'], `${f}.signature.s`, 72), SNP_SIGNED_SIZE + 72);
  return out;
}

/** Bytes of a member that is base64url text (v1, v2) or a JSON byte array (v0). */
function bytesField(doc: Record<string, unknown>, name: string): Uint8Array {
  const v = doc[name];
  if (Array.isArray(v)) return byteArray(v, name);
  if (typeof v !== 'string' || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(v))
    throw bad(name, 'base64url text or an array of byte values', typeof v);
  return new Uint8Array(Buffer.from(v, 'base64url'));
}

/** Bytes of a TPM quote member: hex text (v1, v2) or a JSON byte array (v0). */
function hexOrBytes(v: unknown, field: string): Uint8Array {
  if (Array.isArray(v)) return byteArray(v, field);
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v))
    throw bad(field, 'hex text or an array of byte values', typeof v);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** trustee's Azure vTPM evidence (SNP or TDX), or undefined when `doc` is not one. */
function azureVtpmOf(doc: Record<string, unknown>): PeerEvidence | undefined {
  const quoteName = isObject(doc['tpm_quote'])
    ? 'tpm_quote'
    : isObject(doc['quote'])
      ? 'quote'
      : '';
  const hclName = doc['hcl_report'] !== undefined ? 'hcl_report' : 'report';
  if (quoteName === '' || doc[hclName] === undefined) return undefined;
  if (doc['version'] !== undefined) {
    const v = doc['version'];
    if (v !== 1 && v !== 2) throw bad('version', '1 or 2 (absent: 0)', JSON.stringify(v));
  }
  const q = doc[quoteName] as Record<string, unknown>;
  const pcrs = q['pcrs'];
  if (!Array.isArray(pcrs)) throw bad(`${quoteName}.pcrs`, 'an array of PCR values', typeof pcrs);
  const pcrHex = pcrs.map((p, i) =>
    Buffer.from(hexOrBytes(p, `${quoteName}.pcrs[${i}]`)).toString('hex'),
  );
  const parts: Record<string, Uint8Array> = {
    signature: hexOrBytes(q['signature'], `${quoteName}.signature`),
    pcr_values: new Uint8Array(Buffer.from(JSON.stringify({ sha256: pcrHex }))),
    hcl_report: bytesField(doc, hclName),
  };
  const data = hexOrBytes(q['message'], `${quoteName}.message`);
  if (doc['td_quote'] !== undefined) {
    parts['td_quote'] = bytesField(doc, 'td_quote');
    return { container: 'trustee-az-tdx-vtpm', kind: 'tpm', data, parts };
  }
  const vcek = doc['vcek'];
  if (vcek === undefined) throw bad('vcek', 'the VCEK (SNP) or a td_quote member (TDX)', 'absent');
  // v0 carries the VCEK as PEM text, v1/v2 as base64url DER.
  const cert =
    typeof vcek === 'string' && vcek.startsWith('-----BEGIN')
      ? new Uint8Array(Buffer.from(vcek))
      : bytesField(doc, 'vcek');
  return { container: 'trustee-az-snp-vtpm', kind: 'tpm', data, parts, certs: [cert] };
}

/**
 * The evidence inside a peer's JSON container, or undefined when `doc` is none of
 * {@link PEER_CONTAINERS}.
 * @throws ParseError `ERR_BAD_JSON` for a container whose members are malformed
 */
export function peerEvidenceOf(doc: unknown): PeerEvidence | undefined {
  if (!isObject(doc)) return undefined;
  const azure = azureVtpmOf(doc);
  if (azure !== undefined) return azure;
  if (typeof doc['quote'] === 'string') {
    const logs: Record<string, Uint8Array> = {};
    if (typeof doc['cc_eventlog'] === 'string')
      logs['cc_eventlog'] = base64Field(doc, 'cc_eventlog');
    if (typeof doc['aa_eventlog'] === 'string')
      logs['aa_eventlog'] = new Uint8Array(Buffer.from(doc['aa_eventlog'], 'utf8'));
    return {
      container: 'trustee-tdx',
      kind: 'tdx',
      data: base64Field(doc, 'quote'),
      ...(Object.keys(logs).length === 0 ? {} : { eventlogs: logs }),
    };
  }
  const report = doc['attestation_report'];
  if (isObject(report)) {
    const chain = doc['cert_chain'] ?? [];
    if (!Array.isArray(chain)) throw bad('cert_chain', 'an array', typeof chain);
    const certs = chain.map((c: unknown, i) => {
      if (!isObject(c)) throw bad(`cert_chain[${i}]`, 'a {cert_type, data} object', typeof c);
      return byteArray(c['data'], `cert_chain[${i}].data`);
    });
    return { container: 'trustee-snp', kind: 'snp', data: snpReportOfJson(report), certs };
  }
  return undefined;
}
