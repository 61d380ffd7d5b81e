// The verifier service reads a request's bundle once (service/incremental.ts readBundleOnce):
// strictly, as the bundle verifier parses it, so that its window (which stored checkpoint the
// verifier gets) comes from the same parse the verifier then uses. The window must be what the
// bundle's JSON says (read here with JSON.parse); a bundle the strict parse refuses (a duplicate
// member) gives no window and no parsed bundle; a parsed bundle handed to the verifier for other
// bytes is not used — the bytes are parsed, and refused, themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleSkeleton } from '../../../_support/bundle_skeleton.js';
import { readBundleOnce } from '../../../../src/verifier/service/incremental.js';
import { verifyEvidence } from '../../../../src/verifier/verify/evidence_dispatch.js';

/** A tenant bundle sent since line 7 of its log, or an ima bundle sent since entry 5. */
function bundleJson(kind: 'tenant' | 'ima'): Record<string, unknown> {
  return {
    ...bundleSkeleton({
      tenant: kind === 'ima' ? 'ima' : 'alice',
      physicalLog: { since: 3, after: 1, lines: ['a line'] },
    }),
    ...(kind === 'ima'
      ? {
          ima_log: {
            vmr: 'mr_ima',
            alg: 'sha384',
            salt: '5a'.repeat(32),
            count: 6,
            since: 5,
            banks: { sha1: '11'.repeat(20), sha256: '22'.repeat(32), sha384: '33'.repeat(48) },
            format: 'ima-binary',
            data: '',
          },
        }
      : {
          tenant_log: {
            vmr: 'vmr_alice',
            alg: 'sha384',
            since: 7,
            since_record: 4,
            since_value: '44'.repeat(48),
            extended_before: 0,
            before: 0,
            after: 0,
            lines: [],
          },
        }),
  };
}

const bytesOf = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));

test('a bundle is read once: its window is what its JSON says, the parsed bundle is of these bytes', () => {
  for (const kind of ['tenant', 'ima'] as const) {
    const j = bundleJson(kind);
    const bytes = bytesOf(j);
    const r = readBundleOnce(bytes);
    assert.ok(r.parsed !== undefined, kind);
    assert.equal(r.parsed.bytes, bytes, 'the parsed bundle names the very bytes it came from');
    const p = j['physical_log'] as { register: string; since: number };
    assert.deepEqual(
      r.window,
      kind === 'ima'
        ? { register: p.register, since: p.since, ima: { since: 5 } }
        : { register: p.register, since: p.since, tenant: { name: 'alice', since: 7 } },
      kind,
    );
  }
  // not a bundle: a raw report, a report envelope
  assert.deepEqual(readBundleOnce(new Uint8Array([0x04, 0x00, 0x02])), {});
  assert.deepEqual(readBundleOnce(bytesOf({ format: 'mrstack-report-v1', kind: 'tdx' })), {});
});

test('a bundle with a duplicate member gives no window and no parsed bundle; the verifier refuses it even when handed the parse of other bytes', async () => {
  const good = bytesOf(bundleJson('tenant'));
  const text = new TextDecoder().decode(good);
  // "since": 3 twice in physical_log (JSON.parse would keep the last, 9)
  const dup = new TextEncoder().encode(text.replace('"since":3,', '"since":3,"since":9,'));
  assert.notEqual(new TextDecoder().decode(dup), text);
  assert.deepEqual(readBundleOnce(dup), {});
  const parsed = readBundleOnce(good).parsed;
  assert.ok(parsed !== undefined);
  await assert.rejects(verifyEvidence(dup, { parsedBundle: parsed, relax: ['nonce'] }), (e) => {
    const x = e as { code?: string; field?: string };
    assert.equal(x.code, 'ERR_BAD_JSON');
    assert.match(String(x.field), /since/);
    return true;
  });
});
