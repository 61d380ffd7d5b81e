// `mrstack log replay --ima-banks` on a SHA-1 IMA list: the SHA-256 bank computed per bank (newer
// kernels) and as zero-padded SHA-1 (older kernels). evmctl, which replays the list itself, is the
// judge: it must accept the values mrstack prints for each rule and reject a value from neither.
// The capture (tpm2-tss sml-ima-ng-sha1) ends in one stray byte after its 6 records (PROVENANCE),
// so mrstack replays with --allow-partial-tail and evmctl gets the list without that byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli, runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { Evmctl } from '../../_support/evmctl.js';

const LIST = fixture('eventlogs', 'ima', 'debian-ima-ng-sha1.binary_runtime_measurements');
const peer = new Evmctl();
test.after(() => peer.close());

interface ReplayJson {
  readonly registers: Record<string, Record<string, string>>;
}

async function replay(mode: string): Promise<Record<string, string>> {
  const { result, json } = await runCliJson([
    'log',
    'replay',
    LIST,
    '--ima-banks',
    'sha1,sha256',
    '--ima-bank-mode',
    mode,
    '--allow-partial-tail',
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const pcr10 = (json as ReplayJson).registers['pcr10'];
  assert.ok(pcr10?.['sha1'] !== undefined && pcr10['sha256'] !== undefined);
  return pcr10;
}

test('per-bank and padded SHA-256 values are each accepted by evmctl, and differ', async () => {
  const raw = readFileSync(LIST);
  assert.equal(raw[raw.length - 1], 0x0a);
  const list = raw.subarray(0, raw.length - 1);
  const perBank = await replay('per-bank');
  const padded = await replay('padded');
  // The SHA-1 bank is the one the collector read (PROVENANCE).
  assert.equal(perBank['sha1'], 'ef2a20de2a84a4780f92ab11d5c4934c709dff00');
  assert.equal(padded['sha1'], perBank['sha1']);
  assert.notEqual(perBank['sha256'], padded['sha256']);
  const a = peer.run(list, { sha1: perBank['sha1'], sha256: perBank['sha256']! });
  assert.equal(a.status, 0, a.out);
  const b = peer.run(list, { sha1: padded['sha1'], sha256: padded['sha256']! });
  assert.equal(b.status, 0, b.out);
  assert.match(b.out, /padded/i);
  // A value from neither rule is rejected.
  const c = peer.run(list, { sha1: perBank['sha1'], sha256: 'cd'.repeat(32) });
  assert.notEqual(c.status, 0);
});

test('a bad --ima-banks algorithm is a usage error (exit 2)', async () => {
  const r = await runCli(['log', 'replay', LIST, '--ima-banks', 'sha1,md5', '--json']);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /ERR_UNKNOWN_ALGORITHM/);
});
