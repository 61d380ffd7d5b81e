/**
 * `mrstack emulate …`: the emulated TVM. `init` creates one; other subcommands (`mount`,
 * `unmount`) are added to the command {@link registerEmulate} returns.
 *
 * `emulate init --json` prints `{"state_dir","profile","created","hash_alg"?,
 * "startup_locality"?,"static":{"<name>":"<hex>"}}`.
 *
 * @module
 */
import { Option, type Command } from 'commander';
import { fromHex, toHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import { fromErrno, UsageError } from '../../errors.js';
import type { Profile } from '../../providers/provider.js';
import {
  encodeTvmConfig,
  initEmulatedTvm,
  readTvmConfig,
  resolveTvmStateDir,
  type EmulatedTcbStatus,
} from '../../providers/emulated/tvm_state.js';
import { action, printFields, printJson } from '../output.js';
import { readInput } from '../input_files.js';

interface InitCliOptions {
  readonly profile: Profile;
  readonly tvmState?: string;
  readonly hashAlg?: HashAlg;
  readonly startupLocality?: string;
  readonly tcbStatus?: EmulatedTcbStatus;
  readonly force?: boolean;
  readonly debug?: boolean;
  readonly svsm?: boolean;
  readonly svsmEk?: string;
  readonly json?: boolean;
  readonly [staticOption: string]: unknown;
}

/** Static-register options of `init`: option name → register name. */
const STATIC_OPTIONS: readonly (readonly [flag: string, key: string, mr: string, help: string])[] =
  [
    ['--mrtd <hex>', 'mrtd', 'mrtd', 'tdx: MRTD, 48 bytes (default: random)'],
    ['--mrconfigid <hex>', 'mrconfigid', 'mrconfigid', 'tdx: MRCONFIGID, 48 bytes (default: zero)'],
    ['--mrowner <hex>', 'mrowner', 'mrowner', 'tdx: MROWNER, 48 bytes (default: zero)'],
    [
      '--mrownerconfig <hex>',
      'mrownerconfig',
      'mrownerconfig',
      'tdx: MROWNERCONFIG, 48 bytes (default: zero)',
    ],
    [
      '--measurement <hex>',
      'measurement',
      'measurement',
      'snp: launch MEASUREMENT, 48 bytes (default: random)',
    ],
    ['--host-data <hex>', 'hostData', 'host_data', 'snp: HOST_DATA, 32 bytes (default: zero)'],
    [
      '--id-key-digest <hex>',
      'idKeyDigest',
      'id_key_digest',
      'snp: ID_KEY_DIGEST, 48 bytes (default: zero)',
    ],
    [
      '--author-key-digest <hex>',
      'authorKeyDigest',
      'author_key_digest',
      'snp: AUTHOR_KEY_DIGEST, 48 bytes (default: zero)',
    ],
    ['--rim <hex>', 'rim', 'rim', 'cca: RIM, the realm hash size (default: random)'],
  ];

/** Registers `mrstack emulate` and its `init` subcommand; returns the `emulate` command. */
export function registerEmulate(program: Command): Command {
  const emulate = program
    .command('emulate')
    .description(
      'the emulated TVM: a software TDX/SNP/CCA guest or TPM whose state lives in a directory',
    );

  const init = emulate
    .command('init')
    .description(
      'create an emulated TVM: its static registers, runtime registers at their reset values, an empty trace',
    )
    .addOption(
      new Option('--profile <profile>', 'the platform to emulate')
        .choices(['tdx', 'snp', 'cca', 'tpm'])
        .makeOptionMandatory(),
    )
    .option(
      '--tvm-state <dir>',
      'state directory (default: $MRSTACK_TVM_STATE, else $XDG_STATE_HOME/mrstack/tvm or ~/.local/state/mrstack/tvm)',
    );
  for (const [flag, , , help] of STATIC_OPTIONS) init.option(flag, help);
  init
    .addOption(
      new Option('--hash-alg <alg>', 'cca: the realm hash algorithm (default: sha256)').choices([
        'sha256',
        'sha512',
      ]),
    )
    .addOption(
      new Option(
        '--startup-locality <n>',
        'tpm: the TPM2_Startup locality; PCR0 starts at 00…0N (default: 0)',
      ).choices(['0', '3']),
    )
    .addOption(
      new Option(
        '--tcb-status <status>',
        'the TCB status the emulated PKI gives (default: UpToDate). tdx: the TCB info status; snp Revoked: ASK in the ARK CRL; tpm/cca Revoked: AK/CPAK certificate in its CA CRL; tpm/cca OutOfDate: an older signed firmware/RMM version',
      ).choices(['UpToDate', 'OutOfDate', 'Revoked']),
    )
    .option(
      '--debug',
      'a debuggable guest: tdx TD attribute DEBUG, snp guest policy DEBUG, cca lifecycle PSA RoT debug',
    )
    .option(
      '--svsm',
      'snp: the guest runs under an SVSM with a vTPM (configfs-tsm serves service_provider, service_guid, service_manifest_version and manifestblob)',
    )
    .option(
      '--svsm-ek <file>',
      "with --svsm: the EK public area (TPM2B_PUBLIC, as `tpm2_createek -u` writes it) of the TPM that stands for the SVSM's vTPM (a swtpm); the manifest lists it, so verifier registration by credential activation works with that TPM (default: an EK no TPM holds)",
    )
    .option(
      '--force',
      'replace an existing TVM in the state directory (its trace and keys are deleted)',
    )
    .option('--json', 'print JSON: {"state_dir","profile","created","static":{…}}')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  mrstack emulate init --profile tdx --tvm-state /tmp/tvm\n' +
        '  mrstack emulate init --profile tdx --mrconfigid $(openssl rand -hex 48)\n' +
        '  mrstack emulate init --profile cca --hash-alg sha512\n' +
        '  mrstack emulate init --profile tpm --startup-locality 3 --force\n',
    )
    .action(
      action(async (opts: InitCliOptions) => {
        const staticValues: Record<string, Uint8Array> = {};
        for (const [flag, key, mr] of STATIC_OPTIONS) {
          const v = opts[key];
          if (typeof v === 'string') staticValues[mr] = fromHex(v, flag.split(' ')[0]);
        }
        const stateDir = resolveTvmStateDir(opts.tvmState);
        let locality: number | undefined;
        if (opts.startupLocality !== undefined) {
          locality = Number(opts.startupLocality);
          if (!Number.isInteger(locality))
            throw new UsageError(
              'ERR_USAGE',
              `--startup-locality ${opts.startupLocality}: expected 0 or 3`,
            );
        }
        const cfg = await initEmulatedTvm({
          stateDir,
          profile: opts.profile,
          staticValues,
          ...(opts.hashAlg === undefined ? {} : { hashAlg: opts.hashAlg }),
          ...(locality === undefined ? {} : { startupLocality: locality }),
          ...(opts.tcbStatus === undefined ? {} : { tcbStatus: opts.tcbStatus }),
          ...(opts.force === true ? { force: true } : {}),
          ...(opts.debug === true ? { debug: true } : {}),
          ...(opts.svsm === true ? { svsm: true } : {}),
          ...(opts.svsmEk === undefined ? {} : { svsmVtpmEk: readInput(opts.svsmEk) }),
        });
        const enc = encodeTvmConfig(cfg);
        if (opts.json === true) {
          printJson({
            state_dir: stateDir,
            profile: cfg.profile,
            created: enc['created'],
            ...(cfg.hashAlg === undefined ? {} : { hash_alg: cfg.hashAlg }),
            ...(cfg.startupLocality === undefined ? {} : { startup_locality: cfg.startupLocality }),
            static: enc['static'],
          });
        } else {
          process.stdout.write(
            `created an emulated ${cfg.profile.toUpperCase()} TVM in ${stateDir}\n`,
          );
          printFields([
            ...(cfg.hashAlg === undefined ? [] : [['hash_alg', cfg.hashAlg] as const]),
            ...(cfg.startupLocality === undefined
              ? []
              : [['startup_locality', String(cfg.startupLocality)] as const]),
            ...[...cfg.staticValues].map(([k, v]) => [k, toHex(v)] as const),
          ]);
        }
        return 0;
      }),
    );

  emulate
    .command('export-roots')
    .description(
      "write the TVM's emulated root certificates as PEM, for --trust-anchor on another machine",
    )
    .option(
      '--tvm-state <dir>',
      'state directory (default: $MRSTACK_TVM_STATE, else the user state dir)',
    )
    .option('--out <dir>', 'write one <label>.pem per root here (default: print the PEM)')
    .option('--json', 'print JSON: {"state_dir","profile","roots":[{"label","sha256","file"?}]}')
    .action(
      action(async (opts: { tvmState?: string; out?: string; json?: boolean }) => {
        const { emulatedRoots } = await import('../../providers/emulated/emulated_roots.js');
        const { toPem } = await import('../../formats/x509/pem_encode.js');
        const { parseCertificate } = await import('../../verifier/verify/x509/certificate.js');
        const path = await import('node:path');
        const join = (...p: string[]): string => path.join(...p);
        const { mkdirSync } = await import('node:fs');
        const { writeText } = await import('../input_files.js');
        const stateDir = resolveTvmStateDir(opts.tvmState);
        const r = emulatedRoots(stateDir);
        const rows = r.roots.map((root) => {
          return {
            label: root.label,
            // The fingerprint a verifier pins: SHA-256 of the SubjectPublicKeyInfo.
            sha256: parseCertificate(root.der, root.label).spkiSha256,
            pem: toPem(root.der),
          };
        });
        if (opts.out !== undefined) {
          try {
            mkdirSync(opts.out, { recursive: true });
          } catch (e) {
            const { fromErrno } = await import('../../errors.js');
            throw fromErrno(e, opts.out);
          }
          for (const row of rows) writeText(join(opts.out, `${row.label}.pem`), row.pem);
        }
        if (opts.json === true)
          printJson({
            state_dir: stateDir,
            profile: r.profile,
            roots: rows.map((row) => ({
              label: row.label,
              sha256: row.sha256,
              ...(opts.out === undefined
                ? { pem: row.pem }
                : { file: join(opts.out, `${row.label}.pem`) }),
            })),
          });
        else if (opts.out === undefined) for (const row of rows) process.stdout.write(row.pem);
        else
          printFields(
            rows.map((row) => [join(opts.out!, `${row.label}.pem`), `spki-sha256:${row.sha256}`]),
          );
        return 0;
      }),
    );
  registerEmulateIma(emulate);
  return emulate;
}

/** `mrstack emulate ima measure`: IMA in TPM-bypass mode, measuring files into the TVM's list. */
function registerEmulateIma(emulate: Command): void {
  const ima = emulate
    .command('ima')
    .description(
      "the emulated TVM's IMA list (a kernel in TPM-bypass mode: it logs, extends nothing)",
    );
  ima
    .command('measure')
    .description(
      'append ima-ng entries for files (ima-sig with --sig) to the list, after a boot_aggregate of zeros',
    )
    .argument('<files...>', 'files to measure (logged under their real paths)')
    .option('--tvm-state <dir>', 'state directory (default as for emulate init)')
    .option('--sig <file>', 'a security.ima signature to log with each file (template ima-sig)')
    .option('--json', 'print JSON: {"entries","bytes","list"}')
    .action(
      action(async (files: string[], opts: { tvmState?: string; sig?: string; json?: boolean }) => {
        const fs = await import('node:fs');
        const path = await import('node:path');
        const ima = await import('../../providers/emulated/ima_list.js');
        const stateDir = resolveTvmStateDir(opts.tvmState);
        readTvmConfig(stateDir); // an existing TVM, or ERR_NOT_FOUND
        let sig: Uint8Array | undefined;
        if (opts.sig !== undefined) {
          try {
            sig = new Uint8Array(fs.readFileSync(opts.sig));
          } catch (e) {
            throw fromErrno(e, opts.sig);
          }
        }
        const r = ima.measureFiles(stateDir, files, sig);
        const list = path.join(stateDir, ima.TVM_IMA_LIST);
        if (opts.json === true) printJson({ entries: r.entries, bytes: r.bytes, list });
        else process.stdout.write(`measured ${r.entries} files into ${list}\n`);
        return 0;
      }),
    );
}
