// docs/appraisal.md lists every finding id with its default status, and docs/policy.schema.json
// is the schema `policy validate` runs (kept in step by this test, not by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../_support/paths.js';
import { FINDING_IDS } from '../../../../src/verifier/appraise/finding.js';
import { POLICY_SCHEMA } from '../../../../src/verifier/appraise/policy_schema.js';

test('docs/appraisal.md has a row per finding id with its default status', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'appraisal.md'), 'utf8');
  for (const [id, row] of Object.entries(FINDING_IDS)) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${id}\` `));
    assert.ok(line !== undefined, id);
    assert.equal(line.split('|')[2]!.trim(), row.status, id);
  }
});

test('docs/policy.schema.json is the schema in use', () => {
  const doc = JSON.parse(
    readFileSync(join(REPO_ROOT, 'docs', 'policy.schema.json'), 'utf8'),
  ) as unknown;
  assert.deepEqual(doc, JSON.parse(JSON.stringify(POLICY_SCHEMA)));
});
