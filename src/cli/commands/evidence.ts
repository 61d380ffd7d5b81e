/**
 * `mrstack evidence show|verify`: decode or verify attestation evidence offline (DESIGN §7).
 *
 * FILE may be binary, hex or base64 text, an mrstack report envelope (`mrstack report`), or `-`
 * for stdin. `--json` prints the verifier's result:
 * `{"verified","kind","tcbStatus"?,"advisories"?,"claims","errors","warnings","trust","checks","at"}`.
 * Exit 0 verified, 1 not verified, 2 bad input.
 *
 * {@link registerEvidence} returns the `evidence` command so other groups can add subcommands
 * (`evidence get` lives with the agent).
 *
 * @module
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { fromHex } from '../../bytes/hex.js';
import { fromErrno, UsageError } from '../../errors.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import type {
  EvidenceKind,
  EvidenceResult,
  VerifyEvidenceOptions,
} from '../../verifier/verify/evidence_result.js';
import { action, printFields, printJson, terminalWidth, toJsonText } from '../output.js';

interface ShowOptions {
  readonly kind?: EvidenceKind;
  readonly json?: boolean;
}

interface VerifyOptions extends ShowOptions {
  /** A path, or false for `--no-collateral`. */
  readonly collateral?: string | false;
  readonly cert?: readonly string[];
  readonly trustAnchor?: readonly string[];
  readonly ak?: string;
  readonly signature?: string;
  readonly pcrs?: string;
  readonly nonce?: string;
  readonly userData?: string;
  readonly at?: string;
  readonly trustEmulated?: boolean;
  readonly tvmState?: string;
  readonly trustedCheckpoint?: string;
  readonly relax?: readonly string[];
  readonly wide?: boolean;
}

/** `--trusted-checkpoint FILE|SPEC`: an existing file holds the SPEC (text or JSON). */
async function trustedCheckpointOf(
  arg: string,
): Promise<{ seq: number; values: ReadonlyMap<HashAlg, Uint8Array> }> {
  const { parseTrustedCheckpoint } = await import('../../formats/bundle/checkpoint_spec.js');
  let text = arg;
  if (existsSync(arg) && statSync(arg).isFile())
    text = Buffer.from(readInput(arg)).toString('utf8');
  return parseTrustedCheckpoint(text);
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (e) {
    throw fromErrno(e, path);
  }
}

/**
 * The emulated TVM's collateral for `at` when a TVM of this kind lives in the state directory
 * (`--tvm-state`, `$MRSTACK_TVM_STATE` or the default); undefined when there is none and the
 * directory was not named explicitly.
 */
async function emulatedCollateralFor(
  tvmState: string | undefined,
  kind: EvidenceKind | undefined,
  at: Date,
): Promise<
  | {
      files: ReadonlyMap<string, Uint8Array>;
      certs: readonly Uint8Array[];
      anchors: readonly Uint8Array[];
    }
  | undefined
> {
  const { resolveTvmStateDir, readTvmConfig, TVM_FILES } =
    await import('../../providers/emulated/tvm_state.js');
  const { emulatedCollateral } = await import('../../providers/emulated/collateral.js');
  const dir = resolveTvmStateDir(tvmState);
  if (tvmState === undefined && !existsSync(join(dir, TVM_FILES.config))) return undefined;
  const cfg = readTvmConfig(dir);
  if (kind !== undefined && kind !== cfg.profile) return undefined;
  return emulatedCollateral(dir, { at });
}

/** The files of a collateral path: a directory's regular files, or the one file. */
function readCollateral(path: string): Map<string, Uint8Array> {
  try {
    if (!statSync(path).isDirectory()) return new Map([[path, readInput(path)]]);
    const files = new Map<string, Uint8Array>();
    for (const name of readdirSync(path).sort()) {
      const p = join(path, name);
      if (statSync(p).isFile()) files.set(name, readInput(p));
    }
    return files;
  } catch (e) {
    if (
      e instanceof Error &&
      'code' in e &&
      typeof e.code === 'string' &&
      e.code.startsWith('ERR_')
    )
      throw e;
    throw fromErrno(e, path);
  }
}

function parseAt(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) {
    throw new UsageError('ERR_USAGE', `--at ${JSON.stringify(text)}: expected an ISO-8601 time`);
  }
  return d;
}

/** The kinds `--kind` accepts (the verifier's EVIDENCE_KINDS; kept here so help loads nothing). */
const KINDS: readonly EvidenceKind[] = ['tdx', 'snp', 'tpm', 'cca', 'bundle'];

/** The verifier, loaded when a command runs. */
const verifier = (): Promise<typeof import('../../verifier/verify/evidence.js')> =>
  import('../../verifier/verify/evidence.js');

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

function kindOption(): Option {
  return new Option('--kind <kind>', 'evidence kind (detected when omitted)').choices([...KINDS]);
}

function hex(v: unknown): string {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
}

/** Readable `key: value` lines of the top-level claims (nested objects as compact JSON). */
function claimLines(claims: Readonly<Record<string, unknown>>): [string, string][] {
  return Object.entries(claims).map(([k, v]) => [
    k,
    v instanceof Uint8Array || typeof v !== 'object' || v === null ? hex(v) : toJsonText(v, 0),
  ]);
}

async function printResult(r: EvidenceResult, wide: boolean): Promise<void> {
  const { renderEvidenceResult } = await import('../../verifier/verify/render_result.js');
  const width = wide ? undefined : terminalWidth();
  for (const l of renderEvidenceResult(r, width === undefined ? {} : { width }))
    process.stdout.write(`${l}\n`);
}

/** Registers `evidence show|verify` and returns the `evidence` command. */
export function registerEvidence(program: Command): Command {
  const evidence = program
    .command('evidence')
    .description('decode and verify attestation evidence offline');

  evidence
    .command('show')
    .description('decode evidence without verifying it')
    .argument('<file>', 'evidence: binary, hex or base64 text, a report envelope, or - for stdin')
    .addOption(kindOption())
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: ShowOptions) => {
        const { decodeEvidenceInput, showEvidence } = await verifier();
        const input = decodeEvidenceInput(readInput(file));
        const r = showEvidence(input.data, opts.kind ?? input.envelope?.kind);
        if (opts.json === true) printJson({ kind: r.kind, claims: r.claims, warnings: r.warnings });
        else
          printFields([
            ['kind', r.kind],
            ...r.warnings.map((w): [string, string] => ['warning', w]),
            ...claimLines(r.claims),
          ]);
        return 0;
      }),
    );

  evidence
    .command('verify')
    .description(
      'verify evidence offline: signatures, chains, revocation, validity at --at; TCB status beside',
    )
    .argument('<file>', 'evidence: binary, hex or base64 text, a report envelope, or - for stdin')
    .addOption(kindOption())
    .option(
      '--collateral <path>',
      'TDX: a directory of Intel PCS responses, or one QuoteCollateralV3 JSON',
    )
    .option('--no-collateral', 'alias of --relax collateral: revocation and TCB status are skipped')
    .option(
      '--relax <names>',
      'accept these required checks as skipped (comma-separated, repeatable): collateral, crl, nonce, unverified-anchor, missing-checkpoint',
      collect,
    )
    .option(
      '--cert <file>',
      'SNP: VCEK/VLEK (DER or PEM), ASK/ASVK/ARK PEM; TPM: an AK certificate (repeatable)',
      collect,
    )
    .option(
      '--trust-anchor <file>',
      'a root to trust instead of the built-in one (repeatable)',
      collect,
    )
    .option('--ak <file>', 'TPM: AK public (TPMT_PUBLIC, PEM or JWK)')
    .option('--signature <file>', 'TPM: TPMT_SIGNATURE')
    .option('--pcrs <file>', 'TPM: PCR values')
    .option(
      '--nonce <hex>',
      'the expected nonce (report data prefix, zero-padded; see docs/evidence.md)',
    )
    .option('--user-data <hex>', 'with --nonce: the user data given to `mrstack report`')
    .option('--at <iso-time>', 'verification time (default: now)')
    .option('--trust-emulated', 'accept an mrstack emulated root (the output says so)')
    .option(
      '--tvm-state <dir>',
      'with --trust-emulated: the emulated TVM whose PKI issues collateral (TCB info, CRLs, AK certificate) for --at (default: $MRSTACK_TVM_STATE, else the user state dir)',
    )
    .option(
      '--trusted-checkpoint <file|spec>',
      'bundles: a checkpoint trusted from an earlier attestation, N:<alg>/<hex>[,…] or a file holding it (docs/bundle.md)',
    )
    .option('--wide', 'full values (no truncation to the terminal width)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: VerifyOptions) => {
        const { decodeEvidenceInput, verifyEvidence } = await verifier();
        const input = decodeEvidenceInput(readInput(file));
        const env = input.envelope;
        const at = parseAt(opts.at);
        let collateralFiles: Map<string, Uint8Array> | undefined;
        if (typeof opts.collateral === 'string') collateralFiles = readCollateral(opts.collateral);
        else if (opts.collateral !== false && env?.collateral !== undefined) {
          collateralFiles = new Map([
            [
              'envelope-collateral.json',
              new Uint8Array(Buffer.from(JSON.stringify(env.collateral))),
            ],
          ]);
        }
        if (opts.userData !== undefined && opts.nonce === undefined) {
          throw new UsageError('ERR_USAGE', '--user-data needs --nonce');
        }
        const kind = opts.kind ?? env?.kind;
        // Emulated evidence: the TVM's PKI issues its collateral for the verification time, so
        // it runs the full path (TCB status, CRLs) as real evidence does.
        let emulatedCerts: readonly Uint8Array[] = [];
        let emulatedAnchors: readonly Uint8Array[] = [];
        if (opts.trustEmulated === true && typeof opts.collateral !== 'string') {
          const e = await emulatedCollateralFor(opts.tvmState, kind, at ?? new Date());
          if (e !== undefined) {
            if (opts.collateral !== false && e.files.size > 0) collateralFiles = new Map(e.files);
            emulatedCerts = e.certs;
            emulatedAnchors = e.anchors; // trusted by fingerprint (DESIGN §6.1)
          }
        }
        const certs = [...(opts.cert ?? []).map(readInput), ...emulatedCerts];
        const trustedCheckpoint =
          opts.trustedCheckpoint === undefined
            ? undefined
            : await trustedCheckpointOf(opts.trustedCheckpoint);
        const { parseRelaxations } = await import('../../verifier/verify/trust_policy.js');
        const relax = parseRelaxations([
          ...(opts.relax ?? []),
          ...(opts.collateral === false ? ['collateral'] : []),
        ]);
        const vopts: VerifyEvidenceOptions = {
          ...(relax.length === 0 ? {} : { relax }),
          ...(kind === undefined ? {} : { kind }),
          ...(at === undefined ? {} : { at }),
          ...(opts.nonce === undefined ? {} : { nonce: fromHex(opts.nonce, '--nonce') }),
          ...(opts.userData === undefined
            ? {}
            : { userData: fromHex(opts.userData, '--user-data') }),
          ...(opts.trustEmulated === true ? { trustEmulated: true } : {}),
          ...(emulatedAnchors.length === 0 ? {} : { emulatedAnchors }),
          ...(trustedCheckpoint === undefined ? {} : { trustedCheckpoint }),
          ...(opts.trustAnchor === undefined
            ? {}
            : { trustAnchors: opts.trustAnchor.map(readInput) }),
          ...(collateralFiles === undefined ? {} : { collateral: { files: collateralFiles } }),
          ...(certs.length === 0 ? {} : { certs }),
          ...(opts.ak === undefined ? {} : { ak: readInput(opts.ak) }),
          ...(opts.signature === undefined ? {} : { signature: readInput(opts.signature) }),
          ...(opts.pcrs === undefined ? {} : { pcrs: readInput(opts.pcrs) }),
          ...(env?.auxblob === undefined ? {} : { auxblob: env.auxblob }),
          ...(env?.parts === undefined ? {} : { parts: env.parts }),
        };
        const r = await verifyEvidence(input.data, vopts);
        if (opts.json === true) printJson(r);
        else await printResult(r, opts.wide === true);
        return r.verified ? 0 : 1;
      }),
    );
  return evidence;
}
