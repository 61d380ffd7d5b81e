// Crash safety of the IMA bridge (issue #16 "Must show"): a 100,000-entry burst grows the
// emulated TVM's IMA list while the agent (`agent start --ima`, the CLI's code) mirrors it and is
// SIGKILLed at seeded instants — half by a timer, half by the test-only fault hook at a step of
// the group commit. Afterwards, independently of the agent: the physical log replays to RTMR3
// (node:crypto), the mr_ima tokens' counts strictly increase (no entry mirrored twice), the
// last counts every entry, and every token's commitment equals a node:crypto refold of the list
// prefix it counts (entry for entry); evmctl verifies the list against the final sha1/sha256
// banks. A list cut short, or changed below the mirrored count, is ERR_IMA_LIST_CHANGED and a
// SYNC — never mirrored again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AGENT_STEPS } from '../../../src/agent/hooks.js';
import { AdminClient, TenantClient } from '../../../src/agent/client.js';
import { isMrstackError } from '../../../src/errors.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import {
  appendImaMeasurements,
  type ImaMeasurement,
} from '../../../src/providers/emulated/ima_list.js';
import { startAgentProcess, type SpawnedAgent } from '../../_support/agent_harness.js';
import { Evmctl } from '../../_support/evmctl.js';
import { seededRng } from '../../_support/rng.js';
import { tempDir } from '../../_support/tmp.js';
import { checkInvariant, physicalLines } from '../agent/agent_support.js';

const KILLS = Math.max(20, Number(process.env['MRSTACK_IMA_CRASH_KILLS'] ?? 24));
const SEED = Number(process.env['MRSTACK_IMA_CRASH_SEED'] ?? 20261207);
const BURST = 100_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function measurement(i: number): ImaMeasurement {
  return {
    path: `/usr/lib/burst/${i}.so`,
    digest: new Uint8Array(createHash('sha256').update(`content ${i}`).digest()),
  };
}

/** Entries walked from the binary layout (LE): template data and where each ends. */
function walk(list: Buffer): { td: Buffer; end: number }[] {
  const out: { td: Buffer; end: number }[] = [];
  let p = 0;
  while (p + 28 <= list.length) {
    const nl = list.readUInt32LE(p + 24);
    const tdl = list.readUInt32LE(p + 28 + nl);
    const end = p + 32 + nl + tdl;
    if (end > list.length) break;
    out.push({ td: list.subarray(p + 32 + nl, end), end });
    p = end;
  }
  return out;
}

/** The mr_ima tokens of the physical log, in order. */
function tokens(logDir: string): { count: number; c: string }[] {
  // a kill during the first start may come before the log exists
  if (!fs.existsSync(join(logDir, 'physical'))) return [];
  return physicalLines(logDir)
    .filter((l) => l.startsWith('VMR '))
    .flatMap((l) => l.split(' ').slice(1))
    .map((tok) => /^mr_ima=sha384\/([0-9a-f]{96})@([0-9]+)$/.exec(tok))
    .filter((m) => m !== null)
    .map((m) => ({ count: Number(m[2]), c: m[1]! }));
}

/**
 * Refolds the list with node:crypto (MR_IMA_SPEC) and checks every token's commitment at its
 * count; returns the banks at the last token.
 */
function checkTokens(list: Buffer, salt: Buffer, toks: readonly { count: number; c: string }[]) {
  const entries = walk(list);
  const banks = { sha1: Buffer.alloc(20), sha256: Buffer.alloc(32), sha384: Buffer.alloc(48) };
  let k = 0;
  for (let i = 0; i <= entries.length && k < toks.length; i++) {
    while (k < toks.length && toks[k]!.count === i) {
      const n = Buffer.alloc(8);
      n.writeBigUInt64BE(BigInt(i));
      const c = createHash('sha384')
        .update('mrstack-mr-ima-v1')
        .update(salt)
        .update(n)
        .update(banks.sha1)
        .update(banks.sha256)
        .update(banks.sha384)
        .digest('hex');
      assert.equal(
        toks[k]!.c,
        c,
        `token ${k} (count ${i}) commits to the list's first ${i} entries`,
      );
      k++;
    }
    if (i === entries.length) break;
    const td = entries[i]!.td;
    for (const alg of ['sha1', 'sha256', 'sha384'] as const) {
      const inner = createHash(alg).update(td).digest();
      banks[alg] = createHash(alg).update(banks[alg]).update(inner).digest();
    }
  }
  assert.equal(k, toks.length, 'every token was met by the refold (no count beyond the list)');
  return banks;
}

async function waitMirrored(run: string, want: number, agent: SpawnedAgent): Promise<void> {
  const admin = new AdminClient(join(run, 'admin.sock'));
  try {
    for (let i = 0; i < 1200; i++) {
      const s = await admin.status();
      const ima = s['ima'] as { mirrored: number; failed: unknown };
      assert.equal(ima.failed, null, JSON.stringify(ima));
      if (ima.mirrored >= want) return;
      await sleep(100);
    }
    assert.fail(`not mirrored in time: ${agent.output.stderr}`);
  } finally {
    admin.close();
  }
}

test(
  `IMA bridge crash test: ${KILLS} SIGKILLs during a ${BURST}-entry burst`,
  { timeout: 900_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-ima-crash-');
    const tvm = join(dir, 'tvm');
    const run = join(dir, 'run');
    const logDir = join(run, 'log');
    await initEmulatedTvm({ stateDir: tvm, profile: 'tdx' });
    const listPath = join(tvm, 'ima', 'binary_runtime_measurements');
    const args = [
      '--tvm-state',
      tvm,
      '--run-dir',
      run,
      '--ima',
      '--ima-log',
      listPath,
      '--ima-poll-ms',
      '5',
      '--boot-id',
      'ima-crash',
      '--log-level',
      'error',
    ];
    const rand = seededRng(SEED);
    let next = 0;
    const appendSome = (n: number): void => {
      const to = Math.min(BURST, next + n);
      appendImaMeasurements(
        tvm,
        Array.from({ length: to - next }, (_, k) => measurement(next + k)),
      );
      next = to;
    };
    appendSome(1); // the list exists (boot_aggregate + one entry) before the first start
    const steps = AGENT_STEPS.filter((s) => s !== 'validated');
    let kills = 0;
    let faults = 0;
    let midBurst = 0;
    let ready = 0;
    let lastCount = 0;
    // what a timer phase may trickle in, so that every later kill still finds entries to add
    const phaseBudget = (k: number): number =>
      Math.max(0, Math.floor((BURST - 60 * KILLS - next) / (KILLS - k)));
    for (let k = 0; k < KILLS; k++) {
      const byFault = k % 2 === 1;
      const step = steps[Math.floor(rand() * steps.length)]!;
      const n = 1 + Math.floor(rand() * 3);
      const agent = startAgentProcess(args, byFault ? { MRSTACK_TEST_FAULT: `${step}:${n}` } : {}, {
        withHooks: true,
      });
      const state = { died: false };
      void agent.exited.then(() => (state.died = true));
      const alive = (): boolean => !state.died;
      if (byFault) {
        // small chunks until the fault kills it: each one it catches is a group commit
        const stop = Date.now() + 20_000;
        let budget = phaseBudget(k);
        while (alive() && Date.now() < stop) {
          const n = Math.min(budget, 100 + Math.floor(rand() * 300));
          appendSome(n);
          budget -= n;
          await sleep(50 + Math.floor(rand() * 100));
        }
        if (alive()) agent.child.kill('SIGKILL');
      } else {
        // A timer kill, at an instant that does not depend on this machine's speed: every
        // other one lands once the agent said it is ready (it is mirroring a live burst), the
        // rest at a seeded instant from the spawn (start-up, recovery). The burst goes on in
        // small chunks meanwhile, and one chunk is appended just before the kill, so entries
        // are pending when it lands however fast the agent caught up (CI once saw 11 of 24).
        const afterReady = k % 4 === 2;
        // (a generous deadline for the ready line: at load 15 an agent start over a 95,000-entry
        // list is slow, and a missed ready fails the count below)
        const until = Date.now() + (afterReady ? 120_000 : Math.floor(rand() * 600));
        let budget = phaseBudget(k);
        const trickle = (): void => {
          const n = Math.min(budget, 20 + Math.floor(rand() * 100));
          appendSome(n);
          budget -= n;
        };
        while (alive() && Date.now() < until) {
          if (afterReady && agent.output.stdout.includes('"ready":true')) break;
          trickle();
          await sleep(5 + Math.floor(rand() * 20));
        }
        if (afterReady) {
          if (agent.output.stdout.includes('"ready":true')) ready++;
          const more = Date.now() + Math.floor(rand() * 300);
          while (alive() && Date.now() < more) {
            trickle();
            await sleep(5 + Math.floor(rand() * 20));
          }
        }
        appendSome(1 + Math.floor(rand() * 50));
        agent.child.kill('SIGKILL');
      }
      const x = await agent.exited;
      assert.equal(x.signal, 'SIGKILL', `phase ${k}: died of SIGKILL (${agent.output.stderr})`);
      if (byFault && agent.output.stderr.includes(`fault ${step}:${n}\n`)) faults++;
      kills++;
      // after each kill the tokens still strictly increase and never pass the list
      const toks = tokens(logDir);
      for (let i = 1; i < toks.length; i++) assert.ok(toks[i]!.count > toks[i - 1]!.count);
      const now = toks.at(-1)?.count ?? 0;
      assert.ok(now >= lastCount);
      if (now < next + 1) midBurst++;
      lastCount = now;
    }
    appendSome(BURST); // the rest of the burst
    const total = BURST + 1; // with the boot_aggregate

    // a clean run mirrors the rest; then the checks, independent of the agent
    const agent = startAgentProcess(args);
    await new Promise<void>((resolve, reject) => {
      agent.child.stdout!.on('data', () => {
        if (agent.output.stdout.includes('"ready":true')) resolve();
      });
      void agent.exited.then(() => reject(new Error(`agent exited: ${agent.output.stderr}`)));
    });
    await waitMirrored(run, total, agent);
    const ima = new TenantClient(join(run, 'tenants', 'ima.sock'));
    const bundle = (await ima.evidence(Buffer.from('c0ffee', 'hex'))) as {
      ima_log: { count: number; salt: string; banks: Record<string, string>; data: string };
    };
    ima.close();
    await agent.stop();

    const list = fs.readFileSync(listPath);
    assert.equal(walk(list).length, total);
    await checkInvariant(tvm, logDir);
    const toks = tokens(logDir);
    assert.equal(toks.at(-1)!.count, total, 'the last token counts every entry');
    for (let i = 1; i < toks.length; i++) {
      assert.ok(toks[i]!.count > toks[i - 1]!.count, `token ${i}: counts strictly increase`);
    }
    const salt = fs.readFileSync(join(logDir, 'tenants', 'mr_ima.mrlog'), 'utf8').split('\n')[0]!;
    assert.match(salt, /^SALT [0-9a-f]{64}$/);
    assert.equal(salt.slice(5), bundle.ima_log.salt);
    const banks = checkTokens(list, Buffer.from(salt.slice(5), 'hex'), toks);
    assert.equal(bundle.ima_log.count, total);
    assert.ok(Buffer.from(bundle.ima_log.data, 'base64').equals(list));
    assert.deepEqual(bundle.ima_log.banks, {
      sha1: banks.sha1.toString('hex'),
      sha256: banks.sha256.toString('hex'),
      sha384: banks.sha384.toString('hex'),
    });
    const evm = new Evmctl();
    t.after(() => evm.close());
    const ok = evm.run(list, {
      sha1: bundle.ima_log.banks.sha1,
      sha256: bundle.ima_log.banks.sha256,
    });
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Matched per TPM bank/);
    const summary = `survived ${kills} SIGKILLs (${faults} at a commit step, ${ready} after ready, ${midBurst} with entries unmirrored): ${toks.length} tokens, ${total} entries`;
    t.diagnostic(summary);
    process.stdout.write(`# ${summary}\n`);
    assert.equal(kills, KILLS);
    assert.ok(faults >= KILLS / 4, `fault-hook kills happened at commit steps (${faults})`);
    assert.ok(midBurst >= KILLS / 2, `kills landed with entries still unmirrored (${midBurst})`);
    const afterReadyPhases = Array.from({ length: KILLS }, (_, k) => k).filter((k) => k % 4 === 2);
    assert.equal(ready, afterReadyPhases.length, 'every after-ready kill found the agent ready');

    // a list cut below the mirrored count: ERR_IMA_LIST_CHANGED and a SYNC, nothing re-mirrored
    const entries = walk(list);
    const before = physicalLines(logDir).length;
    fs.writeFileSync(listPath, list.subarray(0, entries[total - 11]!.end));
    await expectChanged(args, run, logDir, before, toks.length);
    // the same length with one byte changed in entry 5
    const changed = Buffer.from(list);
    const at = entries[5]!.end - 3;
    changed[at] = changed[at]! ^ 0x01;
    fs.writeFileSync(listPath, changed);
    await expectChanged(args, run, logDir, before + 1, toks.length);
    await checkInvariant(tvm, logDir);
  },
);

async function expectChanged(
  args: readonly string[],
  run: string,
  logDir: string,
  linesBefore: number,
  tokensBefore: number,
): Promise<void> {
  const agent = startAgentProcess(args);
  try {
    await new Promise<void>((resolve, reject) => {
      agent.child.stdout!.on('data', () => {
        if (agent.output.stdout.includes('"ready":true')) resolve();
      });
      void agent.exited.then(() => reject(new Error(`agent exited: ${agent.output.stderr}`)));
    });
    const ready = JSON.parse(agent.output.stdout.split('\n')[0]!) as { ima: { failed: string } };
    assert.equal(ready.ima.failed, 'ERR_IMA_LIST_CHANGED');
    const ima = new TenantClient(join(run, 'tenants', 'ima.sock'));
    await assert.rejects(
      ima.evidence(Buffer.from('01', 'hex')),
      (e: unknown) => isMrstackError(e) && e.code === 'ERR_IMA_LIST_CHANGED',
    );
    ima.close();
    await sleep(100);
  } finally {
    await agent.stop();
  }
  const lines = physicalLines(logDir);
  assert.equal(lines.length, linesBefore + 1, 'one record added');
  assert.match(lines.at(-1)!, /^SYNC sha384\/[0-9a-f]{96}$/);
  assert.equal(tokens(logDir).length, tokensBefore, 'no token after the change');
}
