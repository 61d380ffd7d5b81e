// The emulated provider in-process, against openssl: every extendable register of every profile
// in each of its banks, event-data extends, old/new results, and the snapshot cache (used only
// when the trace still agrees with it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { ParseError, ProviderError } from '../../../src/errors.js';
import { opensslDigest } from '../../_support/peers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => new Uint8Array(Buffer.concat([a, b]));
// node:crypto for the long snapshot chains (openssl per step would be slow); openssl elsewhere.
const sha384 = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha384').update(b).digest());
const SIZES: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

function tempState(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-emu-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'tvm');
}

test('tpm: every extendable PCR in every bank, digest extends checked with openssl', async (t) => {
  const stateDir = tempState(t);
  await initEmulatedTvm({ stateDir, profile: 'tpm', startupLocality: 3 });
  const p = await openEmulatedProvider({ stateDir });
  const infos = await p.describe();
  const banks = infos.filter((m) => m.extendable);
  assert.equal(banks.length, 18 * 3);
  for (const m of banks) {
    const alg = m.alg!;
    const pcr = Number(m.name.slice(3));
    const reset = new Uint8Array(SIZES[alg]!);
    if (pcr === 0) reset[reset.length - 1] = 3;
    const d = new Uint8Array(randomBytes(SIZES[alg]!));
    const [r] = await p.extend({ name: m.name, alg }, { kind: 'digest', digest: d });
    assert.equal(hex(r!.old), hex(reset), `${m.name}:${alg} old`);
    const want = opensslDigest(alg, cat(reset, d));
    assert.equal(hex(r!.new), hex(want), `${m.name}:${alg} new`);
    // A second provider object (another process's view) reads the same value from the trace.
    const q = await openEmulatedProvider({ stateDir });
    const [v] = await q.read({ name: m.name, alg });
    assert.equal(hex(v!.value), hex(want));
  }
});

test('tdx and cca: event data is hashed in the register algorithm, then extended', async (t) => {
  for (const [profile, mr, alg] of [
    ['tdx', 'rtmr3', 'sha384'],
    ['cca', 'rem2', 'sha512'],
  ] as const) {
    const stateDir = tempState(t);
    await initEmulatedTvm({
      stateDir,
      profile,
      ...(profile === 'cca' ? { hashAlg: 'sha512' } : {}),
    });
    const p = await openEmulatedProvider({ stateDir });
    const data = new TextEncoder().encode('an application event');
    const [r] = await p.extend({ name: mr }, { kind: 'event', data });
    const want = opensslDigest(alg, cat(new Uint8Array(SIZES[alg]!), opensslDigest(alg, data)));
    assert.equal(hex(r!.new), hex(want), profile);
  }
});

test('extend errors are typed and leave the trace unchanged', async (t) => {
  const stateDir = tempState(t);
  await initEmulatedTvm({ stateDir, profile: 'tdx' });
  const p = await openEmulatedProvider({ stateDir });
  const codes: [string, () => Promise<unknown>][] = [
    [
      'ERR_DIGEST_SIZE',
      () => p.extend({ name: 'rtmr0' }, { kind: 'digest', digest: new Uint8Array(47) }),
    ],
    [
      'ERR_NOT_EXTENDABLE',
      () => p.extend({ name: 'mrtd' }, { kind: 'digest', digest: new Uint8Array(48) }),
    ],
    [
      'ERR_UNKNOWN_MR',
      () => p.extend({ name: 'rtmr5' }, { kind: 'digest', digest: new Uint8Array(48) }),
    ],
    ['ERR_UNKNOWN_MR', () => p.read({ name: 'rtmr0', alg: 'sha256' })],
  ];
  for (const [code, fn] of codes) {
    await assert.rejects(fn, (e: unknown) => e instanceof ProviderError && e.code === code, code);
  }
  assert.equal(readFileSync(join(stateDir, 'trace.bin')).length, 0);
});

test('snapshots speed up replay and are ignored once the trace no longer agrees', async (t) => {
  const stateDir = tempState(t);
  await initEmulatedTvm({ stateDir, profile: 'tdx' });
  const p = await openEmulatedProvider({ stateDir, snapshotEvery: 16 });
  let want: Uint8Array = new Uint8Array(48);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const d = new Uint8Array(randomBytes(48));
    sent.push(d);
    await p.extend({ name: 'rtmr1' }, { kind: 'digest', digest: d });
    want = sha384(cat(want, d));
  }
  const snap = join(stateDir, 'snapshot.json');
  assert.ok(existsSync(snap), 'a snapshot was written');
  const s = JSON.parse(readFileSync(snap, 'utf8')) as {
    offset: number;
    values: Record<string, string>;
  };
  assert.equal(s.offset, 32 * 128);
  // The snapshot's value is the replay of its prefix of the trace.
  let prefix: Uint8Array = new Uint8Array(48);
  for (const d of sent.slice(0, 32)) prefix = sha384(cat(prefix, d));
  assert.equal(s.values['rtmr1:sha384'], hex(prefix));
  const [v] = await (await openEmulatedProvider({ stateDir })).read({ name: 'rtmr1' });
  assert.equal(hex(v!.value), hex(want));

  // Cut the trace to 20 records: the snapshot (at 32) no longer matches and is not used.
  truncateSync(join(stateDir, 'trace.bin'), 20 * 128);
  let cut: Uint8Array = new Uint8Array(48);
  for (const d of sent.slice(0, 20)) cut = sha384(cat(cut, d));
  const [w] = await (await openEmulatedProvider({ stateDir })).read({ name: 'rtmr1' });
  assert.equal(hex(w!.value), hex(cut));

  // A snapshot that points at a record with another nonce is ignored too.
  const bad = { ...s, offset: 16 * 128 };
  writeFileSync(snap, JSON.stringify(bad));
  const [x] = await (await openEmulatedProvider({ stateDir })).read({ name: 'rtmr1' });
  assert.equal(hex(x!.value), hex(cut));
});

test('a record of another profile in the trace is ERR_TRACE_CORRUPT', async (t) => {
  const stateDir = tempState(t);
  await initEmulatedTvm({ stateDir, profile: 'cca' });
  const other = tempState(t);
  await initEmulatedTvm({ stateDir: other, profile: 'tdx' });
  const q = await openEmulatedProvider({ stateDir: other });
  await q.extend({ name: 'rtmr0' }, { kind: 'digest', digest: new Uint8Array(48) });
  writeFileSync(join(stateDir, 'trace.bin'), readFileSync(join(other, 'trace.bin')));
  const p = await openEmulatedProvider({ stateDir });
  await assert.rejects(p.read({ name: 'rem0' }), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, 'ERR_TRACE_CORRUPT');
    assert.equal(e.offset, 5);
    assert.match(e.field, /record\[0\]\.profile$/);
    return true;
  });
});
