// Issue #16, Must show, end to end on the emulated TDX through the CLI: `emulate ima measure`
// logs files as a TPM-bypass kernel would, `agent start --ima` mirrors the list into mr_ima on
// RTMR3, `evidence get --socket RUN/tenants/ima.sock` returns the ima bundle, and
// `evidence verify` / `appraise` judge it with a keylime runtime policy built here from the
// files' SHA-256 (node:crypto over the bytes the test wrote).
//
// evmctl agrees without circularity: the banks are taken from the bundle (`ima_log.banks`) only
// after `openssl dgst -sha384` over the spec's commitment layout (label ‖ salt ‖ u64be(count) ‖
// sha1 ‖ sha256 ‖ sha384) equals the last mr_ima token of the verified physical log; evmctl
// (Debian ima-evm-utils 1.4; sha1 and sha256 only — it does not know sha384) replays the list
// itself against them as PCR 10.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';
import { cliEvidence, spawnAgent } from '../../_support/agent_harness.js';
import { Evmctl } from '../../_support/evmctl.js';
import { runTool } from '../../_support/peers.js';

interface Finding {
  id: string;
  status: string;
  claim: string;
  where: { layer: string; log?: string; record?: number };
}
interface AppraisalJson {
  status: string;
  findings: Finding[];
  ima: { entries: number; matched: number };
}
interface ImaBundleJson {
  binding: { tenant: string };
  physical_log: { lines: string[] };
  ima_log: {
    alg: string;
    salt: string;
    count: number;
    banks: Record<string, string>;
    data: string;
  };
  tenant_log?: unknown;
}

const FILES = 1000;

/** One agent over an emulated TDX with `FILES` files measured; shared by the tests below. */
interface Setup {
  readonly dir: string;
  readonly tvm: string;
  readonly run: string;
  readonly collateral: string;
  /** Real path → SHA-256 hex of the files measured so far. */
  readonly files: Map<string, string>;
  readonly imaSock: string;
  readonly aliceSock: string;
}

async function measure(tvm: string, paths: readonly string[]): Promise<void> {
  const r = await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, ...paths]);
  assert.equal(r.code, 0, r.stderr);
}

function writeFile(s: Setup | { files: Map<string, string> }, path: string, content: string): void {
  writeFileSync(path, content);
  s.files.set(realpathSync(path), createHash('sha256').update(content).digest('hex'));
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = tempDir(t, 'mrstack-mrima-');
  const tvm = join(dir, 'tvm');
  const run = join(dir, 'run');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code, 0);
  const fdir = join(dir, 'files');
  mkdirSync(fdir);
  const files = new Map<string, string>();
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const p = join(fdir, `f-${String(i).padStart(4, '0')}`);
    writeFile({ files }, p, `file ${i} ${randomBytes(8).toString('hex')}\n`);
    paths.push(p);
  }
  // the first quarter before the agent starts, the rest in three batches, each followed by a
  // report (the agent mirrors the whole list before each): mr_ima tokens at several counts
  await measure(tvm, paths.slice(0, 250));
  const tenantsFile = join(dir, 'tenants.json');
  writeFileSync(tenantsFile, JSON.stringify({ tenants: [{ name: 'alice', vmr: 'alice' }] }));
  const list = join(tvm, 'ima', 'binary_runtime_measurements');
  const agent = await spawnAgent([
    '--tvm-state',
    tvm,
    '--run-dir',
    run,
    '--tenants',
    tenantsFile,
    '--ima',
    '--ima-log',
    list,
    '--log-level',
    'warn',
  ]);
  t.after(() => agent.stop());
  const s: Setup = {
    dir,
    tvm,
    run,
    collateral: join(dir, 'collateral.json'),
    files,
    imaSock: join(run, 'tenants', 'ima.sock'),
    aliceSock: join(run, 'tenants', 'alice.sock'),
  };
  for (const [a, b] of [
    [250, 500],
    [500, 750],
    [750, 1000],
  ] as const) {
    assert.equal(await cliEvidence(s.imaSock, '00', join(dir, `warm-${a}.json`)), 0);
    await measure(tvm, paths.slice(a, b));
  }
  // the emulated PKI's collateral, as `mrstack report` ships it in its envelope
  const env = join(dir, 'report.json');
  assert.equal(
    (await runCli(['report', '--nonce', '00', '--tvm-state', tvm, '--out', env])).code,
    0,
  );
  writeFileSync(
    s.collateral,
    JSON.stringify((JSON.parse(readFileSync(env, 'utf8')) as { collateral: unknown }).collateral),
  );
  return s;
}

/** A keylime runtime policy v1 allowing exactly these files (and the zero boot_aggregate). */
async function keylimePolicy(s: Setup, files: ReadonlyMap<string, string>): Promise<string> {
  const digests: Record<string, string[]> = { boot_aggregate: ['00'.repeat(32)] };
  for (const [p, d] of files) digests[p] = [d];
  const kl = join(s.dir, `keylime-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(
    kl,
    JSON.stringify({
      meta: { version: 1, generator: 0 },
      release: 0,
      digests,
      excludes: [],
      keyrings: {},
      ima: { ignored_keyrings: [], log_hash_alg: 'sha1', dm_policy: null },
      'ima-buf': {},
      'verification-keys': '',
    }),
  );
  const out = `${kl}.policy.json`;
  const r = await runCli(['policy', 'import', '--from', 'keylime', kl, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

async function imaEvidence(s: Setup, tag: string): Promise<{ file: string; nonce: string }> {
  const nonce = randomBytes(32).toString('hex');
  const file = join(s.dir, `${tag}.json`);
  assert.equal(await cliEvidence(s.imaSock, nonce, file), 0);
  return { file, nonce };
}

async function appraise(
  s: Setup,
  file: string,
  nonce: string,
  policy: string,
): Promise<{ code: number | null; json: AppraisalJson }> {
  const { result, json } = await runCliJson([
    'appraise',
    file,
    '--policy',
    policy,
    '--nonce',
    nonce,
    '--trust-emulated',
    '--tvm-state',
    s.tvm,
    '--collateral',
    s.collateral,
    '--json',
  ]);
  assert.ok(result.code === 0 || result.code === 1, result.stderr);
  return { code: result.code, json: json as AppraisalJson };
}

async function verify(s: Setup, file: string, nonce: string, imaEvents?: 'all') {
  const { result, json } = await verifyEvidenceJson(file, {
    nonce,
    trustEmulated: true,
    tvmState: s.tvm,
    ...(imaEvents === undefined ? {} : { imaEvents }),
  });
  assert.ok(result.code === 0 || result.code === 1, result.stderr);
  return {
    code: result.code,
    json: json as unknown as Record<string, unknown> & { verified: boolean },
  };
}

/** Byte offsets of each entry of a little-endian binary list with 20-byte template hashes. */
function entryOffsets(list: Buffer): number[] {
  const out: number[] = [];
  let p = 0;
  while (p < list.length) {
    out.push(p);
    const nameLen = list.readUInt32LE(p + 24);
    p += 28 + nameLen;
    p += 4 + list.readUInt32LE(p);
  }
  out.push(p);
  return out;
}

/** The mr_ima tokens of physical log lines, in order: [record, C hex, count]. */
function imaTokens(lines: readonly string[]): { record: number; c: string; count: number }[] {
  const out: { record: number; c: string; count: number }[] = [];
  lines.forEach((l, record) => {
    const m = / mr_ima=sha384\/([0-9a-f]{96})@([0-9]+)/.exec(l);
    if (l.startsWith('VMR ') && m !== null) out.push({ record, c: m[1]!, count: Number(m[2]) });
  });
  return out;
}

test(
  'mr_ima end to end: 1,000 files affirm; unknown file; changed file; deleted entry; other tenant; evmctl',
  { timeout: 900_000 },
  async (t) => {
    const s = await setup(t);
    const policy = await keylimePolicy(s, s.files);

    // 1. everything measured is in the policy: affirming, every entry verified
    const a = await imaEvidence(s, 'all');
    const v = await verify(s, a.file, a.nonce, 'all');
    assert.equal(v.code, 0, JSON.stringify((v.json as { errors?: unknown }).errors));
    const claims = v.json['claims'] as {
      layers: { ima: { entries: number; verified: number; pending: number; tokens: unknown[] } };
      events: { index: number; path: string; state: string }[];
    };
    assert.equal(claims.events.length, FILES + 1);
    assert.ok(claims.events.every((e, i) => e.index === i && e.state === 'verified'));
    // without --ima-events all, claims.events lists only the entries not verified: none here
    const brief = (await verify(s, a.file, a.nonce)).json['claims'] as Record<string, unknown>;
    assert.deepEqual(brief['events'], []);
    assert.equal(brief['events_listed'], 'unverified');
    assert.equal(claims.layers.ima.entries, FILES + 1); // boot_aggregate + the files
    assert.equal(claims.layers.ima.verified, FILES + 1);
    assert.equal(claims.layers.ima.pending, 0);
    assert.ok(claims.layers.ima.tokens.length >= 4, JSON.stringify(claims.layers.ima.tokens));
    assert.equal(claims.events[0]!.path, 'boot_aggregate');
    assert.equal(claims.events[1]!.path, [...s.files.keys()][0]);
    const ok = await appraise(s, a.file, a.nonce, policy);
    assert.equal(
      ok.code,
      0,
      JSON.stringify(ok.json.findings.filter((f) => f.status !== 'affirming')),
    );
    assert.equal(ok.json.status, 'affirming');
    assert.equal(ok.json.ima.entries, FILES + 1);
    assert.equal(ok.json.ima.matched, FILES + 1);
    assert.ok(ok.json.findings.some((f) => f.id === 'ima.log.allowed'));
    // the text screen shows the layer
    const text = await runCli([
      'evidence',
      'verify',
      a.file,
      '--nonce',
      a.nonce,
      '--trust-emulated',
      '--tvm-state',
      s.tvm,
    ]);
    assert.match(text.stdout, /^ima +ok +mr_ima: 1001 entries: 1001 verified, 0 pending/m);

    // 2. an entry deleted from the bundle's list: the replay fails at a token whose entry range
    // holds it, narrower than the whole list
    const b = JSON.parse(readFileSync(a.file, 'utf8')) as ImaBundleJson;
    const list = Buffer.from(b.ima_log.data, 'base64');
    const offs = entryOffsets(list);
    assert.equal(offs.length - 1, FILES + 1);
    const k = 600;
    const cut = structuredClone(b);
    cut.ima_log.data = Buffer.concat([
      list.subarray(0, offs[k]),
      list.subarray(offs[k + 1]),
    ]).toString('base64');
    const cutFile = join(s.dir, 'cut.json');
    writeFileSync(cutFile, JSON.stringify(cut));
    const cv = await verify(s, cutFile, a.nonce);
    assert.equal(cv.code, 1);
    const errs = cv.json['errors'] as Record<string, unknown>[];
    const miss = errs.find((e) => typeof e['first_entry'] === 'number');
    assert.ok(miss, JSON.stringify(errs));
    assert.equal(miss['code'], 'ERR_REPLAY_MISMATCH');
    const first = miss['first_entry'] as number;
    const last = miss['last_entry'] as number;
    assert.ok(first <= k && k <= last, `${first}..${last}`);
    assert.ok(last - first < FILES, `${first}..${last}`);
    assert.equal(typeof miss['record'], 'number');
    const ca = await appraise(s, cutFile, a.nonce, policy);
    assert.equal(ca.json.status, 'contraindicated');
    assert.ok(ca.json.findings.some((f) => f.id === 'replay.mr_ima.inconsistent'));

    // 3. evmctl agrees, without circularity: banks from the bundle once the verified physical
    // log's last mr_ima token commits to them (openssl over the spec's layout)
    const pl = b.physical_log.lines;
    const position = (v.json['claims'] as { layers: { physical: { position: number } } }).layers
      .physical.position;
    const tokens = imaTokens(pl).filter((x) => x.record < position);
    const lastTok = tokens[tokens.length - 1]!;
    assert.equal(lastTok.count, b.ima_log.count);
    const n = Buffer.alloc(8);
    n.writeBigUInt64BE(BigInt(lastTok.count));
    const committed = Buffer.concat([
      Buffer.from('mrstack-mr-ima-v1'),
      Buffer.from(b.ima_log.salt, 'hex'),
      n,
      Buffer.from(b.ima_log.banks['sha1']!, 'hex'),
      Buffer.from(b.ima_log.banks['sha256']!, 'hex'),
      Buffer.from(b.ima_log.banks['sha384']!, 'hex'),
    ]);
    const c = runTool('openssl', ['dgst', '-sha384', '-binary'], committed).toString('hex');
    assert.equal(c, lastTok.c);
    const peer = new Evmctl();
    t.after(() => peer.close());
    const cutList = list.subarray(0, offs[lastTok.count]);
    const banks = { sha1: b.ima_log.banks['sha1']!, sha256: b.ima_log.banks['sha256']! };
    const ev = peer.run(cutList, banks);
    assert.equal(ev.status, 0, ev.out);
    assert.match(ev.out, /Matched per TPM bank/);
    const altered = Buffer.from(cutList);
    altered[offs[300]! + 60]! ^= 0x01; // inside entry 300's template data (its file digest)
    const bad = peer.run(altered, banks);
    assert.ok(bad.status !== 0 || !bad.out.includes('Matched per TPM bank'), bad.out);

    // 4. another tenant's bundle carries the mr_ima token and no bank value
    const an = randomBytes(32).toString('hex');
    const aliceFile = join(s.dir, 'alice.json');
    assert.equal(await cliEvidence(s.aliceSock, an, aliceFile), 0);
    const aliceText = readFileSync(aliceFile, 'utf8');
    const alice = JSON.parse(aliceText) as ImaBundleJson;
    assert.equal('ima_log' in alice, false);
    assert.ok(imaTokens(alice.physical_log.lines).length > 0);
    for (const [alg, hex] of Object.entries(b.ima_log.banks))
      assert.equal(aliceText.includes(hex), false, `alice's bundle holds the ${alg} bank`);
    assert.equal(aliceText.includes(b.ima_log.salt), false);
    assert.equal((await verify(s, aliceFile, an)).code, 0);

    // 5. a file the policy does not list: ima.file.unknown naming its path and entry index
    const extra = join(s.dir, 'files', 'not-in-policy');
    writeFileSync(extra, 'surprise\n');
    await measure(s.tvm, [extra]);
    const u = await imaEvidence(s, 'unknown');
    const ua = await appraise(s, u.file, u.nonce, policy);
    assert.equal(ua.code, 1);
    const unknown = ua.json.findings.filter((f) => f.id === 'ima.file.unknown');
    assert.equal(unknown.length, 1, JSON.stringify(ua.json.findings.slice(0, 5)));
    assert.equal(unknown[0]!.claim, realpathSync(extra));
    assert.equal(unknown[0]!.where.layer, 'ima');
    assert.equal(unknown[0]!.where.record, FILES + 1);

    // 6. one file changed and measured again: ima.file.digest-mismatch naming that path
    const changed = [...s.files.keys()][5]!;
    writeFileSync(changed, 'changed content\n');
    await measure(s.tvm, [changed]);
    const m = await imaEvidence(s, 'changed');
    const ma = await appraise(s, m.file, m.nonce, policy);
    assert.equal(ma.code, 1);
    const mismatch = ma.json.findings.filter((f) => f.id === 'ima.file.digest-mismatch');
    assert.equal(mismatch.length, 1, JSON.stringify(ma.json.findings.slice(0, 5)));
    assert.equal(mismatch[0]!.claim, changed);
    assert.equal(mismatch[0]!.where.record, FILES + 2);
    assert.equal(ma.json.status, 'contraindicated');
  },
);
