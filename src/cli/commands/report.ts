/**
 * `mrstack report --nonce HEX [--user-data HEX] [--out FILE] [--json]`: asks the provider for a
 * signed report and writes it as an mrstack report envelope (JSON, docs/evidence.md) that
 * `mrstack evidence verify` reads directly:
 *
 * `{"format":"mrstack-report-v1","kind","provider","emulated","nonce","user_data"?,"report_data",
 *   "outblob","auxblob"?,"manifestblob"?,"parts"?,"collateral"?}` (bytes as hex; `collateral`
 * is the JSON the emulated TDX profile ships, in the QuoteCollateralV3 layout).
 *
 * Report data: the nonce (zero-padded to 64 bytes) without `--user-data`; with it,
 * SHA-512("mrstack-report-v1" ‖ u16be len ‖ nonce ‖ u16be len ‖ user data).
 *
 * Without `--out` the envelope goes to stdout; with `--out` it is written to the file and a
 * summary is printed (`{"out","kind","provider","emulated","bytes"}` with `--json`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fromHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import { parsePcrList } from '../../formats/tpm2/pcr_list.js';
import { fromErrno, UsageError } from '../../errors.js';
import type { RawReport, ReportFormat } from '../../providers/provider.js';
import type { EvidenceKind } from '../../verifier/verify/evidence_result.js';
import { reportDataBinding } from '../../formats/envelope/binding.js';
import { encodeReportEnvelope, frameEnvelope } from '../../formats/envelope/report_envelope.js';
import { action, printFields, printJson, toJsonText } from '../output.js';
import {
  addProviderOptions,
  openProviderFromOptions,
  type ProviderCliOptions,
} from '../provider_options.js';

interface ReportCliOptions extends ProviderCliOptions {
  readonly nonce: string;
  readonly userData?: string;
  readonly out?: string;
  readonly ak?: string;
  readonly pcrList?: string;
  readonly serviceProvider?: string;
  readonly serviceGuid?: string;
  readonly serviceManifestVersion?: string;
  readonly privlevel?: string;
  readonly imaLog?: string;
  readonly imaSince?: string;
}

/** The envelope's `ima_log` member: a binary IMA list from entry `since` on. */
export interface EnvelopeImaList {
  readonly format: 'ima-binary';
  readonly since: number;
  readonly data: Uint8Array;
}

/**
 * The entries of a binary IMA list from entry `since` on, or undefined when the list holds
 * fewer than `since` entries (another boot's list, or a wrong entry number).
 * @throws ParseError for a list that does not parse
 */
export async function imaListFrom(
  list: Uint8Array,
  since: number,
): Promise<EnvelopeImaList | undefined> {
  const { ImaBinaryScanner } = await import('../../formats/ima/ima_binary.js');
  let from = since === 0 ? 0 : -1;
  let entries = 0;
  const sc = new ImaBinaryScanner();
  sc.pushEach(list, (v) => {
    if (v.index === since) from = v.offset;
    entries++;
  });
  sc.end();
  if (since === entries) from = list.length;
  return from < 0 ? undefined : { format: 'ima-binary', since, data: list.subarray(from) };
}

/** Reads the IMA list file (the kernel's `binary_runtime_measurements`). */
export function readImaList(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    throw fromErrno(e, file);
  }
}

/**
 * The envelope's `ima_log` (docs/verifier.md "Incremental IMA"): a binary IMA list read after
 * the quote (a verifier matches the prefix that folds to the quoted PCR 10), from entry `since`.
 * @throws UsageError for a bad `--ima-since`; ParseError for a list that does not parse
 */
async function imaLogFor(file: string, sinceText: string | undefined): Promise<EnvelopeImaList> {
  const since = sinceText === undefined ? 0 : Number(sinceText);
  if (!Number.isSafeInteger(since) || since < 0)
    throw new UsageError('ERR_USAGE', '--ima-since: expected an IMA entry number');
  const out = await imaListFrom(readImaList(file), since);
  if (out === undefined)
    throw new UsageError('ERR_USAGE', `--ima-since ${since}: the list holds fewer entries`);
  return out;
}

const KIND_OF: Record<ReportFormat, EvidenceKind> = {
  'tdx-quote': 'tdx',
  'snp-report': 'snp',
  'tpm-quote': 'tpm',
  'cca-token': 'cca',
};

/** The report envelope of a raw report (docs/evidence.md; written by the formats module). */
export function reportEnvelope(
  r: RawReport,
  nonce: Uint8Array,
  userData: Uint8Array | undefined,
  reportData: Uint8Array,
): Record<string, unknown> {
  const parts: Record<string, Uint8Array> = {};
  let collateral: unknown;
  for (const [k, v] of Object.entries(r.parts ?? {})) {
    if (k === 'collateral') collateral = JSON.parse(Buffer.from(v).toString('utf8')) as unknown;
    else parts[k] = v;
  }
  return encodeReportEnvelope({
    kind: KIND_OF[r.format],
    provider: r.provider,
    emulated: r.emulated,
    nonce,
    ...(userData === undefined ? {} : { userData }),
    reportData,
    outblob: r.outblob,
    ...(r.auxblob === undefined ? {} : { auxblob: r.auxblob }),
    ...(r.manifestblob === undefined ? {} : { manifestblob: r.manifestblob }),
    parts,
    ...(collateral === undefined ? {} : { collateral }),
  });
}

/** A TPM handle as tpm2-tools write one: `0x` and up to 8 hex digits. */
const HANDLE = /^0x[0-9a-f]{1,8}$/i;

/** `--ak FILE|HANDLE`: a persistent handle (`0x81…`), else the path of an AK blob. */
export async function akOption(
  ak: string,
): Promise<{ akHandle: number } | { ak: import('../../providers/tpm/identity.js').AkBlob }> {
  if (HANDLE.test(ak)) return { akHandle: Number.parseInt(ak.slice(2), 16) };
  const { decodeAkBlob } = await import('../../providers/tpm/identity.js');
  let blob: Uint8Array;
  try {
    blob = new Uint8Array(readFileSync(ak));
  } catch (e) {
    throw fromErrno(e, ak);
  }
  return { ak: decodeAkBlob(blob) };
}

/**
 * The configfs-tsm service attributes the flags name.
 * @throws UsageError for a GUID or version without a service provider, or a bad version
 */
function serviceRequest(opts: ReportCliOptions): {
  serviceProvider?: string;
  serviceGuid?: string;
  serviceManifestVersion?: number;
  privlevel?: number;
} {
  const p = opts.privlevel;
  if (p !== undefined && !/^[0-3]$/.test(p))
    throw new UsageError('ERR_USAGE', `--privlevel ${p}: expected 0..3`);
  if (
    opts.serviceProvider === undefined &&
    (opts.serviceGuid !== undefined || opts.serviceManifestVersion !== undefined)
  )
    throw new UsageError(
      'ERR_USAGE',
      '--service-guid and --service-manifest-version go with --service-provider',
    );
  const v = opts.serviceManifestVersion;
  if (v !== undefined && !/^[0-9]+$/.test(v))
    throw new UsageError('ERR_USAGE', `--service-manifest-version ${v}: expected an integer >= 0`);
  return {
    ...(opts.serviceProvider === undefined ? {} : { serviceProvider: opts.serviceProvider }),
    ...(opts.serviceGuid === undefined ? {} : { serviceGuid: opts.serviceGuid }),
    ...(v === undefined ? {} : { serviceManifestVersion: Number(v) }),
    ...(p === undefined ? {} : { privlevel: Number(p) }),
  };
}

/** Registers `mrstack report`. */
export function registerReport(program: Command): Command {
  const cmd = program
    .command('report')
    .description(
      'get a signed report (TDX quote, SNP report, TPM quote, CCA token) bound to a nonce',
    )
    .requiredOption('--nonce <hex>', 'the verifier nonce (at most 64 bytes without --user-data)')
    .option('--user-data <hex>', 'extra data bound into the report data (see docs/evidence.md)')
    .option('--out <file>', 'write the evidence envelope to FILE instead of stdout')
    .option(
      '--ak <file|handle>',
      'tpm provider: quote with this AK, not a fresh one: an AK blob (`tpm ak create`) or a persistent handle (0x81010002, as tpm2_evictcontrol made it)',
    )
    .option(
      '--pcr-list <selection>',
      'tpm provider: the PCRs to quote, as tpm2-tools writes them (sha256:0,1,7+sha1:10; default: every sha256 PCR)',
    )
    .option(
      '--service-provider <name>',
      'snp under an SVSM: configfs-tsm service_provider (svsm); the report then binds the services manifest (manifestblob)',
    )
    .option(
      '--service-guid <guid>',
      'with --service-provider: one service to attest (the vTPM: c476f1eb-0123-45a5-9641-b4e7dde5bfe3; default: all)',
    )
    .option(
      '--service-manifest-version <n>',
      'with --service-guid: the service manifest version (default 0)',
    )
    .option(
      '--privlevel <n>',
      'snp: configfs-tsm privlevel, the VMPL the report is requested at (0..3; at least the guest privlevel_floor)',
    )
    .option(
      '--ima-log <file>',
      'tpm: put this binary IMA list in the envelope (ima_log) for a verifier service to replay against PCR 10',
    )
    .option(
      '--ima-since <entry>',
      "with --ima-log: only the entries from this one on (the verifier's ima_since)",
    )
    .option('--json', 'print JSON');
  addProviderOptions(cmd, { write: false });
  cmd.action(
    action(async (opts: ReportCliOptions) => {
      const nonce = fromHex(opts.nonce, '--nonce');
      const userData =
        opts.userData === undefined ? undefined : fromHex(opts.userData, '--user-data');
      const reportData = reportDataBinding(nonce, userData);
      if (reportData.length > 64) {
        throw new UsageError(
          'ERR_USAGE',
          `--nonce is ${nonce.length} bytes; report data holds at most 64`,
        );
      }
      let pcrs: Map<HashAlg, readonly number[]> | undefined;
      if (opts.pcrList !== undefined) {
        if (opts.provider !== 'tpm') {
          throw new UsageError('ERR_USAGE', '--pcr-list goes with --provider tpm');
        }
        pcrs = new Map(parsePcrList(opts.pcrList).map((b) => [b.alg, b.pcrs]));
      }
      let provider;
      if (opts.ak !== undefined) {
        if (opts.provider !== 'tpm') {
          throw new UsageError('ERR_USAGE', '--ak goes with --provider tpm');
        }
        const { openTpmProvider } = await import('../../providers/tpm/tpm_provider.js');
        provider = openTpmProvider(
          {
            ...(opts.tpmDevice === undefined ? {} : { device: opts.tpmDevice }),
            ...(opts.swtpm === undefined ? {} : { swtpm: opts.swtpm }),
          },
          await akOption(opts.ak),
        );
      } else provider = await openProviderFromOptions(opts, { write: false });
      if (opts.imaSince !== undefined && opts.imaLog === undefined)
        throw new UsageError('ERR_USAGE', '--ima-since goes with --ima-log');
      let raw: RawReport;
      try {
        raw = await provider.report({
          reportData,
          ...(pcrs === undefined ? {} : { pcrs }),
          ...serviceRequest(opts),
        });
      } finally {
        await provider.close();
      }
      const env = reportEnvelope(raw, nonce, userData, reportData);
      // the IMA list is read after the quote: the kernel appends an entry before it extends
      // PCR 10, so the list covers the quoted value (entries past it are left to the next one)
      // (the list as bytes after the JSON text, not base64 in it: a million entries are ~110 MB)
      const text =
        opts.imaLog === undefined
          ? `${toJsonText(env)}\n`
          : frameEnvelope(env, await imaLogFor(opts.imaLog, opts.imaSince));
      if (opts.out === undefined) {
        process.stdout.write(text);
        return 0;
      }
      try {
        writeFileSync(opts.out, text);
      } catch (e) {
        throw fromErrno(e, opts.out);
      }
      const summary = {
        out: opts.out,
        kind: env['kind'],
        provider: raw.provider,
        emulated: raw.emulated,
        bytes: raw.outblob.length,
      };
      if (opts.json === true) printJson(summary);
      else printFields(Object.entries(summary).map(([k, v]) => [k, String(v)]));
      return 0;
    }),
  );
  return cmd;
}
