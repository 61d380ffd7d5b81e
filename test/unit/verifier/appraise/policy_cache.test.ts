// The policy cache (policy_cache.ts): a large policy file loads the same through the cache as
// parsed — the same id, the same allowed digests per path, the same refusals — and a cache entry
// that was changed, cut or written for other bytes is never used. The policy id is checked
// against a canonical JSON made here with JSON.stringify and sorted keys (an independent
// serialiser), hashed with node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compilePolicy,
  parsePolicy,
  type PolicyV1,
} from '../../../../src/verifier/appraise/policy.js';
import {
  loadPolicyFile,
  POLICY_CACHE_MIN_BYTES,
  primePolicyCache,
} from '../../../../src/verifier/appraise/policy_cache.js';
import { rehashedWithDebug } from '../../../_support/policy_cache_forgery.js';

/** Canonical JSON the plain way: every object's keys sorted, no whitespace. */
function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : x,
  );
}

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A keylime-like runtime policy over `n` paths, unsorted, some odd names, two digests for some. */
function bigPolicy(n: number): PolicyV1 {
  const digests: Record<string, string[]> = {};
  for (let i = n - 1; i >= 0; i--) {
    const path =
      i % 97 === 0 ? `/opt/ünï/f${i} "q"\\` : `/usr/lib/x86_64-linux-gnu/lib${i % 50}/f${i}.so`;
    digests[path] = i % 13 === 0 ? [hex(`a${i}`), hex(`b${i}`)] : [hex(`a${i}`)];
  }
  Object.defineProperty(digests, '__proto__', {
    value: [hex('proto')],
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return {
    version: 1,
    name: 'big',
    ima: { digests, excludes: ['/tmp/.*'] },
    tdx: { debug: false },
  };
}

function setup(t: { after(fn: () => void): void }): { dir: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-policy-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, cache: join(dir, 'cache') };
}

test('a large policy loads the same through the cache: id, digests per path, other sections', async (t) => {
  const { dir, cache } = setup(t);
  const p = bigPolicy(12_000);
  const allow: Readonly<Record<string, readonly string[]>> = p.ima?.digests ?? {};
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(p, null, 1));
  assert.ok(readFileSync(file).length >= POLICY_CACHE_MIN_BYTES);
  const parsed = await parsePolicy(readFileSync(file, 'utf8'));
  assert.equal(parsed.id, `big@sha256:${hex(sortedJson(p))}`);
  const miss = await loadPolicyFile(file, { cacheDir: cache });
  assert.equal(readdirSync(cache).length, 1, 'the first load writes the cache entry');
  const hit = await loadPolicyFile(file, { cacheDir: cache });
  assert.ok(hit.imaDigests !== undefined, 'the second load reads the table');
  for (const l of [miss, hit]) assert.equal(l.id, parsed.id);
  const c = compilePolicy(hit);
  const table = c.ima.digests;
  const allows = (p: string, d: string): boolean | undefined => {
    assert.ok(table.allows !== undefined, 'the table answers in place');
    return table.allows(p, d);
  };
  for (const [path, want] of Object.entries(allow)) {
    assert.deepEqual(table.get(path), want, path);
    for (const d of want) assert.equal(allows(path, d), true, path);
    assert.equal(allows(path, hex('other')), false, path);
    assert.equal(allows(path, want[0]!.slice(0, 40)), false, path);
  }
  assert.equal(allows('/usr/lib/nope', hex('a1')), undefined);
  assert.deepEqual(c.ima.digests.get('__proto__'), [hex('proto')]);
  for (const absent of ['/usr/lib/nope', '', 'constructor', '/opt/ünï/f0 "q"'])
    assert.equal(c.ima.digests.get(absent), undefined, absent);
  assert.deepEqual(hit.policy.tdx, { debug: false });
  assert.deepEqual(hit.policy.ima?.excludes, ['/tmp/.*']);
  // the record itself, when read, is the file's (order included): the id recomputes from it
  const record: object = hit.policy.ima.digests ?? {};
  assert.deepEqual(Object.keys(record), Object.keys(allow));
  assert.equal(`big@sha256:${hex(sortedJson(hit.policy))}`, parsed.id);
  assert.ok(Object.isFrozen(hit.policy) && Object.isFrozen(hit.policy.ima));
});

test('a changed, cut or foreign cache entry is not used; a bad policy is not cached', async (t) => {
  const { dir, cache } = setup(t);
  const p = bigPolicy(12_000);
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(p));
  await loadPolicyFile(file, { cacheDir: cache });
  const [name] = readdirSync(cache);
  const entry = join(cache, name!);
  const good = readFileSync(entry);
  // one bit of a digest changed in the table (digests are kept as bytes): the body hash no
  // longer matches
  const changed = Buffer.from(good);
  const at = changed.lastIndexOf(Buffer.from(hex('a1'), 'hex'));
  assert.ok(at > 0, 'the digest is in the entry');
  changed[at] = changed[at]! ^ 1;
  for (const bad of [changed, good.subarray(0, good.length - 7), Buffer.from('not a cache')]) {
    writeFileSync(entry, bad);
    const l = await loadPolicyFile(file, { cacheDir: cache });
    assert.deepEqual(compilePolicy(l).ima.digests.get('/usr/lib/x86_64-linux-gnu/lib1/f1.so'), [
      hex('a1'),
    ]);
    assert.deepEqual(readFileSync(entry), good, 'rewritten from the policy file');
  }
  // the entry of other bytes is never taken for this file
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ ...p, name: 'other' }));
  const o = await loadPolicyFile(other, { cacheDir: cache });
  assert.match(o.id, /^other@sha256:/);
  // an invalid policy is refused and leaves no entry
  const bad = join(dir, 'bad.json');
  const broken = bigPolicy(12_000);
  (broken.ima!.digests as Record<string, string[]>)['/x'] = ['NOT-HEX'];
  writeFileSync(bad, JSON.stringify(broken));
  const before = readdirSync(cache).length;
  await assert.rejects(loadPolicyFile(bad, { cacheDir: cache }), { code: 'ERR_POLICY_INVALID' });
  assert.equal(readdirSync(cache).length, before);
});

test('the header is covered by the check: a changed policy section is not used', async (t) => {
  const { dir, cache } = setup(t);
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(bigPolicy(12_000)));
  await loadPolicyFile(file, { cacheDir: cache });
  const entry = join(cache, readdirSync(cache)[0]!);
  const good = readFileSync(entry);
  const changed = Buffer.from(good);
  changed.write('"debug":true ', good.indexOf('"debug":false'), 'latin1');
  writeFileSync(entry, changed);
  const l = await loadPolicyFile(file, { cacheDir: cache });
  assert.deepEqual(l.policy.tdx, { debug: false });
  assert.deepEqual(readFileSync(entry), good, 'rewritten from the policy file');
});

test('the cache is private: made 0700/0600, and not read when others can write it', async (t) => {
  const { dir, cache } = setup(t);
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(bigPolicy(12_000)));
  await loadPolicyFile(file, { cacheDir: cache });
  const entry = join(cache, readdirSync(cache)[0]!);
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  assert.equal(statSync(entry).mode & 0o777, 0o600);
  // An entry rewritten with a valid checksum by whoever can write the directory: in a private
  // directory it is read (the check finds corruption, not authors — docs/appraisal.md) …
  const forged = rehashedWithDebug(readFileSync(entry));
  writeFileSync(entry, forged, { mode: 0o600 });
  assert.deepEqual((await loadPolicyFile(file, { cacheDir: cache })).policy.tdx, { debug: true });
  // … but not when the directory or the entry is writable by group or others.
  for (const [target, mode] of [
    [cache, 0o777],
    [cache, 0o770],
    [entry, 0o666],
  ] as const) {
    chmodSync(cache, 0o700);
    writeFileSync(entry, forged);
    chmodSync(entry, 0o600);
    chmodSync(target, mode);
    const l = await loadPolicyFile(file, { cacheDir: cache });
    assert.deepEqual(l.policy.tdx, { debug: false }, `${target} mode ${mode.toString(8)}`);
  }
});

test('primed for the text about to be written (policy import --out): the first load hits', async (t) => {
  const { dir, cache } = setup(t);
  const p = bigPolicy(12_000);
  const text = `${JSON.stringify(p, null, 2)}\n`;
  const loaded = await parsePolicy(text);
  primePolicyCache(text, loaded, cache);
  const file = join(dir, 'imported.json');
  writeFileSync(file, text);
  const l = await loadPolicyFile(file, { cacheDir: cache });
  assert.ok(l.imaDigests !== undefined);
  assert.equal(l.id, loaded.id);
  // too small to cache: nothing written
  const small = { version: 1, name: 'small' } as const;
  primePolicyCache(
    JSON.stringify(small),
    await parsePolicy(JSON.stringify(small)),
    join(dir, 'c2'),
  );
  assert.throws(() => readdirSync(join(dir, 'c2')), { code: 'ENOENT' });
});

test('read on a worker thread (thread: true): the same policy, the same checks', async (t) => {
  const { dir, cache } = setup(t);
  const p = bigPolicy(12_000);
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(p));
  const parsed = await parsePolicy(readFileSync(file, 'utf8'));
  const miss = await loadPolicyFile(file, { cacheDir: cache, thread: true });
  assert.equal(readdirSync(cache).length, 1, 'the miss writes the entry');
  const hit = await loadPolicyFile(file, { cacheDir: cache, thread: true });
  for (const l of [miss, hit]) {
    assert.equal(l.id, parsed.id);
    assert.deepEqual(compilePolicy(l).ima.digests.get('/usr/lib/x86_64-linux-gnu/lib1/f1.so'), [
      hex('a1'),
    ]);
  }
  // a changed entry is not used, a forged one in a directory others can write is not read
  const entry = join(cache, readdirSync(cache)[0]!);
  const good = readFileSync(entry);
  const changed = Buffer.from(good);
  changed.write('"debug":true ', good.indexOf('"debug":false'), 'latin1');
  writeFileSync(entry, changed);
  assert.deepEqual((await loadPolicyFile(file, { cacheDir: cache, thread: true })).policy.tdx, {
    debug: false,
  });
  assert.deepEqual(readFileSync(entry), good, 'rewritten from the policy file');
  writeFileSync(entry, rehashedWithDebug(good));
  chmodSync(cache, 0o770);
  assert.deepEqual((await loadPolicyFile(file, { cacheDir: cache, thread: true })).policy.tdx, {
    debug: false,
  });
  chmodSync(cache, 0o700);
  // a small file and a missing one, as without the thread
  const small = join(dir, 'small.json');
  writeFileSync(small, JSON.stringify({ version: 1, name: 'small' }));
  assert.match((await loadPolicyFile(small, { cacheDir: cache, thread: true })).id, /^small@/);
  await assert.rejects(loadPolicyFile(join(dir, 'nope.json'), { cacheDir: cache, thread: true }), {
    code: 'ERR_NOT_FOUND',
  });
});
