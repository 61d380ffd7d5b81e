// The CEL extend rules (StartupLocality start value, EV_NO_ACTION not extended, IMA violation
// extends all ones, NV index and the 0xFFFFFFFF handle not replayed) give the same registers
// through `replayCel` and through `replayLogs` (what `mrstack log replay` runs). Expected values
// are folded here with openssl over the bytes the PC Client and IMA specs name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../../../src/bytes/hex.js';
import { parseCelJson } from '../../../../src/formats/cel/cel_json.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';
import { replayLogs } from '../../../../src/eventlog/replay_logs.js';
import { opensslDigest } from '../../../_support/peers.js';
import { tempDir } from '../../../_support/tmp.js';

const sha256 = (b: Uint8Array): Uint8Array => opensslDigest('sha256', b);
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

const D1 = sha256(new TextEncoder().encode('post code'));
const D2 = sha256(new TextEncoder().encode('an ima-ng entry'));
// "StartupLocality\0" + locality 3.
const STARTUP_LOCALITY_3 = cat(new TextEncoder().encode('StartupLocality\0'), Uint8Array.of(3));

const digest = (d: Uint8Array): { hashAlg: string; digest: string } => ({
  hashAlg: 'sha256',
  digest: toHex(d),
});

const RECORDS = [
  {
    recnum: 0,
    pcr: 0,
    content_type: 'pcclient_std',
    content: { event_type: 'ev_no_action', event_data: toHex(STARTUP_LOCALITY_3) },
    digests: [digest(fill(32, 0))],
  },
  {
    recnum: 1,
    pcr: 0,
    content_type: 'pcclient_std',
    content: { event_type: 'ev_post_code', event_data: '00' },
    digests: [digest(D1)],
  },
  {
    recnum: 2,
    pcr: 10,
    content_type: 'ima_template',
    content: { template_name: 'ima-ng', template_data: '00' },
    digests: [digest(fill(32, 0))], // a violation
  },
  {
    recnum: 3,
    pcr: 10,
    content_type: 'ima_template',
    content: { template_name: 'ima-ng', template_data: '01' },
    digests: [digest(D2)],
  },
  {
    recnum: 4,
    nv_index: 7,
    content_type: 'cel',
    content: { type: 'firmware_end' },
    digests: [digest(D1)],
  },
];

// PC Client PFP §10.4.5.3: PCR0 starts at 00…03; the EV_NO_ACTION record itself is not extended.
const PCR0 = sha256(cat(fill(31, 0), Uint8Array.of(3), D1));
// IMA: a violation (logged all zeros) extends all ones.
const PCR10 = sha256(cat(sha256(cat(fill(32, 0), fill(32, 0xff))), D2));

test('replayCel applies the PC Client and IMA extend rules', () => {
  const r = replayCel(parseCelJson(JSON.stringify(RECORDS)));
  assert.deepEqual(r.registers, {
    pcr0: { sha256: toHex(PCR0) },
    pcr10: { sha256: toHex(PCR10) },
  });
  assert.deepEqual(r.skipped, [4]); // the NV index
});

test('log replay (replayLogs) gives the same registers on the same CEL-JSON file', async (t) => {
  const dir = tempDir(t, 'cel-rules-');
  const file = join(dir, 'rules.cel.json');
  writeFileSync(file, JSON.stringify(RECORDS));
  const r = await replayLogs([{ path: file }]);
  assert.equal(toHex(r.registers.get('pcr0')!.get('sha256')!), toHex(PCR0));
  assert.equal(toHex(r.registers.get('pcr10')!.get('sha256')!), toHex(PCR10));
  assert.equal(r.registers.has('nv7'), false);
});

test('a violation whose digest is not all zeros is an ordinary entry (no all-ones rule)', () => {
  const recs = structuredClone(RECORDS);
  recs[2]!.digests = [digest(fill(32, 1))];
  const r = replayCel(parseCelJson(JSON.stringify(recs)));
  const expected = sha256(cat(sha256(cat(fill(32, 0), fill(32, 1))), D2));
  assert.equal(r.registers['pcr10']!.sha256, toHex(expected));
});
