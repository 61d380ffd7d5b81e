/**
 * The emulated TVM's SEV-SNP report: a real version-3 ATTESTATION_REPORT carrying the TVM's
 * static values (MEASUREMENT, HOST_DATA, ID/author key digests) and the request's report data,
 * signed by an emulated VCEK (ECDSA P-384) chained VCEK → ASK → ARK with RSASSA-PSS/SHA-384 as
 * AMD does. The ARK is an mrstack emulated root (docs/emulated-pki.md): verifiers accept it only
 * with `--trust-emulated` or as `--trust-anchor`. The auxblob is the extended-report certificate
 * table (VCEK, ASK, ARK), as the kernel returns it for `sev_guest`.
 *
 * Keys and certificates live under `<state>/keys/snp/` and are made on first use: the whole set
 * is written to a temporary sibling directory and renamed into place, so concurrent first
 * reports agree on one set. RSA keys are 2048-bit (AMD's are 4096) to keep creation fast.
 *
 * @module
 */
import { loadOrCreateKeyDir } from './key_dir.js';
import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProviderError, UsageError } from '../../errors.js';
import {
  emulatedVtpmEkPublic,
  SVSM_VTPM_KEYS,
  svsmManifestFor,
  svsmReportDataFor,
} from './report_svsm.js';
import { encodeSnpReportBody, attachSnpSignature } from '../../formats/snp/report_encode.js';
import { encodeSnpCertTable, SNP_CERT_GUIDS } from '../../formats/snp/cert_table.js';
import { encodeTcb } from '../../formats/snp/tcb.js';
import { bits, ia5, int, seq, time } from '../../formats/x509/der_encode.js';
import {
  caExtension,
  name,
  sigAlgId,
  type Extension,
} from '../../formats/x509/certificate_encode.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import { certificateIssuer, keySetNotBefore, pemToDer } from './emulated_pki.js';
import type { RawReport } from '../provider.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';
import type { EmulatedReportContext, EmulatedReportFn } from './report_context.js';

/** The emulated platform's TCB (Milan layout): bl 3, tee 0, snp 8, ucode 115. */
export const EMULATED_SNP_TCB = { bootloader: 3, tee: 0, snp: 8, microcode: 115 } as const;

/** The emulated CPU: Milan (family 0x19, model 0x01, stepping 1). */
export const EMULATED_SNP_CPUID = { family: 0x19, model: 0x01, stepping: 0x01 } as const;

/** The emulated SNP PKI as loaded from `<state>/keys/snp/`. */
export interface EmulatedSnpKeys {
  readonly vcekKey: KeyObject;
  readonly vcekDer: Uint8Array;
  readonly askDer: Uint8Array;
  readonly arkDer: Uint8Array;
  /** The ARK's private key (signs the KDS-style CRL); absent in key sets made before it was kept. */
  readonly arkKey: KeyObject | undefined;
  /** The chip id the VCEK's hwID names (64 bytes). */
  readonly chipId: Uint8Array;
}

const FILES = {
  vcekKey: 'vcek.key.pem',
  vcek: 'vcek.pem',
  ask: 'ask.pem',
  ark: 'ark.pem',
  arkKey: 'ark.key.pem',
  chipId: 'chip_id.hex',
} as const;

function amdName(cn: string): Uint8Array {
  return name([
    ['OU', 'Engineering'],
    ['C', 'US'],
    ['O', EMULATED_ROOT_ORGANIZATION],
    ['CN', cn],
  ]);
}

const makeCert = certificateIssuer('rsa-pss-sha384', amdName);

/** AMD's VCEK extensions for the emulated chip. */
function vcekExtensions(chipId: Uint8Array): Extension[] {
  const amd = (s: string): string => `1.3.6.1.4.1.3704.1.${s}`;
  return [
    { oid: amd('1'), value: int(1) },
    { oid: amd('2'), value: ia5('Milan-B0') },
    { oid: amd('3.1'), value: int(EMULATED_SNP_TCB.bootloader) },
    { oid: amd('3.2'), value: int(EMULATED_SNP_TCB.tee) },
    { oid: amd('3.3'), value: int(EMULATED_SNP_TCB.snp) },
    { oid: amd('3.8'), value: int(EMULATED_SNP_TCB.microcode) },
    { oid: amd('4'), value: chipId },
  ];
}

function createKeySet(dir: string, notBefore: Date): void {
  const rsa = (): { publicKey: KeyObject; privateKey: KeyObject } =>
    generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ark = rsa();
  const ask = rsa();
  const vcek = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const chipId = new Uint8Array(
    createHash('sha512')
      .update(vcek.publicKey.export({ format: 'der', type: 'spki' }))
      .digest(),
  );
  const arkDer = makeCert(
    'ARK-Milan',
    'ARK-Milan',
    ark.publicKey,
    ark.privateKey,
    notBefore,
    25,
    [caExtension()],
    1,
  );
  const askDer = makeCert(
    'ARK-Milan',
    'SEV-Milan',
    ask.publicKey,
    ark.privateKey,
    notBefore,
    25,
    [caExtension()],
    EMULATED_ASK_SERIAL,
  );
  const vcekDer = makeCert(
    'SEV-Milan',
    'SEV-VCEK',
    vcek.publicKey,
    ask.privateKey,
    notBefore,
    7,
    vcekExtensions(chipId),
    0,
  );
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const w = (f: string, text: string): void =>
    fs.writeFileSync(path.join(dir, f), text, { mode: 0o600 });
  w(FILES.vcekKey, vcek.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  w(FILES.vcek, toPem(vcekDer));
  w(FILES.ask, toPem(askDer));
  w(FILES.ark, toPem(arkDer));
  w(FILES.arkKey, ark.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  w(FILES.chipId, `${Buffer.from(chipId).toString('hex')}\n`);
}

function readKeySet(dir: string): EmulatedSnpKeys {
  const r = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    vcekKey: createPrivateKey(r(FILES.vcekKey)),
    vcekDer: pemToDer(r(FILES.vcek)),
    askDer: pemToDer(r(FILES.ask)),
    arkDer: pemToDer(r(FILES.ark)),
    arkKey: fs.existsSync(path.join(dir, FILES.arkKey))
      ? createPrivateKey(r(FILES.arkKey))
      : undefined,
    chipId: new Uint8Array(Buffer.from(r(FILES.chipId).trim(), 'hex')),
  };
}

/**
 * The emulated SNP PKI under `keysDir`, created on first use (atomically, as a set).
 * @throws ProviderError for file-system failures
 */
export function loadOrCreateSnpKeys(keysDir: string, notBefore: Date): EmulatedSnpKeys {
  return loadOrCreateKeyDir(
    keysDir,
    FILES.chipId,
    (tmp) => createKeySet(tmp, notBefore),
    readKeySet,
  );
}

/** The emulated ASK's serial number (the ARK is 1, the VCEK 0). */
export const EMULATED_ASK_SERIAL = 2;

/**
 * A KDS-style CRL of the emulated ARK (RSASSA-PSS SHA-384, as AMD signs its CRLs), current from
 * an hour before `at` until 7 days after it, listing `revoked` serials (the ASK's, for a TVM
 * whose TCB status is `Revoked`). Undefined for a key set made before the ARK key was kept.
 */
export function makeEmulatedSnpCrl(
  keys: EmulatedSnpKeys,
  at: Date,
  revoked: readonly number[] = [],
): Uint8Array | undefined {
  if (keys.arkKey === undefined) return undefined;
  const secs = Math.floor(at.getTime() / 1000) * 1000;
  const thisUpdate = new Date(secs - 3600 * 1000);
  const nextUpdate = new Date(secs + 7 * 24 * 3600 * 1000);
  const tbs = seq(
    int(1),
    sigAlgId('rsa-pss-sha384'),
    amdName('ARK-Milan'),
    time(thisUpdate),
    time(nextUpdate),
    ...(revoked.length === 0 ? [] : [seq(...revoked.map((n) => seq(int(n), time(thisUpdate))))]),
  );
  const sig = sign('sha384', tbs, {
    key: keys.arkKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 48,
  });
  return seq(tbs, sigAlgId('rsa-pss-sha384'), bits(sig));
}

function staticValue(ctx: EmulatedReportContext, key: string): Uint8Array | undefined {
  return ctx.values.get(key) ?? ctx.config.staticValues.get(key);
}

/**
 * Builds the emulated SNP report (outblob) and certificate table (auxblob), synchronously.
 * @throws UsageError `ERR_USAGE` for report data over 64 bytes or a VMPL outside 0..3
 */
export function makeEmulatedSnpReport(ctx: EmulatedReportContext): RawReport {
  let rd = ctx.reportData;
  if (rd.length > 64) {
    throw new UsageError('ERR_USAGE', `SNP report data is at most 64 bytes, got ${rd.length}`);
  }
  // configfs-tsm service_provider: the request goes to the SVSM (report_svsm.ts), which asks for
  // a VMPL 0 report over SHA-512(nonce ‖ services manifest); the kernel refuses other names.
  const sp = ctx.request.serviceProvider;
  let manifest: Uint8Array | undefined;
  if (sp !== undefined) {
    if (sp !== 'svsm')
      throw new UsageError('ERR_USAGE', `service_provider ${JSON.stringify(sp)}: only svsm`);
    if (ctx.config.svsm !== true)
      throw new ProviderError(
        'ERR_UNSUPPORTED',
        'this emulated SNP guest runs without an SVSM (emulate init --profile snp --svsm)',
      );
    manifest = svsmManifestFor(
      {
        ...(ctx.request.serviceGuid === undefined ? {} : { serviceGuid: ctx.request.serviceGuid }),
        ...(ctx.request.serviceManifestVersion === undefined
          ? {}
          : { serviceManifestVersion: ctx.request.serviceManifestVersion }),
      },
      emulatedVtpmEkPublic(path.join(path.dirname(ctx.keysDir), SVSM_VTPM_KEYS)),
    );
    rd = svsmReportDataFor(rd, manifest);
  }
  const vmpl = manifest !== undefined ? 0 : (ctx.request.privlevel ?? 0);
  if (!Number.isInteger(vmpl) || vmpl < 0 || vmpl > 3) {
    throw new UsageError('ERR_USAGE', `SNP VMPL must be 0..3, got ${vmpl}`);
  }
  const keys = loadOrCreateSnpKeys(ctx.keysDir, keySetNotBefore(ctx.config.created));
  const tcb = encodeTcb(EMULATED_SNP_TCB, 'milan-genoa');
  const reportData = new Uint8Array(64);
  reportData.set(rd);
  const body = encodeSnpReportBody({
    version: 3,
    guest_svn: 0,
    // ABI 0.0, SMT allowed, bit 17 (reserved, must be one); DEBUG (bit 19) only with --debug.
    policy: ctx.config.debug === true ? 0xb0000n : 0x30000n,
    vmpl,
    current_tcb: tcb,
    platform_info: 0x1n,
    signing_key: 0,
    report_data: reportData,
    measurement: staticValue(ctx, 'measurement') ?? new Uint8Array(48),
    ...optional('host_data', staticValue(ctx, 'host_data')),
    ...optional('id_key_digest', staticValue(ctx, 'id_key_digest')),
    ...optional('author_key_digest', staticValue(ctx, 'author_key_digest')),
    report_id: new Uint8Array(
      createHash('sha256').update(keys.chipId).update('report_id').digest(),
    ),
    report_id_ma: new Uint8Array(32).fill(0xff),
    reported_tcb: tcb,
    cpuid: EMULATED_SNP_CPUID,
    chip_id: keys.chipId,
    current: { major: 1, minor: 55, build: 0 },
  });
  const sig = sign('sha384', body, { key: keys.vcekKey, dsaEncoding: 'ieee-p1363' });
  const outblob = attachSnpSignature(body, sig.subarray(0, 48), sig.subarray(48, 96));
  const auxblob = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: keys.vcekDer },
    { guid: SNP_CERT_GUIDS.ask, data: keys.askDer },
    { guid: SNP_CERT_GUIDS.ark, data: keys.arkDer },
  ]);
  const report: RawReport = {
    provider: 'sev_guest',
    format: 'snp-report',
    outblob,
    // The SVSM returns no certificates (the kernel then serves no auxblob) but the manifest.
    ...(manifest === undefined ? { auxblob } : { manifestblob: manifest }),
    emulated: true,
  };
  return report;
}

/** The SNP entry of the emulated provider's report table. */
export const snpEmulatedReport: EmulatedReportFn = (ctx) => {
  try {
    return Promise.resolve(makeEmulatedSnpReport(ctx));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
};

function optional<K extends string>(
  k: K,
  v: Uint8Array | undefined,
): Partial<Record<K, Uint8Array>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, Uint8Array>);
}
