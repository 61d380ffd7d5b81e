// `mrstack agent attest` needs its evidence from somewhere: an agent's tenant socket
// (`--socket`) or a quote of its own (`--provider tpm|emulated`). With neither, it is a usage
// error (exit 2, docs/cli.md) naming both options, raised before the verifier is contacted — a
// listening HTTP server here counts the requests it gets. Given `--provider emulated` explicitly,
// the same command gets past that check (it then fails on its missing TVM state, not ERR_USAGE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

test('agent attest with neither --socket nor --provider: ERR_USAGE (exit 2) naming both, before any request', async (t) => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { result, json } = await runCliJson(['agent', 'attest', '--verifier', url, '--json']);
  assert.equal(result.code, 2, result.stdout + result.stderr);
  const err = cliError(json);
  assert.equal(err.code, 'ERR_USAGE');
  const message = String(err['message']);
  assert.match(message, /--socket/);
  assert.match(message, /--provider/);
  // the human form names both too
  const plain = await runCli(['agent', 'attest', '--verifier', url]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /ERR_USAGE: .*--socket.*--provider/);
  assert.equal(requests, 0, 'the verifier was contacted before the usage check');

  // `--provider emulated` given explicitly passes that check: the command goes on and fails on
  // the TVM state it names (missing), another error than ERR_USAGE
  const dir = tempDir(t, 'mrstack-attest-usage-');
  const explicit = await runCliJson([
    'agent', 'attest', '--verifier', url, '--provider', 'emulated',
    '--tvm-state', join(dir, 'no-tvm'), '--json',
  ]); // prettier-ignore
  assert.notEqual(explicit.result.code, 2, explicit.result.stdout + explicit.result.stderr);
  assert.notEqual(cliError(explicit.json).code, 'ERR_USAGE');
});
