// AAEL v1 line grammar (trustee deps/verifier eventlog): INIT <alg>/<hex>, then domain operation content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAaelLine, splitAaelEvent } from '../../../../src/formats/aael/aael_line.js';
import { ParseError } from '../../../../src/errors.js';
import { parseAll } from '../../eventlog/support.js';

const INIT = `INIT sha384/${'00'.repeat(48)}`;

test('INIT carries the algorithm and the starting value', () => {
  const l = parseAaelLine(INIT, 1);
  assert.ok(l.kind === 'init');
  assert.equal(l.alg, 'sha384');
  assert.equal(l.value.length, 48);
});

test('event lines split at the first two spaces; content keeps its spaces', () => {
  assert.deepEqual(splitAaelEvent('coco.com op {"a": 1}'), ['coco.com', 'op', '{"a": 1}']);
  assert.equal(splitAaelEvent('onlyone'), undefined);
  assert.equal(splitAaelEvent('two words'), undefined);
  const l = parseAaelLine('github.com/x CreateContainer docker.io/library/alpine', 2);
  assert.ok(l.kind === 'event');
  assert.equal(l.domain, 'github.com/x');
});

test('grammar errors are ERR_BAD_EVENT with the line number', () => {
  const cases: [string, number][] = [
    ['INIT/sha384 00', 1],
    [`INIT sha384/${'00'.repeat(47)}`, 1],
    ['a b', 2],
    [INIT, 3],
    ['a b c\u0001', 2],
  ];
  for (const [text, line] of cases) {
    assert.throws(
      () => parseAaelLine(text, line),
      (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_EVENT' && e.offset === line,
      text,
    );
  }
  assert.throws(() => parseAaelLine('INIT md5/00', 1), { code: 'ERR_UNKNOWN_ALGORITHM' });
});

test('a log that does not start with INIT, or with an empty line inside, is refused', async () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  await assert.rejects(parseAll(enc('a b c\n'), { format: 'aael' }), { code: 'ERR_BAD_EVENT' });
  await assert.rejects(parseAll(enc(`${INIT}\n\na b c\n`), { format: 'aael' }), {
    code: 'ERR_BAD_EVENT',
    offset: 2,
  });
  await assert.rejects(parseAll(enc(''), { format: 'aael' }), { code: 'ERR_TRUNCATED' });
  await assert.rejects(
    parseAll(new Uint8Array([0x49, 0x4e, 0x49, 0x54, 0x20, 0xff, 0x0a]), { format: 'aael' }),
    {
      code: 'ERR_BAD_ENCODING',
    },
  );
  const ok = await parseAll(enc(`${INIT}\na b c\n`), { format: 'aael' });
  assert.equal(ok.events.length, 2);
});
