// CoCo AAEL captures (test/fixtures/eventlogs/aael): v1 text replays to the RTMR3 values trustee's
// tests assert; v2 records in a CCEL hash the tagged-event structure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldenCaptures } from './eventlog_golden.js';
import { isAaelV2Record } from '../../src/eventlog/ccel_format.js';
import { logFixture, parseAll, replayOf, regHex } from '../unit/eventlog/support.js';
import { opensslDigest } from '../_support/peers.js';

goldenCaptures('aael', []);

test('AAEL v1: INIT anchors rtmr3 (zeros = its reset value) and every line is extended', async () => {
  const { format, events } = await parseAll(logFixture('aael/coco-aael-text-v1-sample1.aael.txt'));
  assert.equal(format, 'aael');
  assert.equal(events.length, 2);
  const [init, ev] = events;
  assert.ok(init?.kind === 'directive' && init.directive === 'INIT');
  assert.ok(ev?.kind === 'app');
  assert.equal(ev.domain, 'image-rs');
  assert.equal(ev.operation, 'CreateContainer');
  assert.equal(ev.content, 'docker.io/library/alpine');
  // The line digest is SHA-384 of the exact line (openssl as the independent hash).
  assert.deepEqual(
    ev.digests.get('sha384'),
    opensslDigest('sha384', new TextEncoder().encode(ev.line)),
  );
  assert.equal(replayOf(events).anchors.get('rtmr3'), 'reset');
});

test('AAEL v2 in the Alibaba CCEL: two tagged events in rtmr3 whose digest is H(tagged event)', async () => {
  const { events } = await parseAll(logFixture('aael/alibabacloud-tdx-ccel-with-aael-v2.ccel.bin'));
  const aael = events.filter(isAaelV2Record);
  assert.equal(aael.length, 2);
  for (const e of aael) {
    assert.ok(e.kind === 'tcg2');
    assert.equal(e.register, 'rtmr3');
    // "LEAA" on disk: the little-endian ID 0x4141454C.
    assert.equal(Buffer.from(e.data.subarray(0, 4)).toString('latin1'), 'LEAA');
    assert.deepEqual(e.digests.get('sha384'), opensslDigest('sha384', e.data));
  }
  const text = aael.map((e) =>
    e.kind === 'tcg2' ? Buffer.from(e.data.subarray(8)).toString('utf8') : '',
  );
  assert.deepEqual(text, [
    'coco.com some-operation some-content',
    'coco.com some-operation {"key": "value", "nested-key": {"sub-key": "value"}}',
  ]);
  assert.equal(
    regHex(replayOf(events), 'rtmr3', 'sha384'),
    '5e4ecd49d3c7983d6f9ca36755b5cee0b423d7fa8c5a88aeb0681bd4698772bc37b4463dc5f722efe352a66417257dad',
  );
});
