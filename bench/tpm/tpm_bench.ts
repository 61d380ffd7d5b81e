/**
 * bench/tpm: PCR_Extend, PCR_Read and Quote per second against one swtpm, three ways in the same
 * run:
 *   raw      pre-marshalled command bytes written to one TCP connection, responses framed by
 *            their size field and not parsed (the bound);
 *   mrstack  in process through mrstack (Tpm client: marshal, SwtpmTransport, decode), plus
 *            `provider.extend` (which reads before and after to report old/new values);
 *   tools    one tpm2-tools process per operation (tpm2_pcrextend / tpm2_pcrread / tpm2_quote).
 *
 * Usage: node dist/bench/tpm/tpm_bench.js [--seconds S] [--rounds R] [--tools N] [--json]
 * In-process rows are the best of R alternating rounds (the host may be shared).
 * Starts its own swtpm in a temporary directory and stops it at the end.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodePcrExtend } from '../../src/formats/tpm2/commands/pcr_extend.js';
import { encodePcrRead } from '../../src/formats/tpm2/commands/pcr_read.js';
import { encodeQuote } from '../../src/formats/tpm2/commands/quote.js';
import { TPM_ALG } from '../../src/formats/tpm2/constants.js';
import { createAk, loadAk } from '../../src/providers/tpm/identity.js';
import { startSwtpm } from '../../src/providers/tpm/swtpm_process.js';
import { SwtpmTransport } from '../../src/providers/tpm/swtpm_transport.js';
import { Tpm } from '../../src/providers/tpm/tpm.js';
import { TpmProvider } from '../../src/providers/tpm/tpm_provider.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = arg('--seconds', 2);
const TOOL_RUNS = arg('--tools', 40);
const ROUNDS = arg('--rounds', 3);
const JSON_OUT = args.includes('--json');

interface Row {
  readonly op: string;
  readonly way: string;
  readonly ops: number;
  readonly perSecond: number;
  readonly p50us: number;
}
const rows: Row[] = [];

async function measure(
  op: string,
  way: string,
  fn: () => unknown,
  maxOps = Infinity,
): Promise<void> {
  for (let i = 0; i < Math.min(20, maxOps); i++) await fn(); // warm-up
  const lat: number[] = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end && lat.length < maxOps) {
    const t = performance.now();
    await fn();
    lat.push(performance.now() - t);
  }
  const total = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const prev = rows.findIndex((r) => r.op === op && r.way === way);
  const perSecond = Math.round(lat.length / total);
  if (prev >= 0) {
    if (rows[prev]!.perSecond >= perSecond) return;
    rows.splice(prev, 1);
  }
  rows.push({
    op,
    way,
    ops: lat.length,
    perSecond,
    p50us: Math.round((lat[lat.length >> 1] ?? 0) * 1000),
  });
}

/** A bare socket client: write bytes, wait for one framed response. */
class RawClient {
  readonly #sock: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  constructor(sock: Socket) {
    this.#sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
  }
  static open(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  async call(cmd: Uint8Array): Promise<Buffer> {
    this.#sock.write(cmd);
    for (;;) {
      if (this.#buf.length >= 6) {
        const n = this.#buf.readUInt32BE(2);
        if (this.#buf.length >= n) {
          const r = this.#buf.subarray(0, n);
          this.#buf = this.#buf.subarray(n);
          if (r.readUInt32BE(6) !== 0) throw new Error(`rc 0x${r.readUInt32BE(6).toString(16)}`);
          return r;
        }
      }
      await new Promise<void>((res) => (this.#wake = res));
    }
  }
  close(): void {
    this.#sock.destroy();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'mrstack-bench-tpm-'));
const sw = await startSwtpm(join(dir, 'state'));
const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=${sw.host},port=${sw.port}` };
try {
  const digest = new Uint8Array(32).fill(7);
  const extendCmd = encodePcrExtend(16, [{ hashAlg: TPM_ALG.SHA256, digest }]);
  const readCmd = encodePcrRead([{ hashAlg: TPM_ALG.SHA256, pcrs: [16] }]);
  const quoteSel = [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 16] }];
  const nonce = new Uint8Array(32).fill(9);

  // --- mrstack in process and raw bytes, alternating rounds (best of ROUNDS: the host is shared) ---
  const tpm = new Tpm(new SwtpmTransport({ host: sw.host, port: sw.port }));
  const ak = await loadAk(tpm, await createAk(tpm, 'ecc', 'ecc'));
  const akHandle = ak.handle;
  const rawQuote = encodeQuote(akHandle, nonce, quoteSel);
  for (let round = 0; round < ROUNDS; round++) {
    await measure('PCR_Extend sha256', 'mrstack (Tpm.pcrExtend)', () =>
      tpm.pcrExtend(16, [{ hashAlg: TPM_ALG.SHA256, digest }]),
    );
    await measure('PCR_Read sha256:16', 'mrstack (Tpm.pcrRead)', () =>
      tpm.pcrRead([{ hashAlg: TPM_ALG.SHA256, pcrs: [16] }]),
    );
    await measure('Quote ECDSA P-256, 9 PCRs', 'mrstack (Tpm.quote)', () =>
      tpm.quote(akHandle, nonce, quoteSel),
    );
    await tpm.close(); // swtpm serves one connection at a time
    const raw = await RawClient.open(sw.host, sw.port);
    await measure('PCR_Extend sha256', 'raw bytes', () => raw.call(extendCmd));
    await measure('PCR_Read sha256:16', 'raw bytes', () => raw.call(readCmd));
    await measure('Quote ECDSA P-256, 9 PCRs', 'raw bytes', () => raw.call(rawQuote));
    raw.close();
  }

  // --- provider-level extend (old/new values: read, extend, read) and read ---
  const prov = new TpmProvider(new SwtpmTransport({ host: sw.host, port: sw.port }));
  await measure('PCR_Extend sha256', 'mrstack provider.extend (+2 reads)', () =>
    prov.extend({ name: 'pcr16', alg: 'sha256' }, { kind: 'digest', digest }),
  );
  await measure('PCR_Read sha256:16', 'mrstack provider.read', () =>
    prov.read({ name: 'pcr16', alg: 'sha256' }),
  );
  // Flush the AK through the same connection, then release it.
  await prov.tpm.flush(akHandle);
  await prov.close();

  // --- tpm2-tools, one process per operation ---
  const tool = (cmd: string, a: readonly string[]): void => {
    execFileSync(cmd, [...a], { env, cwd: dir, stdio: 'ignore' });
  };
  tool('tpm2_createprimary', ['-C', 'o', '-G', 'ecc', '-c', 'srk.ctx']);
  tool('tpm2_flushcontext', ['-t']);
  tool('tpm2_create', [
    '-C',
    'srk.ctx',
    '-G',
    'ecc:ecdsa-sha256:null',
    '-a',
    'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign',
    '-u',
    'ak.pub',
    '-r',
    'ak.priv',
  ]);
  tool('tpm2_flushcontext', ['-t']);
  tool('tpm2_load', ['-C', 'srk.ctx', '-u', 'ak.pub', '-r', 'ak.priv', '-c', 'ak.ctx']);
  tool('tpm2_evictcontrol', ['-C', 'o', '-c', 'ak.ctx', '0x81010010']);
  tool('tpm2_flushcontext', ['-t']);
  const hexDigest = Buffer.from(digest).toString('hex');
  await measure(
    'PCR_Extend sha256',
    'tpm2_pcrextend (process per op)',
    () => tool('tpm2_pcrextend', [`16:sha256=${hexDigest}`]),
    TOOL_RUNS,
  );
  await measure(
    'PCR_Read sha256:16',
    'tpm2_pcrread (process per op)',
    () => tool('tpm2_pcrread', ['sha256:16']),
    TOOL_RUNS,
  );
  await measure(
    'Quote ECDSA P-256, 9 PCRs',
    'tpm2_quote (process per op)',
    () =>
      tool('tpm2_quote', [
        '-c',
        '0x81010010',
        '-l',
        'sha256:0,1,2,3,4,5,6,7,16',
        '-q',
        Buffer.from(nonce).toString('hex'),
        '-m',
        'q.msg',
        '-s',
        'q.sig',
      ]),
    Math.max(10, TOOL_RUNS >> 1),
  );
  tool('tpm2_evictcontrol', ['-C', 'o', '-c', '0x81010010']);
} finally {
  await sw.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify({ seconds: SECONDS, rows }, null, 2)}\n`);
} else {
  const byOp = new Map<string, Row[]>();
  for (const r of rows) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);
  for (const [op, rs] of byOp) {
    const rawRate = rs.find((r) => r.way === 'raw bytes')?.perSecond ?? 0;
    process.stdout.write(`\n${op}\n`);
    for (const r of rs) {
      const ratio = rawRate > 0 ? (rawRate / r.perSecond).toFixed(2) : '-';
      process.stdout.write(
        `  ${r.way.padEnd(38)} ${String(r.perSecond).padStart(7)}/s  p50 ${String(r.p50us).padStart(7)} µs  (${r.ops} ops; raw/this ${ratio}×)\n`,
      );
    }
  }
}
