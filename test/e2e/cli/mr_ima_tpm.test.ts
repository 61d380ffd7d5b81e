// `mr_ima` on a TPM PCR with SHA-1, SHA-256 and SHA-384 banks (docs/mr-ima.md, docs/agent.md
// `--vmr-alg`): a new chain uses the register's strongest bank (SHA-384), so the commitment the
// verifier trusts never rests on SHA-1; a chain that exists keeps the bank its last token names
// across a restart. The verifier takes any bank of the register as A but refuses an
// `ima_log.alg` that is not the one the tokens name, and a bank the register lacks, each with a
// typed error naming `ima_log.alg`.
//
// Expected values are worked out here with node:crypto from the list's bytes (IMA's PCR-10 fold:
// bank ← H(bank ‖ H(template data)), DESIGN §4) and the commitment layout (label ‖ salt ‖
// u64be(count) ‖ bank_sha1 ‖ bank_sha256 ‖ bank_A, hashed with A), never taken from mrstack's
// output. On swtpm (`--provider tpm`), PCR 14's SHA-384 bank read by `tpm2_pcrread` equals the
// node:crypto replay of the physical log that carries the SHA-384 token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, verifyEvidenceJson } from '../../_support/cli.js';
import { cliEvidence, spawnAgent } from '../../_support/agent_harness.js';
import { tempDir } from '../../_support/tmp.js';
import { startSwtpm } from '../../../src/providers/tpm/swtpm_process.js';

type Alg = 'sha1' | 'sha256' | 'sha384';
const SIZE: Record<Alg, number> = { sha1: 20, sha256: 32, sha384: 48 };

interface ImaBundleJson {
  physical_log: { algs: string[]; lines: string[] };
  ima_log: {
    alg: string;
    salt: string;
    count: number;
    banks: Record<string, string>;
    data: string;
  };
}

/** IMA's PCR-10 fold of a binary list (no violations in these lists), per bank. */
function imaFold(list: Buffer, algs: readonly Alg[]): { count: number; banks: Map<Alg, Buffer> } {
  const banks = new Map(algs.map((a) => [a, Buffer.alloc(SIZE[a])]));
  let p = 0;
  let count = 0;
  while (p < list.length) {
    const nameLen = list.readUInt32LE(p + 24);
    const dataAt = p + 28 + nameLen;
    const data = list.subarray(dataAt + 4, dataAt + 4 + list.readUInt32LE(dataAt));
    for (const a of algs) {
      const h = createHash(a).update(data).digest();
      banks.set(
        a,
        createHash(a)
          .update(Buffer.concat([banks.get(a)!, h]))
          .digest(),
      );
    }
    p = dataAt + 4 + data.length;
    count++;
  }
  return { count, banks };
}

/** C = H_A("mrstack-mr-ima-v1" ‖ salt ‖ u64be(count) ‖ sha1 ‖ sha256 [‖ A]). */
function commitment(alg: Alg, salt: Buffer, count: number, banks: Map<Alg, Buffer>): string {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(count));
  const b: Alg[] = alg === 'sha384' ? ['sha1', 'sha256', 'sha384'] : ['sha1', 'sha256'];
  return createHash(alg)
    .update(
      Buffer.concat([Buffer.from('mrstack-mr-ima-v1'), salt, n, ...b.map((a) => banks.get(a)!)]),
    )
    .digest('hex');
}

/** The last `mr_ima` token of the physical log: its bank, C and count. */
function lastToken(lines: readonly string[]): { alg: string; c: string; count: number } {
  const toks = lines.flatMap((l) => {
    const m = / mr_ima=([a-z0-9]+)\/([0-9a-f]+)@([0-9]+)/.exec(l);
    return l.startsWith('VMR ') && m !== null
      ? [{ alg: m[1]!, c: m[2]!, count: Number(m[3]) }]
      : [];
  });
  assert.ok(toks.length > 0, 'no mr_ima token');
  return toks.at(-1)!;
}

/**
 * Checks an ima bundle against node:crypto: the last token is in `alg`, its C commits to the
 * fold of the list in every bank, and the bundle's banks are that fold.
 */
function checkBundle(file: string, alg: Alg, entries: number): ImaBundleJson {
  const b = JSON.parse(readFileSync(file, 'utf8')) as ImaBundleJson;
  assert.equal(b.ima_log.alg, alg);
  const tok = lastToken(b.physical_log.lines);
  assert.equal(tok.alg, alg);
  const list = Buffer.from(b.ima_log.data, 'base64');
  const f = imaFold(list, ['sha1', 'sha256', 'sha384']);
  assert.equal(f.count, entries);
  assert.equal(tok.count, entries);
  assert.equal(tok.c, commitment(alg, Buffer.from(b.ima_log.salt, 'hex'), f.count, f.banks));
  const want: Alg[] = alg === 'sha384' ? ['sha1', 'sha256', 'sha384'] : ['sha1', 'sha256'];
  assert.deepEqual(
    b.ima_log.banks,
    Object.fromEntries(want.map((a) => [a, f.banks.get(a)!.toString('hex')])),
  );
  return b;
}

async function measure(tvm: string, dir: string, names: readonly string[]): Promise<void> {
  const paths = names.map((n) => {
    const p = join(dir, n);
    writeFileSync(p, `${n} ${randomBytes(8).toString('hex')}\n`);
    return p;
  });
  const r = await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, ...paths]);
  assert.equal(r.code, 0, r.stderr);
}

test('emulated TPM: mr_ima chains in sha384 (strongest bank); a sha1 chain keeps sha1 across a restart; ima_log.alg not the tokens bank or not a register bank is refused naming the field', async (t) => {
  const dir = tempDir(t, 'mrstack-mrima-tpm-');
  const tenants = join(dir, 'tenants.json');
  writeFileSync(tenants, JSON.stringify({ tenants: [] }));
  /** A fresh emulated TPM with 3 files measured, and an agent's run dir on it. */
  const machine = async (name: string) => {
    const tvm = join(dir, `${name}-tvm`);
    const run = join(dir, `${name}-run`);
    const init = await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm]);
    assert.equal(init.code, 0, init.stderr);
    await measure(tvm, dir, [`${name}-a`, `${name}-b`, `${name}-c`]);
    const list = join(tvm, 'ima', 'binary_runtime_measurements');
    return {
      tvm,
      start: (extra: string[]): ReturnType<typeof spawnAgent> =>
        spawnAgent([
          '--tvm-state', tvm, '--run-dir', run, '--tenants', tenants, '--ima', '--ima-log', list,
          '--log-level', 'warn', ...extra,
        ]), // prettier-ignore
      evidence: async (tag: string): Promise<{ file: string; nonce: string }> => {
        const nonce = randomBytes(16).toString('hex');
        const file = join(dir, `${tag}.json`);
        assert.equal(await cliEvidence(join(run, 'tenants', 'ima.sock'), nonce, file), 0);
        return { file, nonce };
      },
      verify: (file: string, nonce: string) =>
        verifyEvidenceJson(file, { nonce, trustEmulated: true, tvmState: tvm }),
    };
  };

  // 1. a new chain, default bank: sha384, every bank of B in the bundle
  const m1 = await machine('m1');
  let agent = await m1.start([]);
  const e1 = await m1.evidence('new');
  await agent.stop();
  const b1 = checkBundle(e1.file, 'sha384', 4); // boot_aggregate + 3 files
  assert.deepEqual(b1.physical_log.algs, ['sha1', 'sha256', 'sha384']);
  const v1 = await m1.verify(e1.file, e1.nonce);
  assert.equal(v1.result.code, 0, JSON.stringify(v1.json.errors));
  assert.equal(v1.json.verified, true);
  assert.equal(v1.json.checks['ima'], 'ok');

  // 2. the verifier: ima_log.alg another bank of the register than the tokens name …
  const other = structuredClone(b1);
  other.ima_log.alg = 'sha256';
  delete other.ima_log.banks['sha384'];
  const otherFile = join(dir, 'other-alg.json');
  writeFileSync(otherFile, JSON.stringify(other));
  const vo = await m1.verify(otherFile, e1.nonce);
  assert.equal(vo.result.code, 1, vo.result.stdout);
  assert.equal(vo.json.verified, false);
  assert.equal(vo.json.checks['ima'], 'failed');
  const err = vo.json.errors as unknown as { code: string; field?: string; expected?: string }[];
  assert.deepEqual(
    err.map((e) => [e.code, e.field, e.expected]),
    [['ERR_BINDING_MISMATCH', 'ima_log.alg', 'sha384']],
  );
  // … and a bank the register does not have: bad input, exit 2, the field named
  const lacks = structuredClone(b1);
  lacks.ima_log.alg = 'sha512';
  lacks.ima_log.banks['sha512'] = '00'.repeat(64);
  const lacksFile = join(dir, 'lacks-alg.json');
  writeFileSync(lacksFile, JSON.stringify(lacks));
  const vl = await m1.verify(lacksFile, e1.nonce);
  assert.equal(vl.result.code, 2, vl.result.stdout);
  const le = (vl.json as unknown as { error: { code: string; field?: string } }).error;
  assert.equal(le.code, 'ERR_BAD_JSON');
  assert.equal(le.field, 'ima_log.alg');

  // 3. a chain begun in sha1 (--vmr-alg sha1, as every chain was before) keeps sha1 when the
  //    agent restarts with the default: its recovery refolds the sha1 commitment
  const m2 = await machine('m2');
  agent = await m2.start(['--vmr-alg', 'sha1']);
  const e2 = await m2.evidence('sha1-first');
  await agent.stop();
  checkBundle(e2.file, 'sha1', 4);
  await measure(m2.tvm, dir, ['m2-d', 'm2-e']);
  agent = await m2.start([]);
  t.after(() => agent.stop());
  const e3 = await m2.evidence('sha1-again');
  const b3 = checkBundle(e3.file, 'sha1', 6);
  // the restart wrote no SYNC (the list was found unchanged) and every token is sha1
  assert.ok(
    !b3.physical_log.lines.some((l) => l.startsWith('SYNC ') && l !== b3.physical_log.lines[1]),
  );
  assert.ok(
    b3.physical_log.lines
      .filter((l) => l.includes(' mr_ima='))
      .every((l) => l.includes(' mr_ima=sha1/')),
  );
  const v3 = await m2.verify(e3.file, e3.nonce);
  assert.equal(v3.result.code, 0, JSON.stringify(v3.json.errors));
  assert.equal(v3.json.verified, true);
});

test('swtpm (--provider tpm): mr_ima in sha384; PCR 14 read by tpm2_pcrread is the node:crypto replay of the physical log', async (t) => {
  const dir = tempDir(t, 'mrstack-mrima-swtpm-');
  const sw = await startSwtpm(join(dir, 'swtpm'));
  t.after(() => sw.stop());
  const tvm = join(dir, 'tvm');
  // the TVM only keeps the IMA list here (emulate ima measure); the register is swtpm's
  const init = await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  await measure(tvm, dir, ['a', 'b']);
  const tenants = join(dir, 'tenants.json');
  writeFileSync(tenants, JSON.stringify({ tenants: [] }));
  const run = join(dir, 'run');
  const agent = await spawnAgent([
    '--provider', 'tpm', '--swtpm', `${sw.host}:${sw.port}`, '--register', 'pcr14',
    '--run-dir', run, '--tenants', tenants, '--ima', '--ima-log',
    join(tvm, 'ima', 'binary_runtime_measurements'), '--log-level', 'warn',
  ]); // prettier-ignore
  t.after(() => agent.stop());
  const nonce = randomBytes(16).toString('hex');
  const file = join(dir, 'ima.json');
  assert.equal(await cliEvidence(join(run, 'tenants', 'ima.sock'), nonce, file), 0);
  await agent.stop(); // swtpm serves one connection at a time
  const b = checkBundle(file, 'sha384', 3);
  assert.deepEqual(b.physical_log.algs, ['sha1', 'sha256', 'sha384']);
  // the layers above the report (the AK is the agent's, pinned by nobody here: report fails)
  const v = await verifyEvidenceJson(file, { nonce });
  assert.equal(v.json.checks['physical'], 'ok');
  assert.equal(v.json.checks['ima'], 'ok');
  // the register itself: every physical record extended into the SHA-384 bank
  const logDir = join(run, 'log', 'physical');
  const records = readdirSync(logDir)
    .filter((f) => f.endsWith('.mrlog'))
    .sort()
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n'))
    .filter((l) => l !== '' && !l.startsWith('#'));
  let pcr = Buffer.alloc(48);
  for (const l of records)
    pcr = createHash('sha384')
      .update(Buffer.concat([pcr, createHash('sha384').update(l).digest()]))
      .digest();
  assert.ok(records.some((l) => l.includes(' mr_ima=sha384/')));
  const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=${sw.host},port=${sw.port}` };
  const out = execFileSync('tpm2_pcrread', ['sha384:14'], { env }).toString();
  const m = /14\s*:\s*0x([0-9A-Fa-f]{96})/.exec(out);
  assert.ok(m !== null, out);
  assert.equal(m[1]!.toLowerCase(), pcr.toString('hex'));
});
