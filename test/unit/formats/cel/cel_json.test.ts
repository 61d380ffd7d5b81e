// CEL-JSON: our own vectors for the cases libcel's (GPL) snippets cover, strictness, systemd's
// JSON-SEQ, and conversion to and from TLV. Expected digests and register values come from
// openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../../../src/bytes/hex.js';
import { ParseError } from '../../../../src/errors.js';
import {
  celRecordToJson,
  encodeCelJson,
  encodeCelJsonSeq,
  parseCelJson,
} from '../../../../src/formats/cel/cel_json.js';
import { encodeCelTlv, parseCelTlv } from '../../../../src/formats/cel/cel_tlv.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';
import { opensslDigest } from '../../../_support/peers.js';

const VERSION = {
  pcr: 3,
  recnum: 6,
  content_type: 'cel',
  digests: [{ hashAlg: 'sha1', digest: 'bb'.repeat(20) }],
  content: { type: 'cel_version', data: { major: 123, minor: 456 } },
};
const MULTI = {
  nv_index: 2,
  recnum: 4,
  content_type: 'cel',
  content: [
    { type: 'firmware_end' },
    { type: 'cel_timestamp', data: 1234567890 },
    { type: 'state_trans', data: 'kexec' },
  ],
};
const PCCLIENT = {
  recnum: 12,
  pcr: 9,
  content_type: 'pcclient_std',
  content: { event_type: 'ev_no_action', event_data: 'aabbccdd' },
};
const PCCLIENT_NUM = {
  ...PCCLIENT,
  content_type: 5,
  content: { event_type: 3, event_data: 'aabbccdd' },
};
const IMA = {
  recnum: 9,
  pcr: 12,
  content_type: 'ima_template',
  content: { template_name: 'name', template_data: 'aabbccdd' },
};

test('management records: cel_version with a SHA-1 digest; NV index with three events', () => {
  const [v] = parseCelJson(JSON.stringify(VERSION));
  assert.equal(v!.recnum, 6);
  assert.deepEqual(v!.register, { kind: 'pcr', index: 3 });
  assert.equal(v!.digests[0]!.algId, 4);
  assert.equal(toHex(v!.digests[0]!.digest), 'bb'.repeat(20));
  assert.deepEqual(v!.content, {
    type: 'cel_mgt',
    events: [{ type: 'cel_version', major: 123, minor: 456 }],
  });
  const [m] = parseCelJson(JSON.stringify(MULTI));
  assert.deepEqual(m!.register, { kind: 'nv_index', index: 2 });
  assert.equal(m!.digests.length, 0);
  assert.deepEqual(m!.content, {
    type: 'cel_mgt',
    events: [
      { type: 'firmware_end' },
      { type: 'cel_timestamp', value: 1234567890n },
      { type: 'state_trans', value: 'kexec' },
    ],
  });
});

test('pcclient_std by name and by number decode alike; ima_template', () => {
  const a = parseCelJson(JSON.stringify(PCCLIENT))[0]!;
  const b = parseCelJson(JSON.stringify(PCCLIENT_NUM))[0]!;
  for (const r of [a, b]) {
    assert.equal(r.recnum, 12);
    assert.deepEqual(r.register, { kind: 'pcr', index: 9 });
    assert.equal(r.content.type, 'pcclient_std');
    assert.equal(r.content.eventType, 3);
    assert.equal(toHex(r.content.eventData), 'aabbccdd');
  }
  const i = parseCelJson(JSON.stringify(IMA))[0]!;
  assert.equal(i.content.type === 'ima_template' ? i.content.templateName : '', 'name');
});

test('strict JSON: trailing commas and non-JSON text are ERR_BAD_JSON', () => {
  const lenient =
    '{\n "pcr": 3,\n "recnum": 6,\n "content_type": "cel",\n "content": {"type": "firmware_end",},\n}\n';
  assert.throws(() => parseCelJson(lenient), { code: 'ERR_BAD_JSON' });
  assert.throws(
    () => parseCelJson('this is not json'),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_JSON',
  );
  assert.throws(() => parseCelJson('[1, 2]'), { code: 'ERR_BAD_JSON' });
});

test('invalid management and pcclient records are rejected, each with a typed error', () => {
  const base = { recnum: 1, pcr: 2, content_type: 'cel' };
  const badCel = [
    {},
    { type: 256 },
    { type: [] },
    { type: 'bad' },
    { type: 'cel_version' },
    { type: 255 },
    { type: 'state_trans', data: 'reboot' },
    [{ type: 'firmware_end' }, { type: 'bad' }],
  ];
  for (const content of [...badCel, 'bad']) {
    assert.throws(
      () => parseCelJson(JSON.stringify({ ...base, content })),
      { code: 'ERR_BAD_JSON' },
      JSON.stringify(content),
    );
  }
  const pc = { recnum: 1, pcr: 2, content_type: 'pcclient_std' };
  for (const content of [
    {},
    { event_type: 'ev_nonsense', event_data: '' },
    { event_type: 3 },
    { event_type: 3, event_data: 'xyz' },
    { event_type: -1, event_data: '' },
    { event_type: 2 ** 32, event_data: '' },
    'aabb',
  ]) {
    assert.throws(
      () => parseCelJson(JSON.stringify({ ...pc, content })),
      { code: 'ERR_BAD_JSON' },
      JSON.stringify(content),
    );
  }
  assert.throws(
    () => parseCelJson(JSON.stringify({ ...VERSION, digests: [{ hashAlg: 'md5', digest: '00' }] })),
    { code: 'ERR_UNKNOWN_ALGORITHM' },
  );
  assert.throws(() => parseCelJson(JSON.stringify({ ...VERSION, nv_index: 1 })), {
    code: 'ERR_BAD_JSON',
  });
});

const enc = new TextEncoder();
function systemdLog(): { text: string; strings: string[]; digests: string[] } {
  const strings = ['phase-tahini', 'filesystem-tahini', 'machine-id-tahini', 'volume-key-tahini'];
  const types = ['phase', 'filesystem', 'machine-id', 'volume-key'];
  const digests = strings.map((s) => toHex(opensslDigest('sha256', enc.encode(s))));
  const text = strings
    .map(
      (s, i) =>
        `\x1e${JSON.stringify({
          pcr: 11,
          digests: [{ hashAlg: 'sha256', digest: digests[i] }],
          content_type: 'systemd',
          content: {
            string: s,
            eventType: types[i],
            bootId: 'fa1afe1fa1afe1fa1afe1fa1afe1ffff',
            timestamp: i + 1,
          },
        })}\n`,
    )
    .join('');
  return { text, strings, digests };
}

test('systemd JSON-SEQ (RS-separated): records numbered in order, digests checked, PCR replayed', () => {
  const { text, strings, digests } = systemdLog();
  const recs = parseCelJson(text);
  assert.equal(recs.length, 4);
  assert.deepEqual(
    recs.map((r) => r.recnum),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    recs.map((r) => (r.content.type === 'systemd' ? r.content.value['string'] : undefined)),
    strings,
  );
  const r = replayCel(recs);
  assert.equal(r.digestMismatches.length, 0);
  let pcr: Uint8Array = new Uint8Array(32);
  for (const d of digests) pcr = opensslDigest('sha256', new Uint8Array([...pcr, ...fromHex(d)]));
  assert.deepEqual(r.registers, { pcr11: { sha256: toHex(pcr) } });
  // Newline-separated records (no RS) read the same; writing JSON-SEQ gives the input back.
  assert.equal(parseCelJson(text.split('\x1e').join('')).length, 4);
  assert.equal(encodeCelJsonSeq(recs).length > 0, true);
  assert.deepEqual(
    parseCelJson(encodeCelJsonSeq(recs)).map(celRecordToJson),
    recs.map(celRecordToJson),
  );
  // A digest that is not H(string) is reported.
  const tampered = parseCelJson(text.replace('phase-tahini', 'phase-tahinI'));
  assert.equal(replayCel(tampered).digestMismatches.length, 1);
  // systemd content has no TLV form: converting it is refused.
  assert.throws(() => encodeCelTlv(recs), { code: 'ERR_LOSSY_CONVERSION' });
});

test('JSON -> TLV -> JSON keeps every record', () => {
  const recs = parseCelJson(JSON.stringify([VERSION, MULTI, PCCLIENT_NUM, IMA]));
  const back = parseCelTlv(encodeCelTlv(recs));
  assert.deepEqual(back.map(celRecordToJson), recs.map(celRecordToJson));
  assert.deepEqual(
    parseCelJson(encodeCelJson(back)).map(celRecordToJson),
    recs.map(celRecordToJson),
  );
  assert.deepEqual(replayCel(back).registers, replayCel(recs).registers);
});
