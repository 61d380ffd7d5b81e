// CEL-TLV vectors written out byte by byte from the record layout (1-byte type, 4-byte
// big-endian length; recnum 0, pcr 1, nv_index 2, digests 3, content types 4/5/7/8, Google's CC MR
// handle 108) — see test/fixtures/eventlogs/cel/PROVENANCE.md. Expected register values are
// computed with openssl, not with mrstack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../../../src/bytes/hex.js';
import { ParseError } from '../../../../src/errors.js';
import {
  encodeCelTlv,
  parseCelTlv,
  readCelTlvStream,
} from '../../../../src/formats/cel/cel_tlv.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';
import { opensslDigest } from '../../../_support/peers.js';

const h = (s: string): string => s.replace(/\s+/g, '');

// Record 0: recnum 5, PCR 7, one SHA-1 digest (0x11 × 20), pcclient_std EV_EFI_ACTION "\xaa\xbb".
const REC0 = h(`
  00 00000008 0000000000000005
  01 00000001 07
  03 00000019  04 00000014 ${'11'.repeat(20)}
  05 00000010  00 00000004 80000007  01 00000002 aabb`);
// Record 1: recnum 6, PCR 10, no digests, ima_template "ima-ng" with 3 data bytes.
const REC1 = h(`
  00 00000008 0000000000000006
  01 00000001 0a
  03 00000000
  07 00000013  00 00000006 ${Buffer.from('ima-ng').toString('hex')}  01 00000003 010203`);
// Record 2: 1-byte recnum 7, CC MR 4 (RTMR3), one SHA-384 digest (0x22 × 48), cel_mgt
// cel_version 1.2.
const REC2 = h(`
  00 00000001 07
  6c 00000001 04
  03 00000035  0c 00000030 ${'22'.repeat(48)}
  04 00000017  01 00000012  00 00000004 00000001  01 00000004 00000002`);

const LOG = fromHex(REC0 + REC1 + REC2);

test('decodes every field of hand-written TLV records', () => {
  const recs = parseCelTlv(LOG);
  assert.equal(recs.length, 3);
  const [a, b, c] = recs as [(typeof recs)[0], (typeof recs)[0], (typeof recs)[0]];
  assert.equal(a.recnum, 5);
  assert.deepEqual(a.register, { kind: 'pcr', index: 7, size: 1 });
  assert.equal(a.digests.length, 1);
  assert.equal(a.digests[0]!.algId, 4);
  assert.equal(toHex(a.digests[0]!.digest), '11'.repeat(20));
  assert.equal(a.content.type, 'pcclient_std');
  assert.equal(a.content.eventType, 0x80000007);
  assert.equal(toHex(a.content.eventData), 'aabb');
  assert.equal(b.offset, REC0.length / 2);
  assert.equal(b.digests.length, 0);
  assert.equal(b.content.type, 'ima_template');
  assert.equal(b.content.templateName, 'ima-ng');
  assert.equal(toHex(b.content.templateData), '010203');
  assert.equal(c.recnum, 7);
  assert.deepEqual(c.register, { kind: 'cc_mr', index: 4, size: 1 });
  assert.deepEqual(c.content.type === 'cel_mgt' ? c.content.events : undefined, [
    { type: 'cel_version', major: 1, minor: 2 },
  ]);
});

test('encode(parse(x)) == x', () => {
  assert.equal(toHex(encodeCelTlv(parseCelTlv(LOG))), toHex(LOG));
});

test('replay extends each digest into its register (values from openssl)', () => {
  const r = replayCel(parseCelTlv(LOG));
  const pcr7 = opensslDigest('sha1', fromHex('00'.repeat(20) + '11'.repeat(20)));
  const rtmr3 = opensslDigest('sha384', fromHex('00'.repeat(48) + '22'.repeat(48)));
  assert.deepEqual(r.registers, {
    pcr7: { sha1: toHex(pcr7) },
    rtmr3: { sha384: toHex(rtmr3) },
  });
  assert.equal(r.events, 3);
});

test('a cut at every byte: whole records parse, anything else is ERR_TRUNCATED with the count', async () => {
  const ends = [REC0.length / 2, (REC0.length + REC1.length) / 2, LOG.length];
  for (let cut = 0; cut <= LOG.length; cut++) {
    const complete = ends.filter((e) => e <= cut).length;
    const atBoundary = cut === 0 || ends.includes(cut);
    const buf = LOG.subarray(0, cut);
    if (atBoundary) {
      assert.equal(parseCelTlv(buf).length, complete, `cut ${cut}`);
      continue;
    }
    assert.throws(
      () => parseCelTlv(buf),
      (e: unknown) =>
        e instanceof ParseError && e.code === 'ERR_TRUNCATED' && e.completeRecords === complete,
      `cut ${cut}`,
    );
    // The same through the streaming reader fed one byte at a time.
    const chunks = [...buf].map((x) => new Uint8Array([x]));
    const seen: unknown[] = [];
    await assert.rejects(
      async () => {
        for await (const e of readCelTlvStream(chunks)) seen.push(e);
      },
      (e: unknown) => e instanceof ParseError && e.completeRecords === complete,
    );
  }
});

test('corruption is not truncation: a wrong field type names the field', () => {
  const bad = fromHex(REC0.replace(/^00/, '09'));
  assert.throws(() => parseCelTlv(bad), { code: 'ERR_BAD_VALUE', field: 'event[0].recnum.type' });
  const badReg = fromHex(REC0.replace('01000000010703', '05000000010703'));
  assert.throws(() => parseCelTlv(badReg), {
    code: 'ERR_BAD_VALUE',
    field: 'event[0].register.type',
  });
  // An inner TLV longer than its container is corruption, not truncation.
  const inner = fromHex(REC0.replace('0400000014', '04000000ff'));
  assert.throws(
    () => parseCelTlv(inner),
    (e: unknown) => e instanceof ParseError && e.code !== 'ERR_TRUNCATED',
  );
});

test('a length over the record limit is refused before allocation', () => {
  const big = fromHex('00000000080000000000000000 01 0000000107 03 7fffffff'.replace(/\s/g, ''));
  assert.throws(() => parseCelTlv(big, { limits: { maxRecordSize: 1024 } }), {
    code: 'ERR_LENGTH_LIMIT',
  });
});
