// A bad tenant name on the command line is the user's argument (ERR_USAGE, exit 2, naming the
// field), not the agent's JSON (ERR_BAD_JSON): it is refused before any socket is opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cliError, runCliJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

test('tenant add with a name that is not [a-z0-9][a-z0-9_-]{0,63}: ERR_USAGE naming the name', async (t) => {
  const run = join(tempDir(t, 'mrstack-tenant-'), 'run'); // no agent: the check comes first
  for (const name of ['../evil', 'Alice', 'a.b']) {
    const { result, json } = await runCliJson(['tenant', 'add', name, '--run-dir', run, '--json']);
    assert.equal(result.code, 2, name);
    const e = cliError(json);
    assert.equal(e.code, 'ERR_USAGE', name);
    assert.match(String(e['message']), /tenant add\.name: expected a name matching/);
    assert.ok(String(e['message']).includes(JSON.stringify(name)));
  }
});
