// A bundle given as bytes with a long base64 value (the ima bundle's list, 173 MB at a million
// entries) has that value decoded from its bytes instead of through the JSON text: the bundle
// must be the one the whole text gives, and every input the whole text refuses must be refused
// with the same error — a value with JSON escapes (`\/`, valid JSON), one that is not base64,
// a long value in a member read as text, a duplicate member after it, broken JSON after it.
// The value is decoded a slice at a time: padding, a `=` or whitespace inside, and characters
// at a slice's edge must give what the whole value's decoding gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bundleSkeleton } from '../../../_support/bundle_skeleton.js';
import { ParseError } from '../../../../src/errors.js';
import { parseBundle } from '../../../../src/formats/bundle/bundle.js';

const list = randomBytes(1_500_000); // base64: 2 MB, over the 1 MiB lifting threshold

function bundleText(data: string, created = '2026-12-07T00:00:00.000Z'): string {
  const o = {
    ...bundleSkeleton({
      tenant: 'ima',
      created,
      physicalLog: { after: 1, lines: ['a "quoted" line \\ with a backslash'] },
    }),
    ima_log: {
      vmr: 'mr_ima',
      alg: 'sha384',
      salt: '5a'.repeat(32),
      count: 2,
      banks: { sha1: '11'.repeat(20), sha256: '22'.repeat(32), sha384: '33'.repeat(48) },
      format: 'ima-binary',
      data: 'DATA',
    },
  };
  // the value is put in as raw JSON text, so that escapes can be written as a producer would
  return JSON.stringify(o, null, 1).replace('"DATA"', `"${data}"`);
}

/** The outcome of parsing: the bundle, or the error's code, field, offset and message. */
function outcome(input: string | Uint8Array): unknown {
  try {
    const b = parseBundle(input);
    return { ...b, imaLog: { ...b.imaLog, data: Buffer.from(b.imaLog!.data) } };
  } catch (e) {
    assert.ok(e instanceof ParseError, String(e));
    return { code: e.code, field: e.field, offset: e.offset, message: e.message };
  }
}

function same(text: string, label: string): unknown {
  const whole = outcome(text); // a string is never lifted
  const bytes = outcome(new Uint8Array(Buffer.from(text, 'utf8')));
  assert.deepEqual(bytes, whole, label);
  return whole;
}

test('a long base64 value decoded from the bytes: the same bundle, the same refusals', () => {
  const b64 = list.toString('base64');
  const ok = same(bundleText(b64), 'plain') as { imaLog: { data: Buffer } };
  assert.deepEqual(ok.imaLog.data, list, 'the list as encoded');
  // the list did not go through JSON.parse (the texts it was given are short)
  const parsed: number[] = [];
  const jsonParse = JSON.parse;
  JSON.parse = (text: string, ...rest: []) => {
    parsed.push(text.length);
    return jsonParse(text, ...rest) as unknown;
  };
  let shared: Uint8Array;
  try {
    shared = parseBundle(new Uint8Array(Buffer.from(bundleText(b64)))).imaLog!.data;
  } finally {
    JSON.parse = jsonParse;
  }
  assert.ok(parsed.length > 0 && parsed.every((n) => n < 10_000), String(parsed));
  assert.ok(shared.buffer instanceof SharedArrayBuffer, 'the list for the fold workers');
  // `\/` is JSON for `/`: the value is read through JSON
  const escaped = same(bundleText(b64.replaceAll('/', '\\/')), 'escaped') as {
    imaLog: { data: Buffer };
  };
  assert.deepEqual(escaped.imaLog.data, list);
  // not base64: a character outside the alphabet, a control character (not JSON), non-ASCII
  const mid = b64.length >> 1;
  for (const [label, bad] of [
    ['not base64', `${b64.slice(0, mid)}*${b64.slice(mid + 1)}`],
    ['control character', `${b64.slice(0, mid)}\u0001${b64.slice(mid + 1)}`],
    ['non-ASCII', `${b64.slice(0, mid)}é${b64.slice(mid + 2)}`],
    ['URL-safe alphabet', b64.replaceAll('/', '_')],
  ] as const)
    assert.ok('code' in (same(bundleText(bad), label) as object), label);
  // the long value is a member read as text: the created time
  const longCreated = bundleText(b64, 'x'.repeat(2_000_000));
  assert.equal((same(longCreated, 'long text member') as { created: string }).created.length, 2e6);
  // a duplicate member after the lifted value, and broken JSON after it: offsets as in the text
  const text = bundleText(b64);
  const dup = text.replace('"format": "ima-binary"', '"format": "ima-binary", "count": 3');
  assert.equal((same(dup, 'duplicate') as { code: string }).code, 'ERR_BAD_JSON');
  same(`${text.slice(0, -2)},}`, 'broken');
});

test('a lifted value decoded in slices: what decoding the whole value gives', () => {
  const b64 = list.toString('base64');
  // no string of the whole value is made (slices of 64 KiB characters)
  type ToString = (this: Buffer, ...a: unknown[]) => string;
  const proto = Buffer.prototype as unknown as { toString: ToString };
  const toString = proto.toString;
  let longest = 0;
  proto.toString = function (this: Buffer, ...args: unknown[]): string {
    const s = toString.apply(this, args);
    if (args[0] === 'latin1') longest = Math.max(longest, s.length);
    return s;
  };
  try {
    parseBundle(new Uint8Array(Buffer.from(bundleText(b64))));
  } finally {
    proto.toString = toString;
  }
  assert.ok(longest > 0 && longest <= 1 << 16, String(longest));
  // padded lists (one and two `=`)
  for (const extra of [1, 2]) {
    const l = Buffer.concat([list, Buffer.alloc(extra, 7)]);
    const enc = l.toString('base64');
    assert.ok(enc.endsWith('='.repeat(3 - extra)));
    const ok = same(bundleText(enc), `padded ${extra}`) as { imaLog: { data: Buffer } };
    assert.deepEqual(ok.imaLog.data, l);
  }
  // inside a slice, at its last character, at the next one's first; and near the end
  const edge = 1 << 16;
  for (const at of [1000, edge - 1, edge, 3 * edge + 2, b64.length - 3]) {
    for (const [label, put] of [
      ['space', ' '],
      ['newline', '\n'],
      ['JSON escape', '\\n'],
      ['=', '='],
      ['== in the middle', '=='],
      ['removed', ''],
    ] as const) {
      const replaced = same(bundleText(`${b64.slice(0, at)}${put}${b64.slice(at + 1)}`), label);
      const added = same(bundleText(`${b64.slice(0, at)}${put}${b64.slice(at)}`), label);
      // anything but base64 characters is refused, a character more as one in place of another
      // (one skipped character once went unseen: the count of the rest was the same)
      if (put !== '') {
        assert.ok('code' in (replaced as object), `${label} at ${at}`);
        assert.ok('code' in (added as object), `${label} added at ${at}`);
      }
    }
  }
});
