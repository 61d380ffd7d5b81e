// The configfs-tsm report group of the snp and cca profiles: which attributes each provider
// shows, and the text attributes' store rules (kernel drivers/virt/coco/guest/report.c):
// privlevel above 3 is EINVAL and not stored; a malformed service_guid is EINVAL but still
// advances generation; each successful text write is one store. Reports taken through the
// linux provider on each mount verify with `evidence verify --trust-emulated`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCliJson } from '../../_support/cli.js';
import { serveMount, type ServedMount } from './mount_helpers.js';

/** `mrstack report --provider linux --root` on the mount, then `evidence verify --nonce`. */
async function reportAndVerify(m: ServedMount, kind: string): Promise<void> {
  const nonce = randomBytes(32).toString('hex');
  const out = join(m.stateDir, '..', `${kind}-evidence.json`);
  const rep = await runCliJson([
    'report',
    '--provider',
    'linux',
    '--root',
    m.root,
    '--nonce',
    nonce,
    '--out',
    out,
    '--json',
  ]);
  assert.equal(rep.result.code, 0, rep.result.stdout + rep.result.stderr);
  const { result, json } = await runCliJson([
    'evidence',
    'verify',
    out,
    '--trust-emulated',
    '--no-collateral',
    '--nonce',
    nonce,
    '--json',
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const v = json as { verified: boolean; kind: string };
  assert.equal(v.kind, kind);
  assert.equal(v.verified, true);
  assert.deepEqual(readdirSync(join(m.root, REPORT)), []);
}

const REPORT = 'sys/kernel/config/tsm/report';

function sh(script: string): { code: number | null; stderr: string } {
  const r = spawnSync('sh', ['-c', script], {
    env: { ...process.env, LC_ALL: 'C' },
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr.toString() };
}

describe('emulate mount --profile snp', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'snp' });
  });
  after(() => m.stop());

  test('no tsm-mr group; the sev-guest device and sev_guest reports with privlevel and auxblob', () => {
    assert.equal(existsSync(join(m.root, 'sys/devices/virtual/misc/sev-guest')), true);
    assert.equal(
      existsSync(join(m.root, 'sys/devices/virtual/misc/sev-guest/measurements')),
      false,
    );
    const inst = join(m.root, REPORT, 'a');
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
    try {
      assert.deepEqual(readdirSync(inst).sort(), [
        'auxblob',
        'generation',
        'inblob',
        'outblob',
        'privlevel',
        'privlevel_floor',
        'provider',
      ]);
      assert.equal(readFileSync(join(inst, 'provider'), 'utf8'), 'sev_guest\n');
      assert.equal(readFileSync(join(inst, 'privlevel_floor'), 'utf8'), '0\n');
      assert.equal(statSync(join(inst, 'privlevel')).mode & 0o777, 0o200);
    } finally {
      sh(`rmdir '${inst}'`);
    }
  });

  test('a report through the linux provider (outblob + auxblob certificates) verifies', async () => {
    await reportAndVerify(m, 'snp');
  });
});

describe('emulate mount --profile cca', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'cca' });
  });
  after(() => m.stop());

  test('arm_cca_guest shows every attribute', () => {
    const inst = join(m.root, REPORT, 'all');
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
    try {
      assert.deepEqual(readdirSync(inst).sort(), [
        'auxblob',
        'generation',
        'inblob',
        'manifestblob',
        'outblob',
        'privlevel',
        'privlevel_floor',
        'provider',
        'service_guid',
        'service_manifest_version',
        'service_provider',
      ]);
      assert.equal(readFileSync(join(inst, 'provider'), 'utf8'), 'arm_cca_guest\n');
    } finally {
      sh(`rmdir '${inst}'`);
    }
  });

  test('text attributes: one store per write; privlevel > 3 rejected unstored; bad GUID rejected but counted', () => {
    const inst = join(m.root, REPORT, 'text');
    const gen = (): string => readFileSync(join(inst, 'generation'), 'utf8');
    const put = (attr: string, text: string): void => writeFileSync(join(inst, attr), text);
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
    try {
      put('privlevel', '2\n');
      assert.equal(gen(), '1\n');
      assert.throws(() => put('privlevel', '4\n'), { code: 'EINVAL' });
      assert.equal(gen(), '1\n');
      put('service_provider', 'svsm\n');
      assert.equal(gen(), '2\n');
      assert.throws(() => put('service_guid', 'not-a-guid\n'), { code: 'EINVAL' });
      assert.equal(gen(), '3\n');
      put('service_guid', '00000000-0000-0000-0000-000000000000\n');
      put('service_manifest_version', '1\n');
      assert.equal(gen(), '5\n');
    } finally {
      sh(`rmdir '${inst}'`);
    }
  });

  test('a 32-byte inblob is accepted (CCA takes 32..64) and counts one store', () => {
    const inst = join(m.root, REPORT, 'short');
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
    try {
      assert.equal(sh(`head -c 32 /dev/urandom > '${inst}/inblob'`).code, 0);
      assert.equal(readFileSync(join(inst, 'generation'), 'utf8'), '1\n');
    } finally {
      sh(`rmdir '${inst}'`);
    }
  });

  test('a report through the linux provider (a CCA token) verifies', async () => {
    await reportAndVerify(m, 'cca');
  });
});
