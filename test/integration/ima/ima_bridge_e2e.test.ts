// The IMA bridge end to end on an emulated TDX served over FUSE (issue #16 "Must show", the
// attester half): `emulate ima measure` logs 1,000 files as a TPM-bypass kernel does; the agent
// (`agent start --provider linux --root MOUNT --ima`, reading RTMR3 and the IMA list through
// the mount) mirrors them into mr_ima on RTMR3. Judges, none of them mrstack's own fold:
// node:crypto over the list's template data walked here from its byte layout (banks, the
// commitment of MR_IMA_SPEC), evmctl given the sha1/sha256 banks as PCR 10, and an independent
// replay of the physical log against RTMR3 read from the TVM's trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { serveMount, type ServedMount } from '../fuse/mount_helpers.js';
import { runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { spawnAgent } from '../../_support/agent_harness.js';
import { Evmctl } from '../../_support/evmctl.js';
import { TenantClient } from '../../../src/agent/client.js';
import { isMrstackError } from '../../../src/errors.js';
import { checkInvariant } from '../agent/agent_support.js';

const FILES = 1000;
const IMA_DIR = 'sys/kernel/security/ima';

/** One binary entry walked from its layout (LE): template hash, name, template data, fields. */
interface Walked {
  readonly pcr: number;
  readonly templateHash: Buffer;
  readonly template: string;
  readonly templateData: Buffer;
  readonly fields: Buffer[];
  readonly end: number;
}

function walk(list: Buffer): Walked[] {
  const out: Walked[] = [];
  let p = 0;
  while (p < list.length) {
    const pcr = list.readUInt32LE(p);
    const templateHash = list.subarray(p + 4, p + 24);
    const nl = list.readUInt32LE(p + 24);
    const template = list.subarray(p + 28, p + 28 + nl).toString('latin1');
    const tdl = list.readUInt32LE(p + 28 + nl);
    const td = list.subarray(p + 32 + nl, p + 32 + nl + tdl);
    const fields: Buffer[] = [];
    for (let q = 0; q < td.length;) {
      const n = td.readUInt32LE(q);
      fields.push(td.subarray(q + 4, q + 4 + n));
      q += 4 + n;
    }
    p += 32 + nl + tdl;
    out.push({ pcr, templateHash, template, templateData: td, fields, end: p });
  }
  return out;
}

/** IMA's PCR-10 fold in one bank, by node:crypto (no violations in these lists). */
function fold(alg: string, size: number, entries: readonly Walked[]): Buffer {
  let v = Buffer.alloc(size);
  for (const e of entries) {
    v = createHash(alg).update(v).update(createHash(alg).update(e.templateData).digest()).digest();
  }
  return v;
}

/** MR_IMA_SPEC: C = SHA-384("mrstack-mr-ima-v1" ‖ salt ‖ u64be(count) ‖ sha1 ‖ sha256 ‖ sha384). */
function commitment(salt: Buffer, count: number, banks: readonly Buffer[]): string {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(count));
  const h = createHash('sha384').update('mrstack-mr-ima-v1').update(salt).update(n);
  for (const b of banks) h.update(b);
  return h.digest('hex');
}

interface BundleJson {
  binding: { tenant: string };
  physical_log: { lines: string[] };
  tenant_log?: unknown;
  ima_log?: {
    vmr: string;
    alg: string;
    salt: string;
    count: number;
    banks: Record<string, string>;
    format: string;
    data: string;
  };
}

test('IMA bridge e2e: 1,000 files measured, mirrored into mr_ima on RTMR3 over FUSE', async (t) => {
  const m: ServedMount = await serveMount({ profile: 'tdx' });
  t.after(() => m.stop());
  const work = join(m.stateDir, '..', 'work');
  const files = join(work, 'files');
  fs.mkdirSync(files, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const f = join(files, `bin-${String(i).padStart(4, '0')}`);
    fs.writeFileSync(f, `#!/bin/sh\necho ${i}\n`);
    paths.push(fs.realpathSync(f));
  }

  // one process measures all 1,000
  const measured = await runCliJson([
    'emulate',
    'ima',
    'measure',
    '--tvm-state',
    m.stateDir,
    ...paths,
    '--json',
  ]);
  assert.equal(measured.result.code, 0, measured.result.stderr);
  assert.equal((measured.json as { entries: number }).entries, FILES);

  // the mount serves the list byte for byte, and its ascii rendering as the kernel prints it
  const stateList = fs.readFileSync(join(m.stateDir, 'ima', 'binary_runtime_measurements'));
  const served = fs.readFileSync(join(m.root, IMA_DIR, 'binary_runtime_measurements'));
  assert.ok(served.equals(stateList), 'FUSE binary list = the TVM state list');
  const entries = walk(served);
  assert.equal(entries.length, FILES + 1);
  const ascii = fs
    .readFileSync(join(m.root, IMA_DIR, 'ascii_runtime_measurements'), 'utf8')
    .split('\n');
  assert.equal(ascii.pop(), '');
  assert.equal(ascii.length, FILES + 1);
  // boot_aggregate of zeros first (TPM-bypass), every entry on PCR 10, ima-ng, SHA-1 column
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
  assert.equal(
    ascii[0],
    `10 ${sha1(entries[0]!.templateData)} ima-ng sha256:${'00'.repeat(32)} boot_aggregate`,
  );
  for (let i = 0; i < FILES; i++) {
    const e = entries[i + 1]!;
    assert.equal(e.pcr, 10);
    assert.equal(e.template, 'ima-ng');
    assert.equal(e.templateHash.toString('hex'), sha1(e.templateData));
    const digest = createHash('sha256').update(fs.readFileSync(paths[i]!)).digest('hex');
    assert.equal(ascii[i + 1], `10 ${sha1(e.templateData)} ima-ng sha256:${digest} ${paths[i]!}`);
    assert.deepEqual(e.fields[1], Buffer.from(`${paths[i]!}\0`));
  }

  // the agent, through the mount, with one ordinary tenant beside the bridge
  const run = join(work, 'run');
  const tenants = join(work, 'tenants.json');
  fs.writeFileSync(tenants, JSON.stringify({ tenants: [{ name: 'alice', vmr: 'alice' }] }));
  const agent = await spawnAgent([
    '--provider',
    'linux',
    '--root',
    m.root,
    '--run-dir',
    run,
    '--tenants',
    tenants,
    '--ima',
    '--boot-id',
    'ima-e2e',
    '--log-level',
    'error',
  ]);
  t.after(() => agent.stop());
  const ready = JSON.parse(agent.output.stdout.split('\n')[0]!) as {
    ima: { socket: string; list: string; failed: string | null };
  };
  assert.equal(ready.ima.list, join(m.root, IMA_DIR, 'binary_runtime_measurements'));
  assert.equal(ready.ima.failed, null);
  const imaSock = join(run, 'tenants', 'ima.sock');
  assert.equal(ready.ima.socket, imaSock);

  // the agent mirrors the whole list before it takes the report
  const got = await runCli([
    'evidence',
    'get',
    '--socket',
    imaSock,
    '--nonce',
    'a1b2c3',
    '--out',
    join(work, 'ima.json'),
  ]);
  assert.equal(got.code, 0, got.stderr);
  const bundle = JSON.parse(fs.readFileSync(join(work, 'ima.json'), 'utf8')) as BundleJson;
  assert.equal(bundle.binding.tenant, 'ima');
  assert.equal(bundle.tenant_log, undefined);
  const il = bundle.ima_log!;
  assert.equal(il.vmr, 'mr_ima');
  assert.equal(il.alg, 'sha384');
  assert.equal(il.format, 'ima-binary');
  assert.equal(il.count, FILES + 1);
  const data = Buffer.from(il.data, 'base64');
  assert.ok(
    data.equals(served.subarray(0, entries[il.count - 1]!.end)),
    'data = list cut to count',
  );

  // the last mr_ima token of the physical log counts 1,001 and commits to the banks
  const tokens = bundle.physical_log.lines
    .filter((l) => l.startsWith('VMR '))
    .flatMap((l) => l.split(' ').slice(1))
    .filter((tok) => tok.startsWith('mr_ima='));
  const last = /^mr_ima=sha384\/([0-9a-f]{96})@([0-9]+)$/.exec(tokens.at(-1) ?? '');
  assert.ok(last !== null, JSON.stringify(tokens));
  assert.equal(Number(last[2]), FILES + 1);
  const banks = [
    fold('sha1', 20, entries),
    fold('sha256', 32, entries),
    fold('sha384', 48, entries),
  ];
  assert.deepEqual(il.banks, {
    sha1: banks[0]!.toString('hex'),
    sha256: banks[1]!.toString('hex'),
    sha384: banks[2]!.toString('hex'),
  });
  assert.equal(last[1], commitment(Buffer.from(il.salt, 'hex'), FILES + 1, banks));
  // evmctl, given the banks as PCR 10, verifies the list; a wrong sha256 bank is rejected
  const evm = new Evmctl();
  t.after(() => evm.close());
  const ok = evm.run(data, { sha1: il.banks.sha1, sha256: il.banks.sha256 });
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /Matched per TPM bank/);
  const bad = evm.run(data, { sha1: il.banks.sha1, sha256: 'ee'.repeat(32) });
  assert.notEqual(bad.status, 0, bad.out);

  // the layered verifier accepts the bundle: report → binding → physical → ima
  const v = await verifyEvidenceJson(join(work, 'ima.json'), {
    trustEmulated: true,
    tvmState: m.stateDir,
    collateral: false,
    nonce: 'a1b2c3',
  });
  assert.equal(v.json.verified, true, v.result.stdout);
  const layer = (v.json.claims as { layers: { ima: { count: number; verified: number } } }).layers
    .ima;
  assert.equal(layer.count, FILES + 1);
  assert.equal(layer.verified, FILES + 1);

  // the physical log replays exactly to RTMR3 (the TVM's trace, independent replay)
  await checkInvariant(m.stateDir, join(run, 'log'));

  // another tenant's bundle carries the token only: no bank value, no salt
  const alice = join(run, 'tenants', 'alice.sock');
  const ag = await runCli(['evidence', 'get', '--socket', alice, '--nonce', '0102']);
  assert.equal(ag.code, 0, ag.stderr);
  assert.ok(ag.stdout.includes('mr_ima=sha384/'), 'the physical log names mr_ima');
  for (const v of [...Object.values(il.banks), il.salt]) {
    assert.ok(!ag.stdout.includes(v), `alice's bundle reveals ${v.slice(0, 16)}…`);
  }

  // nobody appends to mr_ima: the socket refuses, by the library client and by the CLI
  const c = new TenantClient(imaSock);
  t.after(() => c.close());
  await assert.rejects(
    c.append({ domain: 'example.com', operation: 'x', content: 'y' }),
    (e: unknown) => isMrstackError(e) && e.code === 'ERR_FORBIDDEN',
  );
  const cliAppend = await runCli([
    'event',
    'append',
    '--socket',
    imaSock,
    '--domain',
    'example.com',
    '--operation',
    'x',
    '--content',
    'y',
    '--json',
  ]);
  assert.equal(cliAppend.code, 3, cliAppend.stdout);
  assert.equal(
    (JSON.parse(cliAppend.stdout) as { error: { code: string } }).error.code,
    'ERR_FORBIDDEN',
  );

  // a file measured later is mirrored before the next report
  const late = join(files, 'late');
  fs.writeFileSync(late, 'late\n');
  const m2 = await runCli(['emulate', 'ima', 'measure', '--tvm-state', m.stateDir, late]);
  assert.equal(m2.code, 0, m2.stderr);
  const again = await c.evidence(Buffer.from('0a0b', 'hex'));
  const il2 = (again as unknown as BundleJson).ima_log!;
  assert.equal(il2.count, FILES + 2);
});

test('tenant configs cannot claim the reserved tenant ima or vMR mr_ima', async (t) => {
  const { tempDir } = await import('../../_support/tmp.js');
  const dir = tempDir(t, 'mrstack-ima-reserved-');
  const init = await runCli([
    'emulate',
    'init',
    '--profile',
    'tdx',
    '--tvm-state',
    join(dir, 'tvm'),
  ]);
  assert.equal(init.code, 0, init.stderr);
  for (const [i, decl] of [{ name: 'ima' }, { name: 'bob', vmr: 'mr_ima' }].entries()) {
    const f = join(dir, `tenants-${i}.json`);
    fs.writeFileSync(f, JSON.stringify({ tenants: [decl] }));
    const r = await runCli([
      'agent',
      'start',
      '--tvm-state',
      join(dir, 'tvm'),
      '--run-dir',
      join(dir, `run-${i}`),
      '--tenants',
      f,
      '--json',
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const err = (JSON.parse(r.stdout) as { error: { code: string; field: string } }).error;
    assert.equal(err.code, 'ERR_BAD_JSON');
    assert.match(err.field, /tenants\[0\]\.(name|vmr)/);
  }
});
