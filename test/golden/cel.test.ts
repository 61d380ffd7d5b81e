// The Confidential Space CEL-TLV capture against the values in its PROVENANCE (18 records,
// CC MR 4 = RTMR3, SHA-384 digests of the whole COS content TLV, RTMR3 replay value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../_support/paths.js';
import { toHex } from '../../src/bytes/hex.js';
import { encodeCelContentTlv, encodeCelTlv, parseCelTlv } from '../../src/formats/cel/cel_tlv.js';
import { replayCel } from '../../src/formats/cel/cel_replay.js';
import { celTlvFormat } from '../../src/eventlog/cel_format.js';
import { bytesInput } from '../../src/formats/stream/framer.js';
import { Replay } from '../../src/eventlog/replay.js';
import { detectLogFormat } from '../../src/eventlog/registry.js';
import { opensslDigest } from '../_support/peers.js';

const RTMR3 =
  '2261f93374ed538b35e7e93c540a1562ccb25d14f6c40a1efea03d329e29a97172d84e152344af4a7188d0c8b9fcabeb';
const capture = (): Uint8Array =>
  new Uint8Array(
    readFileSync(fixture('eventlogs', 'cel', 'gce-confidential-space-tdx-rtmr3.cel-tlv.bin')),
  );

test('gce Confidential Space CEL: 18 records on CC MR 4 with SHA-384 digests of the COS TLV', () => {
  const buf = capture();
  assert.equal(buf.length, 3569);
  const recs = parseCelTlv(buf);
  assert.equal(recs.length, 18);
  assert.deepEqual(
    recs.map((r) => r.recnum),
    [...Array(18).keys()],
  );
  for (const r of recs) {
    assert.deepEqual(r.register, { kind: 'cc_mr', index: 4, size: 1 });
    assert.equal(r.digests.length, 1);
    assert.equal(r.digests[0]!.algId, 0x0c);
    assert.equal(r.content.type, 'cos');
    // Digest = SHA-384 of the whole content TLV, header included (openssl, not node:crypto).
    assert.equal(
      toHex(opensslDigest('sha384', encodeCelContentTlv(r.content, 80))),
      toHex(r.digests[0]!.digest),
    );
  }
  const types = recs.map((r) => (r.content.type === 'cos' ? r.content.events[0]!.type : -1));
  assert.equal(types[0], 0); // image reference first
  assert.equal(types[17], 8); // launch separator last
  assert.ok(types.includes(5) && types.includes(10));
  const first = recs[0]!.content;
  assert.match(
    first.type === 'cos' ? new TextDecoder().decode(first.events[0]!.value) : '',
    /^us-west1-docker\.pkg\.dev\/confidential-space-images-dev\//,
  );
  const r = replayCel(recs);
  assert.equal(r.digestMismatches.length, 0);
  assert.deepEqual(r.registers, { rtmr3: { sha384: RTMR3 } });
  assert.equal(toHex(encodeCelTlv(recs)), toHex(buf));
});

test('gce CEL through the registry and the core replay', async () => {
  const buf = capture();
  assert.equal(detectLogFormat(buf).id, 'cel-tlv');
  const rp = new Replay();
  await rp.addAll(celTlvFormat.parse(bytesInput(buf)));
  const res = rp.result();
  assert.equal(res.events, 18);
  assert.equal(res.warnings.length, 0);
  assert.equal(toHex(res.registers.get('rtmr3')!.get('sha384')!), RTMR3);
  // Tampering with one COS value is reported as a digest mismatch, not hidden.
  const bad = buf.slice();
  const at = Buffer.from(bad).indexOf('NVIDIA_VISIBLE_DEVICES=all');
  bad[at + 24] = 0x41;
  const rp2 = new Replay();
  await rp2.addAll(celTlvFormat.parse(bytesInput(bad)));
  assert.deepEqual(
    rp2.result().warnings.map((w) => w.code),
    ['ERR_EVENT_DIGEST_MISMATCH'],
  );
});
