// A child process for the concurrency and SIGKILL tests: opens the emulated TVM through the
// library and extends one register.
//   node extend_worker.js batch STATE MR FILE  — extends with every hex digest (one per line) of
//       FILE, all started at once; prints one JSON line per extend: {digest, old, new}.
//   node extend_worker.js loop STATE MR SIZE   — extends with random SIZE-byte digests forever,
//       printing "ready" after the first.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { parseMrSelector } from '../../../src/providers/provider.js';

const [mode, stateDir, mr, arg] = process.argv.slice(2);
const p = await openEmulatedProvider({ stateDir: stateDir! });
const sel = parseMrSelector(mr!);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

if (mode === 'batch') {
  const digests = readFileSync(arg!, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => new Uint8Array(Buffer.from(l, 'hex')));
  const results = await Promise.all(
    digests.map((digest) => p.extend(sel, { kind: 'digest', digest })),
  );
  const lines = results.map((r, i) =>
    JSON.stringify({ digest: hex(digests[i]!), old: hex(r[0]!.old), new: hex(r[0]!.new) }),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} else if (mode === 'loop') {
  const size = Number(arg);
  let first = true;
  for (;;) {
    await p.extend(sel, { kind: 'digest', digest: new Uint8Array(randomBytes(size)) });
    if (first) {
      process.stdout.write('ready\n');
      first = false;
    }
  }
} else {
  process.stderr.write(`extend_worker: unknown mode ${String(mode)}\n`);
  process.exitCode = 2;
}
