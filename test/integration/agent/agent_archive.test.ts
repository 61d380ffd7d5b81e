// Archived segments and what a verifier anchors on (issue 8):
// - with compressArchives, a checkpoint leaves the closed segment as gzip (checked with node:zlib),
//   CHECKPOINT prev= still hashes the uncompressed bytes, recovery, `log replay` of a .gz segment
//   and evidence from an earlier checkpoint read it transparently, and a bundle served from a
//   checkpoint the verifier trusts anchors as `trusted-checkpoint`;
// - a bundle carrying a CCEL (a real capture) whose RTMR2 replay was the emulated register's
//   starting state anchors as `firmware-log`; a CCEL that does not match fails; a CCEL with no
//   events for the agent's register leaves it anchored at its reset value, reported as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from '../../../src/agent/agent.js';
import { bundleToJson, type EvidenceBundle } from '../../../src/formats/bundle/bundle.js';
import { verifyEvidence } from '../../../src/verifier/verify/evidence.js';
import { openLogFile } from '../../../src/eventlog/log_source.js';
import { replay } from '../../../src/eventlog/replay.js';
import { ccelFormat } from '../../../src/eventlog/ccel_format.js';
import { bytesInput } from '../../../src/formats/stream/framer.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { fixture } from '../../_support/paths.js';
import { agentFixture } from '../../_support/agent_harness.js';
import { emulatedRootsOf } from '../../_support/emulated_trust.js';
import { emulatedCollateral } from '../../../src/providers/emulated/collateral.js';
import { readRtmr3, replayLines } from './agent_support.js';

const Z = Buffer.alloc(48);
const sha384 = (b: Uint8Array | string): Buffer => createHash('sha384').update(b).digest();
const linesOf = (b: Buffer): string[] => {
  const parts = b.toString('utf8').split('\n');
  assert.equal(parts.pop(), '');
  return parts;
};

const setup = agentFixture;

const verifyBundle = (tvm: string, b: EvidenceBundle, nonce: Uint8Array, extra: object = {}) =>
  verifyEvidence(Buffer.from(JSON.stringify(bundleToJson(b))), {
    nonce,
    emulatedAnchors: emulatedRootsOf(tvm),
    // The TVM's PKI issues the TDX collateral for now: the full path, nothing relaxed.
    collateral: { files: emulatedCollateral(tvm, { at: new Date() }).files },
    ...extra,
  });

type Layers = Record<string, Record<string, unknown>>;
const layers = (r: { claims: Record<string, unknown> }): Layers => r.claims['layers'] as Layers;

test('compressed archives: checkpoint gzips the closed segment; readers and verification see through it', async (t) => {
  const { tvm, provider, logDir } = await setup(t, 'archive-gz');
  const phys = join(logDir, 'physical');
  const open = () =>
    Agent.open({
      provider,
      register: 'rtmr3',
      logDir,
      bootId: 'boot-1',
      tenants: [{ name: 'alice', vmr: 'alice' }],
      compressArchives: true,
    });
  let agent = await open();
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'one' });
  const seg0 = fs.readFileSync(join(phys, 'rtmr3.000000.mrlog'));
  assert.equal((await agent.checkpoint()).seq, 1);
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'two' });
  assert.equal((await agent.checkpoint()).seq, 2);
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'three' });
  await agent.close();

  // segments 0 and 1 are gzip files (magic 1f 8b) holding the exact bytes; 2 is plain
  const names = fs.readdirSync(phys).sort();
  assert.deepEqual(names, ['rtmr3.000000.mrlog.gz', 'rtmr3.000001.mrlog.gz', 'rtmr3.000002.mrlog']);
  const gz0 = fs.readFileSync(join(phys, names[0]!));
  assert.deepEqual([...gz0.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(gunzipSync(gz0), seg0);
  const seg1 = gunzipSync(fs.readFileSync(join(phys, names[1]!)));
  const seg2 = fs.readFileSync(join(phys, names[2]!));
  // CHECKPOINT prev= hashes the uncompressed previous segment
  assert.equal(linesOf(seg1)[0], `CHECKPOINT 1 prev=sha384/${sha384(seg0).toString('hex')}`);
  assert.equal(linesOf(seg2)[0], `CHECKPOINT 2 prev=sha384/${sha384(seg1).toString('hex')}`);
  // the whole chain replays (independently) to the emulated register
  const all = [...linesOf(seg0), ...linesOf(seg1), ...linesOf(seg2)];
  assert.equal(replayLines(Z, all).toString('hex'), (await readRtmr3(tvm)).toString('hex'));

  // `log replay` of a .gz segment: read transparently, same value as the independent replay
  const r = await replay((await openLogFile(join(phys, names[0]!))).events);
  assert.equal(
    Buffer.from(r.registers.get('rtmr3')!.get('sha384')!).toString('hex'),
    replayLines(Z, linesOf(seg0)).toString('hex'),
  );

  // recovery reads the compressed chain; a bundle from checkpoint 0 and 1 still verifies
  agent = await open();
  t.after(() => agent.close());
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'four' });
  const n0 = Buffer.from('00aa', 'hex');
  const b0 = await agent.evidence('alice', n0, undefined, 0);
  assert.equal(b0.physicalLog.lines.length, all.length + 1);
  const v0 = await verifyBundle(tvm, b0, n0);
  assert.equal(v0.verified, true, JSON.stringify(v0.errors));
  assert.equal(layers(v0)['physical']!['anchor'], 'reset');
  // the verification names each checkpoint with the value just before it (independently computed)
  const cpAt = all.findIndex((l) => l.startsWith('CHECKPOINT 1 '));
  const before1 = replayLines(Z, all.slice(0, cpAt)).toString('hex');
  const seen = layers(v0)['physical']!['checkpoints'] as { seq: number; spec: string }[];
  assert.deepEqual(
    seen.map((c) => c.spec),
    [
      `1:sha384/${before1}`,
      `2:sha384/${replayLines(
        Z,
        all.slice(
          0,
          all.findIndex((l) => l.startsWith('CHECKPOINT 2 ')),
        ),
      ).toString('hex')}`,
    ],
  );

  const n1 = Buffer.from('00bb', 'hex');
  const b1 = await agent.evidence('alice', n1, undefined, 1);
  assert.equal(b1.physicalLog.lines[0], linesOf(seg1)[0]);
  // without a trusted checkpoint the log is only self-consistent: not verified unless the
  // caller relaxes `missing-checkpoint` by name
  const strict = await verifyBundle(tvm, b1, n1);
  assert.equal(strict.verified, false);
  assert.equal(strict.checks['physical_anchor'], 'skipped');
  assert.deepEqual(
    strict.errors.map((e) => [e['check'], e.code, e['relax']]),
    [['physical_anchor', 'ERR_CHECK_SKIPPED', 'missing-checkpoint']],
  );
  const loose = await verifyBundle(tvm, b1, n1, { relax: ['missing-checkpoint'] });
  assert.equal(loose.verified, true, JSON.stringify(loose.errors));
  assert.deepEqual(loose.relaxed, ['missing-checkpoint']);
  assert.equal(layers(loose)['physical']!['anchor'], 'unverified');
  // with the checkpoint the verifier trusts: anchored, and only what follows it is replayed
  const trusted = await verifyBundle(tvm, b1, n1, {
    trustedCheckpoint: { seq: 1, values: new Map([['sha384', Buffer.from(before1, 'hex')]]) },
  });
  assert.equal(trusted.verified, true, JSON.stringify(trusted.errors));
  assert.equal(layers(trusted)['physical']!['anchor'], 'trusted-checkpoint');
  assert.equal(layers(trusted)['physical']!['records'], b1.physicalLog.lines.length);
  // a wrong trusted value is refused
  const wrong = await verifyBundle(tvm, b1, n1, {
    trustedCheckpoint: { seq: 1, values: new Map([['sha384', sha384('not it')]]) },
  });
  assert.equal(wrong.verified, false);
  assert.deepEqual(
    wrong.errors.map((e) => e.code),
    ['ERR_REPLAY_MISMATCH'],
  );
  await agent.close();

  // a new boot archives the logs, compressed (in the background)
  const agent3 = await Agent.open({
    provider,
    register: 'rtmr3',
    logDir,
    bootId: 'boot-2',
    tenants: [{ name: 'alice', vmr: 'alice' }],
    compressArchives: true,
  });
  await agent3.close();
  const [arch] = fs.readdirSync(join(logDir, 'archive'));
  const archPhys = join(logDir, 'archive', arch!, 'physical');
  // a generous deadline: the background gzip runs at this machine's speed (5 s was tight)
  const deadline = Date.now() + 120_000;
  while (fs.readdirSync(archPhys).some((n) => n.endsWith('.mrlog')) && Date.now() < deadline)
    await sleep(50);
  assert.deepEqual(fs.readdirSync(archPhys).sort(), [
    'rtmr3.000000.mrlog.gz',
    'rtmr3.000001.mrlog.gz',
    'rtmr3.000002.mrlog.gz',
  ]);
  assert.deepEqual(gunzipSync(fs.readFileSync(join(archPhys, 'rtmr3.000000.mrlog.gz'))), seg0);
});

const CCEL = 'gcp-cos113-tdx.ccel.bin';
/** RTMR2 after the capture, as its PROVENANCE (expected.json) asserts. */
const CCEL_RTMR2 =
  '4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1';

test('firmware log: a CCEL whose RTMR2 replay is the starting state anchors as firmware-log; a foreign CCEL fails', async (t) => {
  const { tvm, provider, logDir } = await setup(t, 'archive-fw');
  const ccel = new Uint8Array(fs.readFileSync(fixture('eventlogs', 'ccel', CCEL)));
  // play the firmware: extend the emulated RTMR2 with the capture's RTMR2 digests
  let fwEvents = 0;
  for await (const e of ccelFormat.parse(bytesInput(ccel))) {
    if (e.register === 'rtmr2' && e.extend) {
      fwEvents++;
      await provider.extend(
        { name: 'rtmr2' },
        { kind: 'digest', digest: e.digests.get('sha384')! },
      );
    }
  }
  const p2 = await openEmulatedProvider({ stateDir: tvm });
  const [rtmr2] = await p2.read({ name: 'rtmr2' });
  await p2.close();
  assert.equal(Buffer.from(rtmr2!.value).toString('hex'), CCEL_RTMR2);

  const agent = await Agent.open({
    provider,
    register: 'rtmr2',
    logDir,
    bootId: 'b',
    tenants: [{ name: 'alice', vmr: 'alice' }],
    firmwareLog: () => Promise.resolve({ format: 'ccel', data: ccel }),
  });
  t.after(() => agent.close());
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'fw' });
  const nonce = Buffer.from('0fa1', 'hex');
  const b = await agent.evidence('alice', nonce);
  // the agent's first SYNC states the firmware replay extended by its BOOT line
  assert.equal(
    b.physicalLog.lines[1],
    `SYNC sha384/${replayLines(Buffer.from(CCEL_RTMR2, 'hex'), [b.physicalLog.lines[0]!]).toString('hex')}`,
  );
  const ok = await verifyBundle(tvm, b, nonce);
  assert.equal(ok.verified, true, JSON.stringify(ok.errors));
  const phys = layers(ok)['physical']!;
  assert.equal(phys['anchor'], 'firmware-log');
  assert.deepEqual(phys['firmwareLog'], { format: 'ccel', events: fwEvents, use: 'anchor' });

  // the same log with one RTMR2 digest byte changed, verified right after the good one (the
  // verifier remembers replays by the log's content digest: a changed byte must replay anew)
  let firstRtmr2: Uint8Array | undefined;
  for await (const e of ccelFormat.parse(bytesInput(ccel))) {
    if (e.register === 'rtmr2' && e.extend) {
      firstRtmr2 = e.digests.get('sha384');
      break;
    }
  }
  const at = Buffer.from(ccel).indexOf(Buffer.from(firstRtmr2!));
  assert.ok(at > 0);
  const flipped = ccel.slice();
  flipped[at + 7]! ^= 0x01;
  const again = await verifyBundle(tvm, b, nonce);
  assert.equal(again.verified, true, JSON.stringify(again.errors));
  const tampered = await verifyBundle(
    tvm,
    { ...b, firmwareLog: { format: 'ccel', data: flipped } },
    nonce,
  );
  assert.equal(tampered.verified, false);
  assert.deepEqual(
    tampered.errors.map((e) => e.code),
    ['ERR_REPLAY_MISMATCH'],
  );

  // a firmware log of another machine: its RTMR2 is not what the agent found
  const foreign = {
    ...b,
    firmwareLog: {
      format: 'ccel',
      data: new Uint8Array(
        fs.readFileSync(fixture('eventlogs', 'ccel', 'gke-tdx-grub-sp800-155.ccel.bin')),
      ),
    },
  };
  const bad = await verifyBundle(tvm, foreign, nonce);
  assert.equal(bad.verified, false);
  assert.deepEqual(
    bad.errors.map((e) => e.code),
    ['ERR_REPLAY_MISMATCH'],
  );
  assert.equal(layers(bad)['physical']!['anchor'], 'unverified');
  // without the firmware log, RTMR2 (moved by firmware) cannot be anchored at reset
  const none = await verifyBundle(tvm, { ...b, firmwareLog: undefined }, nonce);
  assert.equal(none.verified, false);
  assert.ok(
    none.errors.some((e) => e.code === 'ERR_LOG_GAP'),
    JSON.stringify(none.errors),
  );
});

test('firmware log without events for the register: reset anchoring, reported as such', async (t) => {
  const { tvm, provider, logDir } = await setup(t, 'archive-fw3');
  const ccel = new Uint8Array(fs.readFileSync(fixture('eventlogs', 'ccel', CCEL)));
  const agent = await Agent.open({
    provider,
    register: 'rtmr3',
    logDir,
    bootId: 'b',
    tenants: [{ name: 'alice', vmr: 'alice' }],
    firmwareLog: () => Promise.resolve({ format: 'ccel', data: ccel }),
  });
  t.after(() => agent.close());
  await agent.append('alice', { domain: 'a.example', operation: 'op', content: 'x' });
  const nonce = Buffer.from('0fa2', 'hex');
  const b = await agent.evidence('alice', nonce);
  const r = await verifyBundle(tvm, b, nonce);
  assert.equal(r.verified, true, JSON.stringify(r.errors));
  const phys = layers(r)['physical']!;
  assert.equal(phys['anchor'], 'reset');
  assert.deepEqual(phys['firmwareLog'], {
    format: 'ccel',
    events: 0,
    use: 'no-events-for-register',
  });
  assert.ok(r.warnings.some((w) => w.includes('extends nothing into rtmr3')));
  // a firmware log the verifier cannot read: reported, and RTMR3 still anchors at reset
  const junk = { ...b, firmwareLog: { format: 'ccel', data: new Uint8Array([1, 2, 3]) } };
  const rj = await verifyBundle(tvm, junk, nonce);
  assert.equal(rj.verified, true, JSON.stringify(rj.errors));
  assert.equal(layers(rj)['physical']!['anchor'], 'reset');
  assert.ok(rj.warnings.some((w) => w.startsWith('firmware log (ccel) unreadable')));
});
