/**
 * The emulated TVM's TDX quote: a real-format quote v4 (TDX 1.0 body) carrying the TVM's
 * registers (MRTD, RTMR0–3, MRCONFIGID, MROWNER, MROWNERCONFIG) and the request's report data,
 * signed by the emulated Quoting Enclave's attestation key. The certification data holds a QE
 * report signed by the emulated PCK leaf, whose chain ends in the mrstack emulated root
 * (tdx_pki.ts, docs/emulated-pki.md); the QE report data binds the attestation key as Intel's
 * does: SHA-256(AK ‖ auth data) ‖ 32 zero bytes.
 *
 * The report carries fresh emulated collateral in `parts.collateral` (QuoteCollateralV3 JSON),
 * so `mrstack report` can hand the verifier everything it needs.
 *
 * @module
 */
import { createHash, sign } from 'node:crypto';
import { UsageError } from '../../errors.js';
import {
  encodeTdxQuote,
  encodeTdxQuoteSignedPart,
  TDX_QUOTE,
  type TdxQuoteSignatureInit,
} from '../../formats/tdx/quote.js';
import { encodeEnclaveReport } from '../../formats/tdx/enclave_report.js';
import type { RawReport } from '../provider.js';
import type { EmulatedReportContext, EmulatedReportFn } from './report_context.js';
import {
  EMULATED_TDX_PLATFORM,
  loadOrCreateTdxKeys,
  makeEmulatedTdxCollateral,
  type EmulatedTdxKeys,
} from './tdx_pki.js';
import { bytesEqual } from '../../bytes/hex.js';
import { keySetNotBefore } from './emulated_pki.js';

/** The emulated TDX module's MRSEAM: SHA-384 of a fixed label. */
export const EMULATED_MRSEAM: Uint8Array = new Uint8Array(
  createHash('sha384').update('mrstack emulated TDX module').digest(),
);

const zeros = (n: number): Uint8Array => new Uint8Array(n);

function value(ctx: EmulatedReportContext, name: string, size: number): Uint8Array {
  const v = ctx.values.get(name) ?? ctx.config.staticValues.get(name);
  return v ?? zeros(size);
}

/**
 * Builds the emulated TDX quote, synchronously.
 * @throws UsageError `ERR_USAGE` for report data over 64 bytes
 */
export function makeEmulatedTdxQuote(ctx: EmulatedReportContext): RawReport {
  if (ctx.reportData.length > 64) {
    throw new UsageError(
      'ERR_USAGE',
      `TDX report data is at most 64 bytes, got ${ctx.reportData.length}`,
    );
  }
  const keys = loadOrCreateTdxKeys(ctx.keysDir, keySetNotBefore(ctx.config.created));
  const P = EMULATED_TDX_PLATFORM;
  const reportData = zeros(64);
  reportData.set(ctx.reportData);
  const platformId = new Uint8Array(
    createHash('sha256').update(keys.pckLeafDer).digest().subarray(0, 16),
  );
  const userData = zeros(20);
  userData.set(platformId);
  const signedPart = encodeTdxQuoteSignedPart(
    {
      version: 4,
      attKeyType: TDX_QUOTE.ATT_KEY_ECDSA_P256,
      teeType: TDX_QUOTE.TEE_TYPE_TDX,
      qeSvn: P.qeSvn,
      pceSvn: P.pceSvn,
      qeVendorId: new Uint8Array(Buffer.from(TDX_QUOTE.INTEL_QE_VENDOR_ID, 'hex')),
      userData,
    },
    {
      teeTcbSvn: Uint8Array.from(P.teeTcbSvn),
      mrSeam: EMULATED_MRSEAM,
      mrSignerSeam: zeros(48),
      seamAttributes: zeros(8),
      // SEPT_VE_DISABLE (bit 28); DEBUG (bit 0) only for a TVM initialized with --debug.
      tdAttributes: Uint8Array.of(ctx.config.debug === true ? 1 : 0, 0, 0, 0x10, 0, 0, 0, 0),
      xfam: Uint8Array.of(0xe7, 0x02, 0x06, 0, 0, 0, 0, 0),
      mrTd: value(ctx, 'mrtd', 48),
      mrConfigId: value(ctx, 'mrconfigid', 48),
      mrOwner: value(ctx, 'mrowner', 48),
      mrOwnerConfig: value(ctx, 'mrownerconfig', 48),
      rtmr: [
        value(ctx, 'rtmr0', 48),
        value(ctx, 'rtmr1', 48),
        value(ctx, 'rtmr2', 48),
        value(ctx, 'rtmr3', 48),
      ],
      reportData,
    },
  );
  const signature = sign('sha256', signedPart, {
    key: keys.attestationKey,
    dsaEncoding: 'ieee-p1363',
  });
  const cert = certificationFor(keys);
  const outblob = encodeTdxQuote(signedPart, {
    signature,
    attestationKey: keys.attestationPublic,
    ...cert,
  });
  return {
    provider: 'tdx_guest',
    format: 'tdx-quote',
    outblob,
    parts: { collateral: collateralFor(keys, ctx.now) },
    emulated: true,
  };
}

/** A quote's certification data besides the attestation key: QE report, its signature, chain. */
type Certification = Pick<
  TdxQuoteSignatureInit,
  'qeReport' | 'qeReportSignature' | 'qeAuthData' | 'pckChainPem'
>;

// The certification data of the last quote, by key set. A Quoting Enclave reports on its
// attestation key when that key is certified, and every quote carries that same QE report and
// PCK signature (the verifier's QE-report cache relies on it); signing it again per quote cost
// an ECDSA signature and two quote encodings.
let lastCertification: { readonly keys: EmulatedTdxKeys; readonly cert: Certification } | undefined;

function certificationFor(keys: EmulatedTdxKeys): Certification {
  const last = lastCertification;
  if (
    last?.keys.pckLeafKey === keys.pckLeafKey &&
    last.keys.attestationKey === keys.attestationKey &&
    bytesEqual(last.keys.pckLeafDer, keys.pckLeafDer) &&
    bytesEqual(last.keys.pckCaDer, keys.pckCaDer) &&
    bytesEqual(last.keys.rootDer, keys.rootDer)
  ) {
    return last.cert;
  }
  const P = EMULATED_TDX_PLATFORM;
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const qeReportData = zeros(64);
  qeReportData.set(createHash('sha256').update(keys.attestationPublic).update(qeAuthData).digest());
  const qeReport = {
    cpuSvn: Uint8Array.from(P.sgxTcbComponents),
    miscSelect: 0,
    attributes: new Uint8Array(Buffer.from(P.qeAttributes, 'hex')),
    mrEnclave: new Uint8Array(
      createHash('sha256').update('mrstack emulated TD quoting enclave image').digest(),
    ),
    mrSigner: keys.qeMrSigner,
    isvProdId: P.qeIsvProdId,
    isvSvn: P.qeSvn,
    reportData: qeReportData,
  };
  // The PCK leaf signs the 384 encoded bytes of the QE report.
  const qeReportSignature = new Uint8Array(
    sign('sha256', encodeEnclaveReport(qeReport), {
      key: keys.pckLeafKey,
      dsaEncoding: 'ieee-p1363',
    }),
  );
  const pem = (der: Uint8Array): string =>
    `-----BEGIN CERTIFICATE-----\n${(
      Buffer.from(der)
        .toString('base64')
        .match(/.{1,64}/g) ?? []
    ).join('\n')}\n-----END CERTIFICATE-----\n`;
  const cert: Certification = {
    qeReport,
    qeReportSignature,
    qeAuthData,
    pckChainPem: pem(keys.pckLeafDer) + pem(keys.pckCaDer) + pem(keys.rootDer),
  };
  lastCertification = { keys, cert };
  return cert;
}

// The collateral of the last quote: issued for a whole second (makeEmulatedTdxCollateral rounds
// `now` down to it), so every quote of that second under the same key set gets the same
// collateral, as a PCS cache would serve it; issuing it (four ECDSA signatures) was about half
// of an emulated quote's CPU (bench/verifier, session 7).
let lastCollateral:
  | { readonly second: number; readonly keys: EmulatedTdxKeys; readonly bytes: Uint8Array }
  | undefined;

function sameKeySet(a: EmulatedTdxKeys, b: EmulatedTdxKeys): boolean {
  return (
    a.rootKey === b.rootKey &&
    a.pckCaKey === b.pckCaKey &&
    a.tcbSignerKey === b.tcbSignerKey &&
    bytesEqual(a.rootDer, b.rootDer) &&
    bytesEqual(a.pckCaDer, b.pckCaDer) &&
    bytesEqual(a.tcbSignerDer, b.tcbSignerDer)
  );
}

function collateralFor(keys: EmulatedTdxKeys, now: Date): Uint8Array {
  const second = Math.floor(now.getTime() / 1000);
  const last = lastCollateral;
  if (last?.second === second && sameKeySet(last.keys, keys)) return last.bytes.slice();
  const collateral = makeEmulatedTdxCollateral(keys, now);
  const bytes = new Uint8Array(Buffer.from(JSON.stringify(collateral), 'utf8'));
  lastCollateral = { second, keys, bytes };
  return bytes.slice();
}

/** The `tdx` entry of the emulated report table. */
export const tdxEmulatedReport: EmulatedReportFn = (ctx) =>
  Promise.resolve().then(() => makeEmulatedTdxQuote(ctx));
