// The IMA rules read an ima bundle's list in place (`ImaInput.records`): plain ima-ng entries
// are judged from their bytes, every other entry as the decoded `entries` give it. The findings
// must be the ones the decoded path alone gives — same ids, paths, entry indexes, expected and
// actual values, same counts — on a list of unusual entries: a path that is not UTF-8, paths
// with spaces, quotes, a newline and no trailing NUL, ima-sig (verifying, failing, empty),
// ima-buf (keyring, ima_buf rule), a violation, excluded paths, sha1/sha512/unprefixed and
// unknown digest algorithms, a path with two allowed digests, unknown paths and a changed
// digest, and the agent-files rule watching paths on both sides. Both policy lookups are run:
// the parsed record and the policy cache's table (a file of more than 1 MB).
//
// The list is encoded here from the kernel's layout (u32 PCR, 20-byte SHA-1 template hash, u32
// name length, name, u32 data length, data; each template field u32 length + bytes; `d-ng` is
// `<alg>:\0` + digest; `n-ng` the path with its NUL), not with mrstack's encoder. Counts and
// findings expected from the construction are asserted too, not only the agreement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appraise } from '../../../../src/verifier/appraise/appraise.js';
import type { ImaInput } from '../../../../src/verifier/appraise/appraisal_input.js';
import {
  compilePolicy,
  validatePolicy,
  type CompiledPolicy,
  type PolicyV1,
} from '../../../../src/verifier/appraise/policy.js';
import { imaVerdictsAhead } from '../../../../src/verifier/appraise/ima_rules.js';
import { loadPolicyFile } from '../../../../src/verifier/appraise/policy_cache.js';
import { bundleReplayOf } from '../../../../src/verifier/appraise/proven_claims.js';
import { IMA_ENTRY_LIST, ImaEntryList } from '../../../../src/verifier/replay/ima_layer.js';
import type { EvidenceResult } from '../../../../src/verifier/verify/evidence_result.js';

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const field = (b: Buffer): Buffer => Buffer.concat([u32(b.length), b]);
const sha = (alg: string, s: string | Buffer): Buffer => createHash(alg).update(s).digest();

/** One list record; `violation`: an all-zero template hash, as IMA logs one. */
function record(template: string, fields: Buffer[], violation = false): Buffer {
  const data = Buffer.concat(fields.map(field));
  const th = violation ? Buffer.alloc(20) : sha('sha1', data);
  const name = Buffer.from(template, 'latin1');
  return Buffer.concat([u32(10), th, u32(name.length), name, u32(data.length), data]);
}
const dng = (alg: string | undefined, d: Buffer): Buffer =>
  alg === undefined ? d : Buffer.concat([Buffer.from(`${alg}:\0`, 'latin1'), d]);
const path = (p: string | Buffer, nul = true): Buffer =>
  Buffer.concat([
    typeof p === 'string' ? Buffer.from(p, 'utf8') : p,
    nul ? Buffer.alloc(1) : Buffer.alloc(0),
  ]);
const ng = (p: string | Buffer, alg: string | undefined, d: Buffer, nul = true): Buffer =>
  record('ima-ng', [dng(alg, d), path(p, nul)]);

// ima-sig: an RSA signature v2 (type 3, version 2, hash_algo 4 = sha256, key id = last 4 bytes
// of SHA-1 of the PKCS#1 key, u16 BE size), as evmctl writes it
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyid = sha('sha1', publicKey.export({ format: 'der', type: 'pkcs1' })).subarray(-4);
const signedContent = Buffer.from('#!/bin/sh\necho signed\n');
function sigV2(content: Buffer): Buffer {
  const s = sign('sha256', content, privateKey);
  const h = Buffer.alloc(9);
  h.set([3, 2, 4]);
  keyid.copy(h, 3);
  h.writeUInt16BE(s.length, 7);
  return Buffer.concat([h, s]);
}

const fileDigest = (i: number): Buffer => sha('sha256', `file ${i}`);
const keyBuf = Buffer.from('a key that is no key');
const kernelBuf = Buffer.from('6.18.0');

/** The list and what each entry is (index → expected verdict), built together. */
function buildList(): { data: Buffer; n: number; recs: Buffer[] } {
  const recs: Buffer[] = [];
  recs.push(ng('boot_aggregate', 'sha256', Buffer.alloc(32))); // 0: excluded by its name
  for (let i = 1; i <= 40; i++) recs.push(ng(`/usr/bin/f${i}`, 'sha256', fileDigest(i))); // 1..40
  recs.push(ng('/usr/bin/two', 'sha256', sha('sha256', 'second'))); // 41: the second digest
  recs.push(ng('/usr/bin/f7', 'sha256', sha('sha256', 'changed'))); // 42: digest-mismatch
  recs.push(ng('/usr/bin/nowhere', 'sha256', fileDigest(0))); // 43: unknown
  recs.push(ng('/tmp/scratch', 'sha256', fileDigest(0))); // 44: excluded
  recs.push(ng('/usr/lib/sha1', 'sha1', sha('sha1', 'one'))); // 45: sha1, allowed
  recs.push(ng('/usr/lib/sha512', 'sha512', sha('sha512', 'five'))); // 46: sha512, allowed
  recs.push(ng('/usr/lib/legacy', undefined, sha('sha1', 'legacy'))); // 47: unprefixed (sha1)
  recs.push(ng('/usr/lib/sha3', 'sha3-256', sha('sha3-256', 'three'))); // 48: other alg, allowed
  recs.push(ng(Buffer.from([0x2f, 0x62, 0xff, 0x66]), 'sha256', fileDigest(48))); // 49: not UTF-8
  recs.push(ng('/opt/ünï/x', 'sha256', fileDigest(49))); // 50: UTF-8
  recs.push(ng('/opt/a b\n"q"\\', 'sha256', fileDigest(50))); // 51: escapes, allowed
  recs.push(ng('/opt/no-nul', 'sha256', fileDigest(51), false)); // 52: no trailing NUL
  recs.push(ng('/opt/agent.js', 'sha256', fileDigest(52))); // 53: agent file (after the token)
  recs.push(
    record('ima-sig', [
      dng('sha256', sha('sha256', signedContent)),
      path('/usr/bin/signed'),
      sigV2(signedContent),
    ]),
  ); // 54: signed
  recs.push(
    record('ima-sig', [
      dng('sha256', fileDigest(55)),
      path('/usr/bin/badsig'),
      sigV2(Buffer.from('other')),
    ]),
  ); // 55: signature-invalid (not listed)
  recs.push(
    record('ima-sig', [dng('sha256', fileDigest(56)), path('/usr/bin/f5'), Buffer.alloc(0)]),
  ); // 56: ima-sig, no signature: digest-mismatch on f5
  recs.push(
    record('ima-sig', [dng('sha256', fileDigest(3)), path('/usr/bin/f3'), Buffer.alloc(0)]),
  ); // 57: ima-sig, no signature, allowed
  recs.push(record('ima-buf', [dng('sha256', sha('sha256', keyBuf)), path('.ima'), keyBuf])); // 58
  recs.push(
    record('ima-buf', [dng('sha256', sha('sha256', kernelBuf)), path('kernel_version'), kernelBuf]),
  ); // 59: ima_buf rule
  recs.push(
    record('ima-buf', [dng('sha256', sha('sha256', 'x')), path('unknown_buf'), Buffer.from('x')]),
  ); // 60: ima-buf unknown
  recs.push(record('ima-ng', [dng('sha256', fileDigest(2)), path('/usr/bin/f2')], true)); // 61
  recs.push(ng('/usr/bin/node', 'sha256', fileDigest(62))); // 62: agent file, not allowed
  recs.push(ng('/usr/bin/f1', 'sha256', fileDigest(1))); // 63: f1 again
  return { data: Buffer.concat(recs), n: recs.length, recs };
}

function policyOf(filler: number): PolicyV1 {
  const hex = (b: Buffer): string => b.toString('hex');
  const digests: Record<string, string[]> = {};
  for (let i = 1; i <= 40; i++) digests[`/usr/bin/f${i}`] = [hex(fileDigest(i))];
  // an odd-length digest (the schema allows 32..128 hex digits) comes back as written
  digests['/usr/bin/f7'] = [hex(fileDigest(7)), hex(fileDigest(7)).slice(0, 45)];
  digests['/usr/bin/two'] = [hex(sha('sha256', 'first')), hex(sha('sha256', 'second'))];
  digests['/usr/lib/sha1'] = [hex(sha('sha1', 'one'))];
  digests['/usr/lib/sha512'] = [hex(sha('sha512', 'five'))];
  digests['/usr/lib/legacy'] = [hex(sha('sha1', 'legacy'))];
  digests['/usr/lib/sha3'] = [hex(sha('sha3-256', 'three'))];
  digests['/b\ufffdf'] = [hex(fileDigest(48))]; // how the non-UTF-8 path decodes
  digests['/opt/ünï/x'] = [hex(fileDigest(49))];
  digests['/opt/a b\n"q"\\'] = [hex(fileDigest(50)), hex(fileDigest(0)).slice(0, 33)];
  digests['/opt/no-nul'] = [hex(fileDigest(51))];
  digests['/opt/agent.js'] = [hex(fileDigest(52))];
  for (let i = 0; i < filler; i++)
    digests[`/usr/share/filler/${i}/some/longer/name`] = [hex(fileDigest(1000 + i))];
  return {
    version: 1,
    name: 'bytes',
    require: { nonce: false },
    ima: {
      digests,
      excludes: ['boot_aggregate', '/tmp/.*'],
      keys: [publicKey.export({ format: 'pem', type: 'spki' }).toString()],
      keyrings: { '.ima': [sha('sha256', keyBuf).toString('hex')] },
      ima_buf: { kernel_version: [sha('sha256', kernelBuf).toString('hex')] },
      agent_files: ['/usr/bin/f1', '/b\ufffdf', '/opt/agent.js', '/usr/bin/node'],
    },
  };
}

/** The input an ima bundle's verify result gives appraisal (the CLI's path), and a count of the
 * entries the rules took decoded. */
function inputs(
  data: Buffer,
  n: number,
  since = 0,
): { withBytes: ImaInput; decoded: ImaInput; taken: () => number; scans: () => number } {
  const shared = new Uint8Array(data);
  const list = new ImaEntryList(shared, n, n, since);
  const claims: Record<string | symbol, unknown> = {
    since: 0,
    layers: {
      ima: {
        vmr: 'mr_ima',
        alg: 'sha384',
        banks: {},
        verified: n,
        // the agent started mirroring after entry 52: /opt/agent.js (53) came after it
        tokens: [{ record: 3, count: 53 }],
        ...(since === 0 ? {} : { since }),
      },
    },
  };
  claims[IMA_ENTRY_LIST] = list;
  const r = { kind: 'bundle', claims, errors: [] } as unknown as EvidenceResult;
  const input = bundleReplayOf(r).ima?.[0];
  assert.ok(input?.records !== undefined, 'an ima bundle gives its list in place');
  let taken = 0;
  let scans = 0;
  const records = input.records;
  const { records: _r, ...decoded } = input; // eslint-disable-line @typescript-eslint/no-unused-vars
  return {
    withBytes: {
      ...input,
      records: {
        ...records,
        each: (visit) => {
          scans++;
          records.each(visit);
        },
        record: (v) => {
          taken++;
          return records.record(v);
        },
      },
    },
    decoded,
    taken: () => taken,
    scans: () => scans,
  };
}

function judge(policy: CompiledPolicy, input: ImaInput) {
  return appraise(undefined, { registers: [], tenantEvents: [], ima: [input] }, policy, {
    at: new Date('2026-12-07T00:00:00Z'),
  });
}

test('IMA rules from the list bytes give the decoded path’s findings, parsed and cached policy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-ima-bytes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { data, n, recs } = buildList();
  const p = policyOf(20_000);
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(p));
  const cache = join(dir, 'cache');
  await loadPolicyFile(file, { cacheDir: cache }); // writes the entry
  const cached = await loadPolicyFile(file, { cacheDir: cache });
  assert.ok(cached.imaDigests?.allowsBytes !== undefined, 'the cache table answers from bytes');
  const parsed = await validatePolicy(p);
  const results: unknown[] = [];
  for (const [label, loaded] of [
    ['parsed', parsed],
    ['cached', cached],
  ] as const) {
    const policy = compilePolicy(loaded);
    const inp = inputs(data, n);
    const fromBytes = judge(policy, inp.withBytes);
    const decoded = judge(policy, inp.decoded);
    assert.deepEqual(fromBytes, decoded, `${label}: the same appraisal`);
    // the verdicts worked out ahead (while the list folds) give it too
    const ahead = imaVerdictsAhead(policy, new Uint8Array(data), 0);
    assert.ok(ahead !== undefined);
    const before = inp.taken();
    assert.deepEqual(judge(policy, { ...inp.withBytes, ahead }), decoded, `${label}: ahead`);
    assert.equal(inp.taken() - before, before, `${label}: the same entries decoded`);

    results.push(decoded);
    // what the construction says
    assert.deepEqual(
      decoded.ima,
      {
        entries: n,
        // f1..f40, two, sha1, sha512, legacy, sha3, not-UTF-8, ünï, escapes, no-nul, agent.js,
        // f3 (ima-sig unsigned), the keyring key, kernel_version, f1 again
        matched: 40 + 1 + 4 + 9,
        signed: 1,
        excluded: 2,
        unknown: 4, // nowhere, badsig, unknown_buf, node
        mismatched: 2, // f7 changed, f5 via ima-sig
        violations: 1,
      },
      label,
    );
    const failing = decoded.findings
      .filter((f) => f.status !== 'affirming' && f.id !== 'claim.unproven')
      .map((f) => [f.id, f.claim, f.where.record]);
    assert.deepEqual(
      failing.sort(),
      [
        ['ima.agent.not-measured-first', '/opt/agent.js', 53],
        ['ima.agent.not-measured-first', '/usr/bin/node', 62],
        ['ima.buf.unknown', 'unknown_buf', 60],
        ['ima.file.digest-mismatch', '/usr/bin/f5', 56],
        ['ima.file.digest-mismatch', '/usr/bin/f7', 42],
        ['ima.file.signature-invalid', '/usr/bin/badsig', 55],
        ['ima.file.unknown', '/usr/bin/node', 62],
        ['ima.file.unknown', '/usr/bin/nowhere', 43],
        ['ima.violation', '/usr/bin/f2', 61],
      ].sort(),
      label,
    );
    // the plain ima-ng entries that pass were judged from their bytes: only the others were
    // decoded (0 boot_aggregate and 44 /tmp are plain and excluded; 49 and 50 are not ASCII)
    const decodedOnes = [42, 43, 47, 48, 49, 50, 54, 55, 56, 57, 58, 59, 60, 61, 62];
    assert.equal(before, decodedOnes.length, label);
    // a list sent from entry 10 (incremental): verdicts indexed from there
    const tail = Buffer.concat(recs.slice(10));
    const inp2 = inputs(tail, n, 10);
    const tailAhead = imaVerdictsAhead(policy, new Uint8Array(tail), 10);
    const tailDecoded = judge(policy, inp2.decoded);
    assert.equal(tailDecoded.ima?.entries, n - 10);
    assert.deepEqual(judge(policy, { ...inp2.withBytes, ahead: tailAhead! }), tailDecoded);
    assert.deepEqual(judge(policy, inp2.withBytes), tailDecoded);
  }
  assert.deepEqual(results[1], results[0], 'the cached policy judges as the parsed one');
  // the verdicts ahead look paths up a batch at a time (64 entries): the list five times over
  // (320 entries, the unusual ones on both sides of each batch's edge) and cut at an odd entry
  // gives the decoded path's appraisal too, for both policies
  for (const loaded of [parsed, cached]) {
    const pol = compilePolicy(loaded);
    const many = [...recs, ...recs, ...recs, ...recs, ...recs].slice(3);
    const big = Buffer.concat(many);
    const inp5 = inputs(big, many.length);
    const want5 = judge(pol, inp5.decoded);
    const counts = want5.ima;
    assert.ok(counts !== undefined);
    assert.equal(counts.entries, many.length);
    assert.ok(counts.mismatched >= 10 && counts.unknown >= 20, JSON.stringify(counts));
    const ahead5 = imaVerdictsAhead(pol, new Uint8Array(big), 0);
    assert.deepEqual(judge(pol, { ...inp5.withBytes, ahead: ahead5! }), want5);
  }
  // a list of plain entries only (boot_aggregate excluded, f2..f40 allowed; f1 would be a
  // watched agent file): with verdicts ahead the counts are theirs, the list is not read again
  const plain = Buffer.concat([recs[0]!, ...recs.slice(2, 41)]);
  const policy = compilePolicy(cached);
  const inp = inputs(plain, 40);
  const want = judge(policy, inp.decoded);
  assert.deepEqual(want.ima, { ...want.ima, entries: 40, matched: 39, excluded: 1 });
  const ahead = imaVerdictsAhead(policy, new Uint8Array(plain), 0)!;
  assert.deepEqual(judge(policy, { ...inp.withBytes, ahead }), want);
  assert.equal(inp.scans(), 0, 'the verdicts ahead were counted');
  assert.deepEqual(judge(policy, inp.withBytes), want);
  assert.equal(inp.scans(), 1, 'without them the list is read');
  const mismatch = (results[0] as ReturnType<typeof judge>).findings.find(
    (f) => f.claim === '/usr/bin/f7',
  );
  assert.deepEqual(mismatch?.expected, [
    fileDigest(7).toString('hex'),
    fileDigest(7).toString('hex').slice(0, 45),
  ]);
});
