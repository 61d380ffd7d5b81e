/**
 * Starting Debian's swtpm for development and tests: `swtpm_setup` manufactures a TPM 2.0 state
 * (EK certificates from a private local CA, PCR banks) in a directory, and `swtpm socket`
 * serves it on loopback with the command port P and the control port P+1, as tpm2-tools' swtpm
 * TCTI expects.
 *
 * A started swtpm dies with the process that started it, however that process ends (SIGKILL
 * included): it runs under util-linux `setpriv --pdeathsig SIGTERM`, which sets the kernel's
 * parent-death signal (PR_SET_PDEATHSIG, kept across exec) before executing swtpm. swtpm itself
 * has no such option (`--terminate` ends it when a client disconnects, not when its parent
 * dies), and a control channel on an inherited fd, which would end it on hang-up, would take
 * away the TCP control port that tpm2-tools' swtpm TCTI needs.
 *
 * @module
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProviderError } from '../../errors.js';

const run = promisify(execFile);

/** Options for {@link setupSwtpmState}. */
export interface SwtpmSetupOptions {
  /** PCR banks to allocate (swtpm_setup `--pcr-banks`), default sha1,sha256,sha384. */
  readonly pcrBanks?: readonly string[];
}

/**
 * Manufactures a TPM 2.0 state in `stateDir` unless one is there: EK (RSA 2048 and ECC) with
 * certificates signed by a local CA kept in `stateDir/ca`, and a platform certificate.
 */
export async function setupSwtpmState(
  stateDir: string,
  opts: SwtpmSetupOptions = {},
): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  if (existsSync(join(stateDir, 'tpm2-00.permall'))) return;
  const ca = join(stateDir, 'ca');
  mkdirSync(ca, { recursive: true });
  const caConf = join(ca, 'swtpm-localca.conf');
  const caOpts = join(ca, 'swtpm-localca.options');
  const setupConf = join(ca, 'swtpm_setup.conf');
  writeFileSync(
    caConf,
    `statedir = ${ca}\nsigningkey = ${ca}/signkey.pem\nissuercert = ${ca}/issuercert.pem\ncertserial = ${ca}/certserial\n`,
  );
  writeFileSync(
    caOpts,
    '--platform-manufacturer mrstack\n--platform-version 2.1\n--platform-model swtpm\n',
  );
  writeFileSync(
    setupConf,
    `create_certs_tool = swtpm_localca\ncreate_certs_tool_config = ${caConf}\ncreate_certs_tool_options = ${caOpts}\n`,
  );
  const banks = (opts.pcrBanks ?? ['sha1', 'sha256', 'sha384']).join(',');
  try {
    await run('swtpm_setup', [
      '--tpm2',
      '--tpmstate',
      stateDir,
      '--create-ek-cert',
      '--create-platform-cert',
      '--config',
      setupConf,
      '--pcr-banks',
      banks,
      '--overwrite',
    ]);
  } catch (e) {
    throw new ProviderError('ERR_TPM_TRANSPORT', `swtpm_setup failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Two free consecutive loopback ports (P, P+1), found by binding port 0. */
export async function findFreePortPair(host = '127.0.0.1'): Promise<number> {
  const bind = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, host, () => {
        const a = s.address();
        const p = typeof a === 'object' && a !== null ? a.port : undefined;
        s.close(() => resolve(p));
      });
    });
  for (let i = 0; i < 50; i++) {
    const p = await bind(0);
    if (p === undefined || p >= 65535) continue;
    if ((await bind(p + 1)) !== undefined) return p;
  }
  throw new ProviderError('ERR_TPM_TRANSPORT', 'no free pair of loopback ports');
}

let pdeathsig: boolean | undefined;

/** True when `setpriv --pdeathsig` is there (util-linux ≥ 2.33; Debian's is essential). */
function setprivHasPdeathsig(): boolean {
  pdeathsig ??= (() => {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.includes('--pdeathsig');
  })();
  return pdeathsig;
}

/** A running swtpm. */
export interface SwtpmInstance {
  readonly host: string;
  /** Command port; the control port is `port + 1`. */
  readonly port: number;
  readonly ctrlPort: number;
  readonly stateDir: string;
  readonly pid: number | undefined;
  /**
   * True when the kernel ends swtpm if this process dies without stopping it (SIGKILL, a
   * crash); false where `setpriv --pdeathsig` is missing.
   */
  readonly diesWithParent: boolean;
  /** Stops swtpm (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options for {@link startSwtpm}. */
export interface StartSwtpmOptions extends SwtpmSetupOptions {
  readonly host?: string;
  /** Command port (default: a free pair is found). */
  readonly port?: number;
}

async function waitForPort(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new ProviderError('ERR_TPM_TRANSPORT', `swtpm exited with ${child.exitCode}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new ProviderError('ERR_TIMEOUT', `swtpm did not listen on ${host}:${port}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Manufactures the state if needed and starts `swtpm socket --tpm2` on loopback with
 * `--flags not-need-init,startup-clear` (ready for commands at once).
 */
export async function startSwtpm(
  stateDir: string,
  opts: StartSwtpmOptions = {},
): Promise<SwtpmInstance> {
  await setupSwtpmState(stateDir, opts);
  const host = opts.host ?? '127.0.0.1';
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await findFreePortPair(host));
    const diesWithParent = setprivHasPdeathsig();
    // setpriv execs swtpm in place: the child's pid is swtpm's.
    const [cmd, prefix] = diesWithParent
      ? ['setpriv', ['--pdeathsig', 'SIGTERM', '--', 'swtpm']]
      : ['swtpm', []];
    const child = spawn(
      cmd,
      [
        ...prefix,
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${stateDir}`,
        '--server',
        `type=tcp,port=${port},bindaddr=${host}`,
        '--ctrl',
        `type=tcp,port=${port + 1},bindaddr=${host}`,
        '--flags',
        'not-need-init,startup-clear',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      await waitForPort(host, port, child);
    } catch (e) {
      child.kill('SIGKILL');
      if (attempt < 3 && opts.port === undefined) continue; // the port was taken meanwhile
      throw new ProviderError('ERR_TPM_TRANSPORT', `swtpm did not start: ${stderr.trim()}`, {
        cause: e,
      });
    }
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    return {
      host,
      port,
      ctrlPort: port + 1,
      stateDir,
      pid: child.pid,
      diesWithParent,
      async stop(): Promise<void> {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 2000);
          await exited;
          clearTimeout(t);
        }
      },
    };
  }
}
