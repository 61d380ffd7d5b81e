/**
 * One timed mrstack replay in its own process (so its peak RSS is its own), printed as JSON:
 *
 *   node dist/bench/eventlog/replay_one.js ima-parallel FILE sha1,sha256
 *   node dist/bench/eventlog/replay_one.js ima-serial FILE sha1,sha256
 *   node dist/bench/eventlog/replay_one.js log FILE          (any format, through the registry)
 *
 * @module
 */
import { openSync, readSync, closeSync } from 'node:fs';
import type { HashAlg } from '../../src/crypto/hash_alg.js';
import { toHex } from '../../src/bytes/hex.js';
import { ImaBinaryReader } from '../../src/formats/ima/ima_binary.js';
import { ImaReplay } from '../../src/formats/ima/ima_replay.js';
import { detectLogFormat } from '../../src/eventlog/registry.js';
import { Replay } from '../../src/eventlog/replay.js';
import { openLogFile } from '../../src/eventlog/log_source.js';
import { replayImaFileParallel } from './ima_parallel.js';

async function main(): Promise<void> {
  const [mode, file, banksArg] = process.argv.slice(2);
  if (mode === undefined || file === undefined)
    throw new Error('usage: replay_one MODE FILE [BANKS]');
  const banks = (banksArg ?? 'sha1,sha256').split(',') as HashAlg[];
  const t0 = process.hrtime.bigint();
  let result: unknown;
  if (mode === 'ima-parallel') {
    result = await replayImaFileParallel(file, banks);
  } else if (mode === 'ima-serial') {
    const rd = new ImaBinaryReader({ bank: 'sha1' });
    const rp = new ImaReplay({ logBank: 'sha1', banks });
    const fd = openSync(file, 'r');
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      for (const e of rd.push(buf.subarray(0, n))) rp.add(e);
    }
    closeSync(fd);
    rd.end();
    const r = rp.result();
    result = {
      entries: r.events,
      pcrs: r.registers,
      templateHashMismatches: r.templateHashMismatches.length,
    };
  } else if (mode === 'log') {
    const head = new Uint8Array(64 * 1024);
    const fd = openSync(file, 'r');
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const fmt = detectLogFormat(head.subarray(0, n));
    const rp = new Replay();
    // As `mrstack log replay` reads a file: openLogFile's chunks, the format's batches.
    const log = await openLogFile(file, { format: fmt.id });
    for await (const batch of log.batches) for (const e of batch) rp.add(e);
    const r = rp.result();
    const pcrs: Record<string, Record<string, string>> = {};
    for (const [reg, b] of r.registers)
      pcrs[reg] = Object.fromEntries([...b].map(([a, v]) => [a, toHex(v)]));
    result = { format: fmt.id, entries: r.events, pcrs };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ mode, banks, seconds, maxRssMB, result })}\n`);
}

await main();
