/**
 * The verify flags of every command that verifies evidence — `evidence verify`, `appraise`,
 * `policy generate` and `verifier serve` — declared once and turned into verify options once,
 * so the same evidence and the same flags give the same verdict through each of them.
 *
 * - {@link addTrustOptions}: what the caller trusts and relaxes (`--trust-anchor`,
 *   `--trust-emulated`, `--tvm-state`, `--relax`, `--no-collateral`, `--collateral`, `--cert`);
 *   a service takes these once at start.
 * - {@link addEvidenceOptions}: what one verification needs (`--nonce`, `--user-data`, `--at`,
 *   `--ak`, `--signature`, `--pcrs`, `--hcl-report`, `--td-quote`, `--trusted-checkpoint`,
 *   `--tenant-checkpoint`).
 * - {@link verifyOptionsFromFlags} / {@link trustOptionsFromFlags}: flags → verify options.
 *
 * Missing collateral is only ever the `collateral` relaxation (`--relax collateral`, or its
 * alias `--no-collateral`, DESIGN §6.1). `--trust-emulated` trusts the roots of the emulated TVM
 * named by `--tvm-state` (else `$MRSTACK_TVM_STATE`, else the user's state directory) by their
 * SPKI fingerprints, and that TVM's PKI issues the collateral its evidence needs for the
 * verification time (TCB info, QE identity and CRLs; the SNP VCEK chain and CRL; the TPM AK
 * certificate), so emulated evidence runs the full path with no relaxation.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { fromHex } from '../bytes/hex.js';
import { UsageError } from '../errors.js';
import type { DecodedEvidenceInput, ReportEnvelope } from '../verifier/verify/evidence.js';
import type { EvidenceKind, VerifyEvidenceOptions } from '../verifier/verify/evidence_result.js';
import { readCollateral, readInput } from './input_files.js';

/** The verify flags, named as commander names them. */
export interface VerifyFlags {
  /** `--collateral PATH`, or false for `--no-collateral`. */
  readonly collateral?: string | false;
  readonly relax?: readonly string[];
  readonly cert?: readonly string[];
  readonly trustAnchor?: readonly string[];
  readonly trustEmulated?: boolean;
  readonly tvmState?: string;
  readonly ak?: string;
  readonly signature?: string;
  readonly pcrs?: string;
  readonly hclReport?: string;
  readonly tdQuote?: string;
  readonly nonce?: string;
  readonly userData?: string;
  readonly at?: string;
  readonly trustedCheckpoint?: string;
  readonly tenantCheckpoint?: string;
}

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

/** Declares the trust flags on `cmd`. */
export function addTrustOptions(cmd: Command): Command {
  return cmd
    .option(
      '--collateral <path>',
      'what verification needs beside the evidence (a collateral fetch cache entry works for both): TDX: a directory of Intel PCS responses, or one QuoteCollateralV3 JSON; SNP: a directory or file of certificates (VCEK/VLEK, ASK, ARK) and the KDS CRL; TPM and CCA take none (--cert, --ak, --trust-anchor)',
    )
    .option('--no-collateral', 'alias of --relax collateral: revocation and TCB status are skipped')
    .option(
      '--relax <names>',
      'accept these required checks as skipped (comma-separated, repeatable): collateral, crl, nonce, unverified-anchor, missing-checkpoint',
      collect,
    )
    .option(
      '--cert <file>',
      'SNP: VCEK/VLEK (DER or PEM), ASK/ASVK/ARK PEM; TPM: an AK certificate and its CAs (repeatable)',
      collect,
    )
    .option(
      '--trust-anchor <file>',
      'a root to trust instead of the built-in ones (repeatable; an exported emulated root works too)',
      collect,
    )
    .option(
      '--trust-emulated',
      'trust the roots of the emulated TVM of --tvm-state (by key fingerprint; the output says EMULATED)',
    )
    .option(
      '--tvm-state <dir>',
      'with --trust-emulated: the emulated TVM whose roots are trusted and whose PKI issues collateral for --at (default: $MRSTACK_TVM_STATE, else the user state dir)',
    );
}

/** Declares the per-verification flags on `cmd`. */
export function addEvidenceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--nonce <hex>',
      'the expected nonce (report data prefix, zero-padded; docs/evidence.md)',
    )
    .option('--user-data <hex>', 'with --nonce: the user data given to `mrstack report`')
    .option('--at <iso-time>', 'verification time (default: now)')
    .option('--ak <file>', 'TPM: AK public (TPMT_PUBLIC, PEM or JWK), pinned')
    .option('--signature <file>', 'TPM: TPMT_SIGNATURE')
    .option('--pcrs <file>', 'TPM: PCR values')
    .option(
      '--hcl-report <file>',
      'TPM: the Azure CVM HCL report whose HCLAkPub is the AK (trusted when the report verifies: SNP with --cert VCEK, TDX with --td-quote)',
    )
    .option('--td-quote <file>', "Azure TDX: the TD quote made from the HCL report's TDREPORT")
    .option(
      '--trusted-checkpoint <file|spec>',
      'bundles: a checkpoint trusted from an earlier attestation, N:<alg>/<hex>[,…] or a file holding it (docs/bundle.md)',
    )
    .option(
      '--tenant-checkpoint <file|json>',
      "tenant bundles: a tenant checkpoint trusted from an earlier attestation, {tenant,vmr,alg,line,record,value,seq} (an entry of claims.layers.vmr.checkpoints) or a verifier service's stored checkpoint value, or a file holding it (docs/bundle.md)",
    );
}

/**
 * Declares `--eventlog FILE` (repeatable): event logs replayed against the registers the
 * evidence reports (TDX CCEL → RTMR0–2, TPM TCG log → PCRs, IMA list → PCR 10, AAEL/mrlog →
 * RTMR3). One name for it in every command that takes evidence.
 */
export function addEventlogOption(cmd: Command, description?: string): Command {
  return cmd.option(
    '--eventlog <file>',
    description ??
      'an event log replayed against the reported registers (repeatable): TCG, CCEL, IMA, AAEL, mrlog',
    collect,
  );
}

/**
 * `--at` as a Date.
 * @throws UsageError `ERR_USAGE` for text that is not a time
 */
export function parseAtFlag(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new UsageError('ERR_USAGE', `--at ${JSON.stringify(text)}: expected an ISO-8601 time`);
  return d;
}

/** What the emulated TVM of `--tvm-state` contributes: its roots, and collateral for `at`. */
interface EmulatedTrust {
  readonly roots: readonly Uint8Array[];
  /** Collateral files and certificates, when the TVM's profile is the evidence's. */
  readonly collateral?: {
    readonly files: ReadonlyMap<string, Uint8Array>;
    readonly certs: readonly Uint8Array[];
  };
}

async function emulatedTrust(
  tvmState: string | undefined,
  kind: EvidenceKind | undefined,
  at: Date,
): Promise<EmulatedTrust> {
  const { resolveTvmStateDir, readTvmConfig } = await import('../providers/emulated/tvm_state.js');
  const { emulatedRoots } = await import('../providers/emulated/emulated_roots.js');
  const { emulatedCollateral } = await import('../providers/emulated/collateral.js');
  const dir = resolveTvmStateDir(tvmState);
  // Throws ERR_NOT_FOUND (exit 2) when no TVM lives there: --trust-emulated trusts nothing else.
  const cfg = readTvmConfig(dir);
  const { toPem } = await import('../formats/x509/pem_encode.js');
  const roots = emulatedRoots(dir).roots.map((r) => new Uint8Array(Buffer.from(toPem(r.der))));
  // A bundle (or undetected evidence) carries the TVM's own kind of report inside.
  if (kind !== undefined && kind !== 'bundle' && kind !== cfg.profile) return { roots };
  const c = emulatedCollateral(dir, { at });
  return { roots, collateral: { files: c.files, certs: c.certs } };
}

/** Where the flags are applied: the time and the envelope the evidence came in. */
export interface FlagContext {
  /** The verification time (`--at`, or now read once at the edge). */
  readonly at: Date;
  readonly kind?: EvidenceKind;
  readonly envelope?: ReportEnvelope;
}

/**
 * The trust part of the verify options: anchors, emulated roots, relaxations, collateral and
 * certificates (what a service fixes at start, issued per request for `ctx.at`).
 * @throws UsageError for an unknown relaxation; file errors naming the path
 */
export async function trustOptionsFromFlags(
  flags: VerifyFlags,
  ctx: FlagContext,
): Promise<VerifyEvidenceOptions> {
  const { parseRelaxations } = await import('../verifier/verify/trust_policy.js');
  const relax = parseRelaxations([
    ...(flags.relax ?? []),
    ...(flags.collateral === false ? ['collateral'] : []),
  ]);
  const env = ctx.envelope;
  let files: ReadonlyMap<string, Uint8Array> | undefined;
  if (typeof flags.collateral === 'string') files = readCollateral(flags.collateral);
  else if (flags.collateral !== false && env?.collateral !== undefined)
    files = new Map([
      ['envelope-collateral.json', new Uint8Array(Buffer.from(JSON.stringify(env.collateral)))],
    ]);
  let emulatedAnchors: readonly Uint8Array[] = [];
  let emulatedCerts: readonly Uint8Array[] = [];
  if (flags.trustEmulated === true) {
    const e = await emulatedTrust(flags.tvmState, ctx.kind ?? env?.kind, ctx.at);
    emulatedAnchors = e.roots;
    if (e.collateral !== undefined) {
      emulatedCerts = e.collateral.certs;
      // The TVM's collateral, issued for --at, replaces the envelope's (which was issued when
      // the report was made and may have expired); a --collateral the caller names wins.
      if (
        typeof flags.collateral !== 'string' &&
        flags.collateral !== false &&
        e.collateral.files.size > 0
      )
        files = e.collateral.files;
    }
  }
  const certs = [...(flags.cert ?? []).map(readInput), ...emulatedCerts];
  return {
    ...(relax.length === 0 ? {} : { relax }),
    ...(flags.trustAnchor === undefined || flags.trustAnchor.length === 0
      ? {}
      : { trustAnchors: flags.trustAnchor.map(readInput) }),
    ...(emulatedAnchors.length === 0 ? {} : { emulatedAnchors }),
    ...(files === undefined ? {} : { collateral: { files } }),
    ...(certs.length === 0 ? {} : { certs }),
  };
}

/** A `FILE|TEXT` option's text: an existing regular file's contents (UTF-8), else `arg` itself. */
function fileOrText(arg: string): string {
  return existsSync(arg) && statSync(arg).isFile()
    ? Buffer.from(readInput(arg)).toString('utf8')
    : arg;
}

/** `--trusted-checkpoint FILE|SPEC`: an existing file holds the SPEC (text or JSON). */
async function trustedCheckpointOf(
  arg: string,
): Promise<NonNullable<VerifyEvidenceOptions['trustedCheckpoint']>> {
  const { parseTrustedCheckpoint } = await import('../formats/bundle/checkpoint_spec.js');
  return parseTrustedCheckpoint(fileOrText(arg));
}

/** `--tenant-checkpoint FILE|JSON`: an existing file holds the JSON. */
async function trustedTenantCheckpointsOf(
  arg: string,
): Promise<NonNullable<VerifyEvidenceOptions['trustedTenantCheckpoint']>> {
  const { parseTrustedTenantCheckpoints } = await import('../formats/bundle/checkpoint_spec.js');
  return parseTrustedTenantCheckpoints(fileOrText(arg));
}

/**
 * The verify options the flags name, for evidence that came as `input` (its envelope's kind,
 * auxblob, parts and collateral are used). `--at` defaults to now, read here once.
 * @throws UsageError for inconsistent flags; file errors naming the path
 */
export async function verifyOptionsFromFlags(
  flags: VerifyFlags,
  input: { readonly envelope?: ReportEnvelope; readonly kind?: EvidenceKind } = {},
): Promise<VerifyEvidenceOptions> {
  if (flags.userData !== undefined && flags.nonce === undefined)
    throw new UsageError('ERR_USAGE', '--user-data needs --nonce');
  const env = input.envelope;
  const kind = input.kind ?? env?.kind;
  const at = parseAtFlag(flags.at) ?? new Date();
  const trust = await trustOptionsFromFlags(flags, {
    at,
    ...(kind === undefined ? {} : { kind }),
    ...(env === undefined ? {} : { envelope: env }),
  });
  // Parts named by flags join (and win over) the envelope's.
  const flagParts: Record<string, Uint8Array> = {
    ...(flags.hclReport === undefined ? {} : { hcl_report: readInput(flags.hclReport) }),
    ...(flags.tdQuote === undefined ? {} : { td_quote: readInput(flags.tdQuote) }),
  };
  const parts =
    Object.keys(flagParts).length === 0 ? env?.parts : { ...(env?.parts ?? {}), ...flagParts };
  const trustedCheckpoint =
    flags.trustedCheckpoint === undefined
      ? undefined
      : await trustedCheckpointOf(flags.trustedCheckpoint);
  const trustedTenantCheckpoint =
    flags.tenantCheckpoint === undefined
      ? undefined
      : await trustedTenantCheckpointsOf(flags.tenantCheckpoint);
  return {
    ...trust,
    ...(kind === undefined ? {} : { kind }),
    at,
    ...(flags.nonce === undefined ? {} : { nonce: fromHex(flags.nonce, '--nonce') }),
    ...(flags.userData === undefined ? {} : { userData: fromHex(flags.userData, '--user-data') }),
    ...(trustedCheckpoint === undefined ? {} : { trustedCheckpoint }),
    ...(trustedTenantCheckpoint === undefined ? {} : { trustedTenantCheckpoint }),
    ...(flags.ak === undefined ? {} : { ak: readInput(flags.ak) }),
    ...(flags.signature === undefined ? {} : { signature: readInput(flags.signature) }),
    ...(flags.pcrs === undefined ? {} : { pcrs: readInput(flags.pcrs) }),
    ...(env?.auxblob === undefined ? {} : { auxblob: env.auxblob }),
    ...(parts === undefined ? {} : { parts }),
  };
}

/**
 * A peer container's certificates (trustee SNP: its cert_chain) and parts (Azure vTPM:
 * signature, PCR values, HCL report, TD quote) joined to the flags' options (flags win), as
 * `evidence verify` and `appraise` both use them.
 */
export function withPeerContainer(
  opts: VerifyEvidenceOptions,
  input: DecodedEvidenceInput,
): VerifyEvidenceOptions {
  const certs = input.peer?.certs ?? [];
  const parts = input.peer?.parts;
  return {
    ...opts,
    ...(certs.length === 0 ? {} : { certs: [...(opts.certs ?? []), ...certs] }),
    ...(parts === undefined ? {} : { parts: { ...parts, ...(opts.parts ?? {}) } }),
  };
}

/**
 * The event logs that came inside a peer container, named `FILE#NAME`, to replay after the
 * `--eventlog` ones: trustee TDX's CCEL (`cc_eventlog`, RTMR0-2) and the attestation agent's
 * AAEL text (`aa_eventlog`, RTMR3).
 */
export function containerEventlogs(
  input: DecodedEvidenceInput,
  file: string,
): { readonly name: string; readonly bytes: Uint8Array }[] {
  return (['cc_eventlog', 'aa_eventlog'] as const).flatMap((n) => {
    const bytes = input.peer?.eventlogs?.[n];
    return bytes === undefined ? [] : [{ name: `${file}#${n}`, bytes }];
  });
}
