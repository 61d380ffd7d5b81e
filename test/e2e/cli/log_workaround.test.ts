// `log replay --workaround ebs`: go-attestation's capture of firmware that extends the two
// ExitBootServices actions into PCR5 without logging them. Expected values come from the
// capture's provenance (go-attestation's asserted PCR5) and from openssl/node hashes computed
// here, never from mrstack's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../_support/paths.js';
import { runCli } from '../../_support/cli.js';
import { expectations } from '../../unit/eventlog/support.js';

const NAME = 'malformed-exit-boot-services-events-missing.binary_bios_measurements';
const LOG = fixture('eventlogs', 'tcg', NAME);
const exp = expectations('tcg')[NAME]!;
const PLAIN = exp.registers!.computed!['pcr5']!['sha1']!;
const ASSERTED = exp.asserted_with_ebs_workaround!['pcr5']!['sha1']!;

/** PCR5 (sha1) after extending `from` with the SHA-1 of each action string. */
function extendActions(from: string, actions: readonly string[]): string {
  let v = Buffer.from(from, 'hex');
  for (const a of actions) {
    const d = createHash('sha1').update(a).digest();
    v = createHash('sha1')
      .update(Buffer.concat([v, d]))
      .digest();
  }
  return v.toString('hex');
}

function expectFile(t: { after: (f: () => void) => void }, pcr5: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-ebs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'expect.json');
  writeFileSync(f, JSON.stringify({ pcr5: { sha1: pcr5 } }));
  return f;
}

const INVOCATION = 'Exit Boot Services Invocation';
const SUCCESS = 'Exit Boot Services Returned with Success';
const FAILURE = 'Exit Boot Services Returned with Failure';

test('the two actions explain the asserted PCR5 (checked here with node:crypto, independent of mrstack)', () => {
  assert.equal(extendActions(PLAIN, [INVOCATION, SUCCESS]), ASSERTED);
});

test('without --workaround the asserted PCR5 is a mismatch (exit 1) whose error names the workaround', async (t) => {
  const r = await runCli(['log', 'replay', LOG, '--expect', expectFile(t, ASSERTED), '--json']);
  assert.equal(r.code, 1);
  // The JSON error carries its details beside code and message (DESIGN §7).
  const err = (JSON.parse(r.stdout) as { error: Record<string, unknown> }).error;
  assert.equal(err['code'], 'ERR_REPLAY_MISMATCH');
  assert.equal(err['register'], 'pcr5');
  assert.equal(err['computed'], PLAIN);
  assert.match(String(err['hint']), /--workaround ebs would apply ebs-invocation-success/);
});

test('--workaround ebs reaches the asserted PCR5, names the workaround and warns', async (t) => {
  const r = await runCli([
    'log',
    'replay',
    LOG,
    '--expect',
    expectFile(t, ASSERTED),
    '--workaround',
    'ebs',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout) as {
    events: number;
    registers: Record<string, Record<string, string>>;
    workarounds: { id: string; register: string; events: string[] }[];
    warnings: { code: string; register?: string }[];
  };
  assert.equal(j.registers['pcr5']!['sha1'], ASSERTED);
  assert.equal(j.events, exp.records, 'unlogged events are not counted as records');
  assert.deepEqual(j.workarounds, [
    { id: 'ebs-invocation-success', register: 'pcr5', events: [INVOCATION, SUCCESS] },
  ]);
  assert.ok(j.warnings.some((w) => w.code === 'REPLAY_WORKAROUND' && w.register === 'pcr5'));
});

test('the failure variants are found by their own values; a value no variant explains stays a mismatch', async (t) => {
  for (const [id, actions] of [
    ['ebs-invocation-failure', [INVOCATION, FAILURE]],
    ['ebs-invocation-failure-success', [INVOCATION, FAILURE, SUCCESS]],
  ] as const) {
    const want = extendActions(PLAIN, actions);
    const r = await runCli([
      'log',
      'replay',
      LOG,
      '--expect',
      expectFile(t, want),
      '--workaround',
      'ebs',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout);
    const j = JSON.parse(r.stdout) as {
      registers: Record<string, Record<string, string>>;
      workarounds: { id: string }[];
    };
    assert.equal(j.registers['pcr5']!['sha1'], want);
    assert.deepEqual(
      j.workarounds.map((w) => w.id),
      [id],
    );
  }
  // Three successes in a row are no firmware's behaviour: nothing applies.
  const odd = extendActions(PLAIN, [INVOCATION, SUCCESS, SUCCESS]);
  const r = await runCli([
    'log',
    'replay',
    LOG,
    '--expect',
    expectFile(t, odd),
    '--workaround',
    'ebs',
    '--json',
  ]);
  assert.equal(r.code, 1);
  assert.equal(
    (JSON.parse(r.stdout) as { error: { code: string } }).error.code,
    'ERR_REPLAY_MISMATCH',
  );
});

test('a log that already matches gets no workaround even when one is allowed', async (t) => {
  const r = await runCli([
    'log',
    'replay',
    LOG,
    '--expect',
    expectFile(t, PLAIN),
    '--workaround',
    'ebs',
    '--json',
  ]);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout) as {
    registers: Record<string, Record<string, string>>;
    workarounds?: unknown;
  };
  assert.equal(j.registers['pcr5']!['sha1'], PLAIN);
  assert.equal(j.workarounds, undefined);
});

test('--workaround without --expect, or with an unknown name, is a usage error (exit 2)', async (t) => {
  const r = await runCli(['log', 'replay', LOG, '--workaround', 'ebs']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--workaround needs --expect/);
  const bad = await runCli([
    'log',
    'replay',
    LOG,
    '--expect',
    expectFile(t, ASSERTED),
    '--workaround',
    'nope',
    '--json',
  ]);
  assert.equal(bad.code, 2);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'ERR_USAGE');
});
