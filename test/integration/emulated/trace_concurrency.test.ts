// The trace under concurrent writers and under SIGKILL (DESIGN §2): 4 processes × 250 concurrent
// extends of rtmr2 leave all 1000 digests in the trace and a value equal to an independent
// replay; a writer killed at random instants never leaves a partial or corrupt record.
// The trace is parsed here from the documented layout, independently of the library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { runCliJson } from '../../_support/cli.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'extend_worker.js');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Rec {
  offset: number;
  register: number;
  algId: number;
  data: Buffer;
}

/** Parses trace.bin by the documented table, checking every record's SHA-256 checksum. */
function parseTrace(path: string): Rec[] {
  const buf = readFileSync(path);
  assert.equal(buf.length % 128, 0, `trace length ${buf.length} is a whole number of records`);
  const out: Rec[] = [];
  for (let o = 0; o < buf.length; o += 128) {
    const r = buf.subarray(o, o + 128);
    assert.equal(r.subarray(0, 4).toString('latin1'), 'MRTR', `magic at ${o}`);
    assert.equal(r[4], 1, `version at ${o}`);
    const check = createHash('sha256').update(r.subarray(0, 0x60)).digest();
    assert.ok(check.equals(r.subarray(0x60)), `checksum of the record at ${o}`);
    const len = r[7]!;
    out.push({
      offset: o,
      register: r[6]!,
      algId: r.readUInt16LE(8),
      data: Buffer.from(r.subarray(0x20, 0x20 + len)),
    });
  }
  return out;
}

function replay384(digests: readonly Uint8Array[]): Buffer {
  let v = Buffer.alloc(48);
  for (const d of digests) v = createHash('sha384').update(v).update(d).digest();
  return v;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('4 processes x 250 concurrent extends: all 1000 digests in the trace, value = replay', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: state, profile: 'tdx' });
  const sent: Uint8Array[][] = [0, 1, 2, 3].map(() =>
    Array.from({ length: 250 }, () => new Uint8Array(randomBytes(48))),
  );
  const files = sent.map((ds, i) => {
    const f = join(dir, `digests${i}.txt`);
    writeFileSync(f, `${ds.map(hex).join('\n')}\n`);
    return f;
  });
  const children = files.map((f) =>
    spawn(process.execPath, [WORKER, 'batch', state, 'rtmr2', f], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  t.after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  const results = await Promise.all(children.map(run));
  for (const r of results) assert.equal(r.code, 0, r.stderr);

  const recs = parseTrace(join(state, 'trace.bin'));
  assert.equal(recs.length, 1000);
  for (const r of recs) {
    assert.equal(r.register, 2);
    assert.equal(r.algId, 0x000c);
  }
  // Every digest the test sent is in the trace exactly once (and nothing else is).
  const byHex = new Map<string, Uint8Array>();
  for (const d of sent.flat()) byHex.set(hex(d), d);
  assert.equal(byHex.size, 1000);
  const traceHex = recs.map((r) => r.data.toString('hex'));
  assert.deepEqual([...traceHex].sort(), [...byHex.keys()].sort());

  // Independent replay in trace order over the test's own digests.
  const ordered = traceHex.map((h) => byHex.get(h)!);
  const final = replay384(ordered);
  const { json } = await runCliJson(['mr', 'read', 'rtmr2', '--tvm-state', state, '--json']);
  assert.equal((json as { value: string }).value, final.toString('hex'));

  // Each writer's old/new is the replay just before and after its own record.
  const running = new Map<string, { old: string; new: string }>();
  let v = Buffer.alloc(48);
  for (const d of ordered) {
    const n = createHash('sha384').update(v).update(d).digest();
    running.set(hex(d), { old: v.toString('hex'), new: n.toString('hex') });
    v = n;
  }
  const lines = results.flatMap((r) => r.stdout.trim().split('\n'));
  assert.equal(lines.length, 1000);
  for (const l of lines) {
    const o = JSON.parse(l) as { digest: string; old: string; new: string };
    assert.deepEqual({ old: o.old, new: o.new }, running.get(o.digest));
  }
});

test('SIGKILL mid-extend leaves a trace of whole records that still reads', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: state, profile: 'cca', hashAlg: 'sha512' });
  const kills = 6;
  let prev = 0;
  for (let k = 0; k < kills; k++) {
    const child = spawn(process.execPath, [WORKER, 'loop', state, 'rem1', String(1 + k * 12)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const done = run(child);
    const ready = await Promise.race([
      new Promise<true>((resolve) => child.stdout.once('data', () => resolve(true))),
      done,
    ]);
    assert.equal(ready, true, `the worker ended before extending: ${JSON.stringify(ready)}`);
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 150)));
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.code, null);

    // Every record is whole and checks out; the library reads the same value as a replay here.
    const recs = parseTrace(join(state, 'trace.bin'));
    assert.ok(recs.length > prev, `the worker appended records (${recs.length})`);
    prev = recs.length;
    let v = Buffer.alloc(64);
    for (const rec of recs) {
      assert.equal(rec.register, 1);
      assert.equal(rec.algId, 0x000d);
      v = createHash('sha512').update(v).update(rec.data).digest();
    }
    const p = await openEmulatedProvider({ stateDir: state });
    const [val] = await p.read({ name: 'rem1' });
    assert.equal(hex(val!.value), v.toString('hex'));
    await p.close();
  }
});
