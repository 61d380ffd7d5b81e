import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import { ReplayError } from '../../../src/errors.js';
import type { AnchorKind, LogEvent } from '../../../src/eventlog/event.js';
import { Replay, replay, replayEvents } from '../../../src/eventlog/replay.js';
import { opensslDigest } from '../../_support/peers.js';
import { logFixture, parseAll } from './support.js';

let seq = 0;
/** An app event by hand (the replay core looks only at the common fields). */
function ev(
  register: string | undefined,
  digests: [HashAlg, Uint8Array][],
  extra: {
    extend?: boolean;
    anchor?: { kind: AnchorKind; values: [HashAlg, Uint8Array][] };
    log?: string;
  } = {},
): LogEvent {
  return {
    kind: 'app',
    index: seq++,
    register,
    digests: new Map(digests),
    extend: extra.extend ?? true,
    ...(extra.anchor === undefined
      ? {}
      : { anchor: { kind: extra.anchor.kind, values: new Map(extra.anchor.values) } }),
    source: { log: extra.log ?? 't', format: 'test', offset: 0, length: 0 },
    line: 'd o c',
    domain: 'd',
    operation: 'o',
    content: 'c',
  };
}

const d = (alg: 'sha256' | 'sha384', s: string): Uint8Array =>
  opensslDigest(alg, new TextEncoder().encode(s));
const cat = (...p: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(p));
const zeros = (n: number): Uint8Array => new Uint8Array(n);
const ones = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);

test('extend is H(old || digest) per bank from the reset value (openssl as reference)', async () => {
  const a = d('sha256', 'a');
  const b = d('sha256', 'b');
  const r = await replay([
    ev('pcr10', [['sha256', a]]),
    ev('pcr10', [['sha256', b]]),
    ev('pcr17', [['sha256', a]]),
  ]);
  const v1 = opensslDigest('sha256', cat(zeros(32), a));
  assert.deepEqual(r.registers.get('pcr10')!.get('sha256'), opensslDigest('sha256', cat(v1, b)));
  // PCR17 starts at all ones (PC Client reset value).
  assert.deepEqual(
    r.registers.get('pcr17')!.get('sha256'),
    opensslDigest('sha256', cat(ones(32), a)),
  );
  assert.equal(r.events, 3);
  assert.equal(r.extended, 3);
  assert.deepEqual(r.anchors.get('pcr10'), 'reset');
});

test('records that extend nothing or name no register are counted but not extended', async () => {
  const a = d('sha256', 'a');
  const r = await replay([
    ev('pcr1', [['sha256', a]], { extend: false }),
    ev(undefined, [['sha256', a]]),
  ]);
  assert.equal(r.events, 2);
  assert.equal(r.extended, 0);
  assert.equal(r.registers.size, 0);
});

test('an anchor on an untouched register sets it; equal to the reset value keeps anchor "reset"', async () => {
  const init = d('sha384', 'x');
  const r1 = await replay([
    ev('rtmr3', [['sha384', d('sha384', 'l')]], {
      anchor: { kind: 'unverified', values: [['sha384', init]] },
    }),
  ]);
  assert.equal(r1.anchors.get('rtmr3'), 'unverified');
  assert.deepEqual(
    r1.registers.get('rtmr3')!.get('sha384'),
    opensslDigest('sha384', cat(init, d('sha384', 'l'))),
  );
  const r2 = await replay([
    ev('rtmr3', [['sha384', d('sha384', 'l')]], {
      anchor: { kind: 'unverified', values: [['sha384', zeros(48)]] },
    }),
  ]);
  assert.equal(r2.anchors.get('rtmr3'), 'reset');
});

test('combine: an anchor equal to the running value continues; a different one is ERR_LOG_GAP', () => {
  const a = d('sha384', 'a');
  const running = opensslDigest('sha384', cat(zeros(48), a));
  const ok = new Replay();
  ok.add(ev('rtmr3', [['sha384', a]], { log: 'ccel' }));
  ok.add(
    ev('rtmr3', [['sha384', a]], {
      log: 'aael',
      anchor: { kind: 'unverified', values: [['sha384', running]] },
    }),
  );
  assert.equal(ok.result().anchors.get('rtmr3'), 'reset');
  const bad = new Replay();
  bad.add(ev('rtmr3', [['sha384', a]]));
  assert.throws(
    () =>
      bad.add(
        ev('rtmr3', [['sha384', a]], { anchor: { kind: 'unverified', values: [['sha384', a]] } }),
      ),
    (e: unknown) =>
      e instanceof ReplayError && e.code === 'ERR_LOG_GAP' && e.details['register'] === 'rtmr3',
  );
  const lenient = new Replay({ onGap: 'unverified' });
  lenient.add(ev('rtmr3', [['sha384', a]]));
  lenient.add(
    ev('rtmr3', [['sha384', a]], { anchor: { kind: 'unverified', values: [['sha384', a]] } }),
  );
  const res = lenient.result();
  assert.equal(res.anchors.get('rtmr3'), 'unverified');
  assert.deepEqual(
    res.warnings.map((w) => w.code),
    ['ERR_LOG_GAP'],
  );
});

test('check(): the first mismatching register with expected, computed and the last record index', () => {
  const a = d('sha256', 'a');
  const r = new Replay();
  r.add(ev('pcr4', [['sha256', a]]));
  const last = seq - 1;
  r.add(ev('pcr5', [['sha256', a]]));
  const good = opensslDigest('sha256', cat(zeros(32), a));
  r.check(new Map([['pcr4', new Map([['sha256', good]])]]));
  assert.throws(
    () =>
      r.check(
        new Map([
          ['pcr4', new Map<HashAlg, Uint8Array>([['sha256', zeros(32)]])],
          ['pcr5', new Map<HashAlg, Uint8Array>([['sha256', zeros(32)]])],
        ]),
      ),
    (e: unknown) => {
      assert.ok(e instanceof ReplayError);
      assert.equal(e.code, 'ERR_REPLAY_MISMATCH');
      assert.equal(e.exitCode, 1);
      assert.equal(e.details['register'], 'pcr4');
      assert.equal(e.details['alg'], 'sha256');
      assert.equal(e.details['computed'], Buffer.from(good).toString('hex'));
      assert.equal(e.details['expected'], '00'.repeat(32));
      assert.equal(e.details['last_index'], last);
      return true;
    },
  );
  // A bank the log never carries cannot match.
  assert.equal(
    r.firstMismatch(new Map([['pcr4', new Map<HashAlg, Uint8Array>([['sha1', zeros(20)]])]]))
      ?.computed,
    undefined,
  );
});

test('a wrong-size digest is a typed error, not a wrong value', () => {
  const r = new Replay();
  assert.throws(() => r.add(ev('pcr0', [['sha256', zeros(20)]])), { code: 'ERR_DIGEST_SIZE' });
});

test('replayEvents: only matching registers yield Verified events; a mismatch yields none', async () => {
  const { events } = await parseAll(logFixture('ccel/tdx-ovmf.ccel.bin'));
  const rtmr1 = Buffer.from(
    '775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6',
    'hex',
  );
  const { verified, result } = await replayEvents(
    events,
    new Map([['rtmr1', new Map([['sha384', new Uint8Array(rtmr1)]])]]),
  );
  assert.ok(verified.length > 0);
  assert.ok(verified.every((e) => e.register === 'rtmr1' && e.extend));
  assert.equal(verified.length, events.filter((e) => e.register === 'rtmr1' && e.extend).length);
  assert.equal(result.events, 21);
  await assert.rejects(
    replayEvents(events, new Map([['rtmr1', new Map([['sha384', new Uint8Array(48)]])]])),
    { code: 'ERR_REPLAY_MISMATCH' },
  );
});

test('digests that are not the hash of their data are warnings (OVMF handoff tables), never fatal', async () => {
  const { events } = await parseAll(logFixture('ccel/tdx-ovmf.ccel.bin'));
  const r = new Replay();
  for (const e of events) r.add(e);
  const w = r.result().warnings.filter((x) => x.code === 'ERR_EVENT_DIGEST_MISMATCH');
  assert.ok(w.length >= 1);
  for (const x of w) assert.equal(typeof x.index, 'number');
});
