/**
 * The Azure HCL binding: the hardware report (SNP or TDX) vouches for the runtime claims of the
 * HCL report because REPORT_DATA starts with H(variable data); the runtime claims publish the
 * vTPM attestation key (`HCLAkPub`), which in turn signs TPM quotes. Failures are
 * `ERR_BINDING_MISMATCH`.
 *
 * @module
 */
import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { VerifyError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import { hclRuntimeKey, type HclReport } from '../../formats/azure/hcl_report.js';
import type { TdReport } from '../../formats/tdx/tdreport.js';
import type { TdReportBody } from '../../formats/tdx/quote.js';
import { checkReportDataNonce, type ResultBuilder } from './evidence_result.js';

/**
 * Checks REPORT_DATA against the variable data; records `hcl_report_data` and `hcl_ak` checks.
 */
export function checkHclBinding(b: ResultBuilder, hcl: HclReport, reportData: Uint8Array): void {
  const digest = hash(hcl.hash_alg, hcl.variable_data);
  if (Buffer.compare(reportData.subarray(0, digest.length), digest) === 0) {
    b.ok('hcl_report_data');
  } else {
    b.fail(
      'hcl_report_data',
      'ERR_BINDING_MISMATCH',
      `HCL variable data ${hcl.hash_alg} does not match the report data`,
      {
        expected: Buffer.from(digest).toString('hex'),
        actual: Buffer.from(reportData.subarray(0, digest.length)).toString('hex'),
      },
    );
  }
  try {
    const ak = hclAkPublicKey(hcl);
    b.claims['hcl_ak_pub'] = ak.export({ format: 'jwk' });
    b.ok('hcl_ak');
  } catch (e) {
    if (e instanceof VerifyError) b.failWith('hcl_ak', e);
    else throw e;
  }
}

/** The key members of a JWK (node rejects unknown members such as `kid` and `key_ops`). */
function publicJwk(j: Record<string, unknown>): JsonWebKey {
  const out: Record<string, unknown> = {};
  for (const k of ['kty', 'n', 'e', 'crv', 'x', 'y']) if (j[k] !== undefined) out[k] = j[k];
  return out;
}

/**
 * The vTPM attestation key published in the HCL runtime claims.
 * @throws VerifyError `ERR_BINDING_MISMATCH` when it is absent or not a usable public key
 */
export function hclAkPublicKey(hcl: HclReport, kid = 'HCLAkPub'): KeyObject {
  try {
    const jwk = hclRuntimeKey(hcl, kid);
    return createPublicKey({ key: publicJwk(jwk), format: 'jwk' });
  } catch (e) {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      `no usable ${kid} in the HCL runtime claims${e instanceof Error ? `: ${e.message}` : ''}`,
      { cause: e },
    );
  }
}

/**
 * Checks that a TPM attestation key equals the one the HCL report publishes.
 * @throws VerifyError `ERR_BINDING_MISMATCH`
 */
export function checkHclAkMatches(hcl: HclReport, ak: KeyObject): void {
  const published = hclAkPublicKey(hcl);
  const a = published.export({ format: 'der', type: 'spki' });
  const k = ak.export({ format: 'der', type: 'spki' });
  if (Buffer.compare(a, k) !== 0) {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      'the TPM attestation key is not the HCLAkPub the hardware report vouches for',
    );
  }
}

/**
 * An HCL report is made at boot; its only fresh field is the runtime claims' `user-data` (hex,
 * written by the guest before asking for a new report). A nonce is checked against it (the
 * report-data rule: a prefix, zeros after it), and fails closed when it is absent (the vTPM
 * quote is then what carries the nonce). Records `nonce`.
 */
export function checkHclNonce(b: ResultBuilder, hcl: HclReport, nonce: Uint8Array): void {
  const ud = (hcl.runtime_claims as Record<string, unknown> | undefined)?.['user-data'];
  if (typeof ud !== 'string' || !/^[0-9a-fA-F]*$/.test(ud) || ud.length % 2 !== 0) {
    b.fail(
      'nonce',
      'ERR_NONCE_MISMATCH',
      'the HCL report carries no user-data to bind a nonce: verify the vTPM quote with it',
    );
    return;
  }
  const why = checkReportDataNonce(new Uint8Array(Buffer.from(ud, 'hex')), nonce);
  if (why === undefined) b.ok('nonce');
  else b.fail('nonce', 'ERR_NONCE_MISMATCH', why.replace('report data', 'HCL user-data'));
}

/**
 * Where each TD identity field sits in a TDREPORT and in a quote's TD report body (Intel TDX
 * module ABI TDREPORT_STRUCT; DCAP quote format, TD report body at quote offset 48).
 */
const TD_FIELDS: readonly {
  readonly name: string;
  readonly tdreport: number;
  readonly body: number;
  readonly pick: (f: TdReport | TdReportBody) => Uint8Array;
}[] = [
  { name: 'tee_tcb_svn', tdreport: 264, body: 0, pick: (f) => f.teeTcbSvn },
  { name: 'mrseam', tdreport: 280, body: 16, pick: (f) => f.mrSeam },
  { name: 'mrsignerseam', tdreport: 328, body: 64, pick: (f) => f.mrSignerSeam },
  { name: 'seam_attributes', tdreport: 376, body: 112, pick: (f) => f.seamAttributes },
  { name: 'td_attributes', tdreport: 512, body: 120, pick: (f) => f.tdAttributes },
  { name: 'xfam', tdreport: 520, body: 128, pick: (f) => f.xfam },
  { name: 'mrtd', tdreport: 528, body: 136, pick: (f) => f.mrTd },
  { name: 'mrconfigid', tdreport: 576, body: 184, pick: (f) => f.mrConfigId },
  { name: 'mrowner', tdreport: 624, body: 232, pick: (f) => f.mrOwner },
  { name: 'mrownerconfig', tdreport: 672, body: 280, pick: (f) => f.mrOwnerConfig },
  ...[0, 1, 2, 3].map((i) => ({
    name: `rtmr${i}`,
    tdreport: 720 + 48 * i,
    body: 328 + 48 * i,
    pick: (f: TdReport | TdReportBody) => f.rtmr[i]!,
  })),
  { name: 'report_data', tdreport: 128, body: 520, pick: (f) => f.reportData },
];

/**
 * The TDX 1.5 fields, compared when the quote's body is a TD 1.5 report body (DCAP quote v5,
 * body type 3): TEE_TCB_INFO.TEE_TCB_SVN2 and TDINFO.SERVTD_HASH, which the body carries as
 * TEE_TCB_SVN2 and MRSERVICETD (Intel TDX module 1.5 ABI, TDREPORT_STRUCT; DCAP quote format).
 */
const TD15_FIELDS: readonly {
  readonly name: string;
  readonly tdreport: number;
  readonly body: number;
  readonly fromReport: (t: TdReport) => Uint8Array;
  readonly fromBody: (b: TdReportBody) => Uint8Array | undefined;
}[] = [
  {
    name: 'tee_tcb_svn2',
    tdreport: 384,
    body: 584,
    fromReport: (t) => t.teeTcbSvn2,
    fromBody: (b) => b.teeTcbSvn2,
  },
  {
    name: 'mrservicetd',
    tdreport: 912,
    body: 600,
    fromReport: (t) => t.servTdHash,
    fromBody: (b) => b.mrServiceTd,
  },
];

/**
 * The TDREPORT an Azure TDX HCL report carries must be the one the TD quote was made from:
 * every TD identity field of the quote's (signed) TD report body equals the TDREPORT's, so the
 * registers a reader takes from the HCL report are the ones Intel's quote vouches for. Records
 * `hcl_td_report`; a difference is `ERR_BINDING_MISMATCH` naming the first field and both
 * offsets (in the TDREPORT and in the quote body). A TD 1.5 body's TEE_TCB_SVN2 and MRSERVICETD
 * are compared too; a TD 1.0 body cannot cover a TDREPORT's non-zero 1.5 fields (a warning).
 */
export function checkHclTdReport(b: ResultBuilder, tdreport: TdReport, body: TdReportBody): void {
  const diff = [
    ...TD_FIELDS.filter((f) => Buffer.compare(f.pick(tdreport), f.pick(body)) !== 0).map((f) => ({
      ...f,
      report: f.pick(tdreport),
      quoted: f.pick(body),
    })),
    ...TD15_FIELDS.flatMap((f) => {
      const quoted = f.fromBody(body);
      const report = f.fromReport(tdreport);
      return quoted === undefined || Buffer.compare(report, quoted) === 0
        ? []
        : [{ ...f, report, quoted }];
    }),
  ];
  // A TD 1.0 body does not carry the 1.5 fields: a TDREPORT that fills them is not covered there.
  const uncovered = TD15_FIELDS.filter(
    (f) => f.fromBody(body) === undefined && f.fromReport(tdreport).some((x) => x !== 0),
  );
  if (uncovered.length > 0)
    b.warnings.push(
      `the TD quote has a TDX 1.0 body: the TDREPORT's ${uncovered.map((f) => f.name).join(', ')} (TDX 1.5) are not covered by its signature`,
    );
  if (diff.length === 0) {
    b.ok('hcl_td_report');
    return;
  }
  const f = diff[0]!;
  b.fail(
    'hcl_td_report',
    'ERR_BINDING_MISMATCH',
    `the HCL report's TDREPORT is not the TD quote's: ${diff.map((d) => d.name).join(', ')} differ (TDREPORT offset ${f.tdreport}, quote body offset ${f.body})`,
    {
      fields: diff.map((d) => d.name),
      field: f.name,
      tdreport_offset: f.tdreport,
      body_offset: f.body,
      expected: Buffer.from(f.quoted).toString('hex'),
      actual: Buffer.from(f.report).toString('hex'),
    },
  );
}
