// The in-place TCG replay (TcgFold, what `mrstack log replay` runs on tcg2 and ccel logs) against
// openssl's hashes on a small log, and against replaying the parsed events one by one on every
// case where the fold must step aside: each record kind the fold leaves to the event path, a
// digest that is not its data's hash, a cut last record, bank selection, and every capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter } from '../../../src/bytes/writer.js';
import { hashAlgId, type HashAlg } from '../../../src/crypto/hash_alg.js';
import { replayLogs } from '../../../src/eventlog/replay_logs.js';
import type { ReplayResult } from '../../../src/eventlog/replay.js';
import { TcgLogWriter } from '../../../src/eventlog/tcg2_writer.js';
import { EventType } from '../../../src/formats/tcg2/event_types.js';
import { encodePcrEvent2 } from '../../../src/formats/tcg2/pcr_event.js';
import { AAEL_TAGGED_EVENT_ID } from '../../../src/formats/tcg2/event_data.js';
import { fixture } from '../../_support/paths.js';
import { opensslDigest } from '../../_support/peers.js';
import { captureNames, logFixture, parseAll, replayOf } from './support.js';

const te = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'mrstack-tcgfold-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(bytes: Uint8Array): string {
  const p = join(dir, `log-${files++}.bin`);
  writeFileSync(p, bytes);
  return p;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const w = new ByteWriter(1024);
  for (const p of parts) w.bytes(p);
  return w.finish();
};

/** A record with exactly the digests given (algorithm ids as written, no H(data) filled in). */
function rawRecord(
  pcr: number,
  type: number,
  data: Uint8Array,
  digests: readonly [HashAlg | number, Uint8Array][],
): Uint8Array {
  const w = new ByteWriter(64);
  encodePcrEvent2(w, {
    pcrIndex: pcr,
    eventType: type,
    digests: digests.map(([a, d]) => ({
      algId: typeof a === 'number' ? a : hashAlgId(a),
      alg: typeof a === 'number' ? undefined : a,
      digest: d,
    })),
    data,
  });
  return w.finish();
}

/** Everything a replay result says, as comparable plain data. */
function summary(r: ReplayResult): unknown {
  return {
    registers: [...r.registers].map(([reg, banks]) => [
      reg,
      [...banks].map(([alg, v]) => [alg, Buffer.from(v).toString('hex')]),
    ]),
    anchors: [...r.anchors],
    events: r.events,
    extended: r.extended,
    banks: r.banks,
  };
}

interface Outcome {
  readonly result?: unknown;
  readonly warnings: readonly string[];
  readonly error?: string;
}

/** `replayLogs` on the file (the fold), with its warnings or its error code. */
async function shipped(
  path: string,
  opts: Parameters<typeof replayLogs>[1] = {},
): Promise<Outcome> {
  const warnings: string[] = [];
  const onWarning = (w: { code: string; index?: number; message: string }): void => {
    warnings.push(`${w.code}@${w.index ?? '-'}: ${w.message}`);
  };
  try {
    const r = await replayLogs([path], { ...opts, onWarning });
    return { result: summary(r), warnings: [...warnings].sort() };
  } catch (e) {
    return { warnings: [...warnings].sort(), error: (e as { code?: string }).code ?? String(e) };
  }
}

/** Parsing the bytes into events and replaying each with `Replay.add`. */
async function eventwise(bytes: Uint8Array): Promise<Outcome> {
  const warnings: string[] = [];
  try {
    const { events, warnings: parsed } = await parseAll(bytes, { chunk: 509 });
    const r = replayOf(events);
    for (const w of [...parsed, ...r.warnings]) {
      warnings.push(`${w.code}@${w.index ?? '-'}: ${w.message}`);
    }
    return { result: summary(r), warnings: warnings.sort() };
  } catch (e) {
    return { warnings: warnings.sort(), error: (e as { code?: string }).code ?? String(e) };
  }
}

/** The log names differ (a path vs `test`): compare warnings without it. */
async function assertSame(bytes: Uint8Array, what: string): Promise<Outcome> {
  const a = await shipped(file(bytes));
  const b = await eventwise(bytes);
  assert.deepEqual(a, b, what);
  return a;
}

test('a small log replays to the values openssl computes (extend = H(old ‖ digest))', async () => {
  const w = new TcgLogWriter(['sha1', 'sha256']);
  const datas = ['one', 'two', 'three'].map((s) => te.encode(s));
  const log = concat([
    w.header(),
    ...datas.map((data, i) => w.record({ pcr: i === 2 ? 7 : 4, type: EventType.EV_ACTION, data })),
  ]);
  const r = await replayLogs([file(log)]);
  const expectPcr = (alg: 'sha1' | 'sha256', ds: Uint8Array[]): string => {
    let v = new Uint8Array(alg === 'sha1' ? 20 : 32);
    for (const d of ds) v = new Uint8Array(opensslDigest(alg, concat([v, opensslDigest(alg, d)])));
    return Buffer.from(v).toString('hex');
  };
  for (const alg of ['sha1', 'sha256'] as const) {
    const hex = (reg: string): string =>
      Buffer.from(r.registers.get(reg)!.get(alg)!).toString('hex');
    assert.equal(hex('pcr4'), expectPcr(alg, datas.slice(0, 2)), `pcr4 ${alg}`);
    assert.equal(hex('pcr7'), expectPcr(alg, datas.slice(2)), `pcr7 ${alg}`);
  }
  assert.equal(r.events, 4);
  assert.equal(r.extended, 3);
});

test('records the fold leaves to the event path replay as the events do, in order', async () => {
  const w = new TcgLogWriter(['sha1', 'sha256']);
  const sep = te.encode('\0\0\0\0');
  const startup = concat([te.encode('StartupLocality\0'), new Uint8Array([3])]);
  const log = concat([
    w.header(),
    // StartupLocality (EV_NO_ACTION) anchors PCR0 at 00…03 before any extend.
    w.record({ pcr: 0, type: EventType.EV_NO_ACTION, data: startup }),
    w.record({ pcr: 0, type: EventType.EV_S_CRTM_VERSION, data: te.encode('crtm') }),
    w.record({ pcr: 1, type: EventType.EV_SEPARATOR, data: sep }),
    // A separator whose SHA-256 digest is not H(data): warned, extended as logged.
    w.record({
      pcr: 1,
      type: EventType.EV_SEPARATOR,
      data: sep,
      digests: new Map([['sha256', new Uint8Array(32).fill(0xab)]]),
    }),
    // Only a SHA-1 digest: FEWER_DIGESTS, extends sha1 only.
    rawRecord(2, EventType.EV_ACTION, te.encode('a'), [
      ['sha1', opensslDigest('sha1', te.encode('a'))],
    ]),
    // The same bank twice.
    rawRecord(3, EventType.EV_IPL, te.encode('c'), [
      ['sha1', new Uint8Array(20).fill(4)],
      ['sha1', new Uint8Array(20).fill(5)],
    ]),
    w.record({ pcr: 4, type: EventType.EV_IPL, data: te.encode('d') }),
    // A PCR index past the PC Client range still names a register (pcr30).
    w.record({ pcr: 30, type: EventType.EV_IPL, data: te.encode('e') }),
    w.record({ pcr: 4, type: EventType.EV_ACTION, data: te.encode('f') }),
  ]);
  const out = await assertSame(log, 'mixed log');
  assert.equal(out.error, undefined);
  const codes = out.warnings.map((s) => s.split('@')[0]);
  for (const c of ['STARTUP_LOCALITY', 'ERR_EVENT_DIGEST_MISMATCH', 'FEWER_DIGESTS']) {
    assert.ok(codes.includes(c), `${c} in ${codes.join(', ')}`);
  }
});

test('an H-CRTM start, a CCEL with MRTD and AAEL tagged events, and a cut last record', async () => {
  const w = new TcgLogWriter(['sha256']);
  const hcrtm = concat([
    w.header(),
    w.record({ pcr: 0, type: EventType.EV_EFI_HCRTM_EVENT, data: te.encode('HCRTM') }),
    w.record({ pcr: 0, type: EventType.EV_POST_CODE, data: te.encode('x') }),
  ]);
  const h = await assertSame(hcrtm, 'H-CRTM');
  assert.ok(h.warnings.some((s) => s.startsWith('HCRTM_PCR0')));

  const cc = new TcgLogWriter(['sha384'], { headerIndex: 1 });
  const tagged = (text: string, good: boolean): Uint8Array => {
    const body = new ByteWriter(32).u32le(AAEL_TAGGED_EVENT_ID).u32le(text.length);
    const data = body.bytes(te.encode(text)).finish();
    return cc.record({
      pcr: 4,
      type: EventType.EV_EVENT_TAG,
      data,
      ...(good ? {} : { digests: new Map([['sha384', new Uint8Array(48).fill(9)]]) }),
    });
  };
  const ccel = concat([
    cc.header(),
    cc.record({ pcr: 0, type: EventType.EV_PLATFORM_CONFIG_FLAGS, data: te.encode('td') }),
    cc.record({ pcr: 1, type: EventType.EV_EFI_PLATFORM_FIRMWARE_BLOB2, data: te.encode('fw') }),
    tagged('INIT sha384/00', true),
    tagged('domain op content', false),
    new Uint8Array(64).fill(0xff),
  ]);
  const c = await assertSame(ccel, 'CCEL');
  // MRTD (index 0) is listed, never extended: three of the four records extend.
  assert.equal((c.result as { extended: number }).extended, 3);
  assert.ok(c.warnings.some((s) => s.startsWith('TRAILING_PADDING')));
  assert.equal(c.warnings.filter((s) => s.startsWith('ERR_EVENT_DIGEST_MISMATCH')).length, 1);

  // Cut inside the last record: an error both ways; with allowPartialTail every complete record
  // (all folded) is replayed.
  const whole = concat([
    w.header(),
    ...['p', 'q', 'r'].map((s) => w.record({ pcr: 9, type: EventType.EV_IPL, data: te.encode(s) })),
  ]);
  const cut = whole.subarray(0, whole.length - 2);
  const path = file(cut);
  assert.equal((await shipped(path)).error, 'ERR_TRUNCATED');
  const partial = await shipped(path, { allowPartialTail: true });
  const full2 = await eventwise(
    concat([
      w.header(),
      ...['p', 'q'].map((s) => w.record({ pcr: 9, type: EventType.EV_IPL, data: te.encode(s) })),
    ]),
  );
  assert.deepEqual(partial.result, full2.result);
});

test('a header that gives SHA-256 a 20-byte size: the same typed error both ways', async () => {
  const w = new TcgLogWriter(['sha1', 'sha256']);
  const header = w.header();
  // The Spec ID table's second entry (algId 0x000b) is followed by its u16 size: patch 32 → 20.
  const at = Buffer.from(header).indexOf(Buffer.from([0x0b, 0x00, 0x20, 0x00]));
  assert.ok(at > 0);
  header[at + 2] = 20;
  const log = concat([
    header,
    rawRecord(5, EventType.EV_IPL, te.encode('z'), [
      ['sha1', new Uint8Array(20).fill(1)],
      ['sha256', new Uint8Array(20).fill(2)],
    ]),
  ]);
  const out = await assertSame(log, 'bad size');
  assert.equal(out.error, 'ERR_BAD_VALUE');
});

test('a record naming an algorithm outside the header: the same typed error both ways', async () => {
  const w = new TcgLogWriter(['sha1', 'sha256']);
  const log = concat([
    w.header(),
    w.record({ pcr: 4, type: EventType.EV_IPL, data: te.encode('before') }),
    rawRecord(2, EventType.EV_IPL, te.encode('b'), [
      ['sha1', new Uint8Array(20).fill(1)],
      ['sha256', new Uint8Array(32).fill(2)],
      [0x0c, new Uint8Array(48).fill(3)],
    ]),
  ]);
  const out = await assertSame(log, 'unknown algorithm');
  assert.equal(out.error, 'ERR_UNKNOWN_ALGORITHM');
});

test('--banks: only the named bank is extended, the other left out', async () => {
  const w = new TcgLogWriter(['sha1', 'sha256']);
  const log = concat([
    w.header(),
    ...['a', 'b'].map((s) => w.record({ pcr: 8, type: EventType.EV_IPL, data: te.encode(s) })),
  ]);
  const r = await replayLogs([file(log)], { banks: ['sha256'] });
  assert.deepEqual([...r.registers.get('pcr8')!.keys()], ['sha256']);
  const all = await replayLogs([file(log)]);
  assert.deepEqual(
    r.registers.get('pcr8')!.get('sha256'),
    all.registers.get('pcr8')!.get('sha256'),
  );
});

test('a missed expected value names the last record that extended the register', async () => {
  const w = new TcgLogWriter(['sha256']);
  const log = concat([
    w.header(),
    w.record({ pcr: 4, type: EventType.EV_IPL, data: te.encode('a') }),
    w.record({ pcr: 5, type: EventType.EV_IPL, data: te.encode('b') }),
    w.record({ pcr: 4, type: EventType.EV_IPL, data: te.encode('c') }),
    w.record({ pcr: 5, type: EventType.EV_IPL, data: te.encode('d') }),
  ]);
  const expect = new Map([['pcr4', new Map([['sha256' as const, new Uint8Array(32)]])]]);
  await assert.rejects(replayLogs([file(log)], { expect }), (e: Error & { details?: unknown }) => {
    assert.equal((e.details as { last_index: number }).last_index, 3);
    assert.match(e.message, /\(last record 3\)/);
    return true;
  });
});

for (const folder of ['tcg', 'ccel'] as const) {
  test(`${folder}: every capture, in place and event by event: same values, counts, warnings`, async () => {
    const names = captureNames(folder);
    assert.ok(names.length >= 5);
    for (const name of names) {
      const a = await shipped(fixture('eventlogs', folder, name));
      const b = await eventwise(logFixture(`${folder}/${name}`));
      // The log's name is part of a few messages: the path here, `test` there.
      const norm = (o: Outcome): Outcome => ({
        ...o,
        warnings: o.warnings.map((s) => s.replaceAll(fixture('eventlogs', folder, name), 'test')),
      });
      assert.deepEqual(norm(a), norm(b), name);
    }
  });
}
