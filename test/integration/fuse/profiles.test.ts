// The configfs-tsm report group of the snp and cca profiles: which attributes each provider
// shows, and the text attributes' store rules (kernel drivers/virt/coco/guest/report.c):
// privlevel above 3 is EINVAL and not stored; a malformed service_guid is EINVAL but still
// advances generation; each successful text write is one store. Reports taken through the
// linux provider on each mount verify with `evidence verify --trust-emulated`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveMount, type ServedMount } from './mount_helpers.js';
import { runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import {
  guestShell,
  reportAndVerifyOnMount,
  TSM_REPORT_DIR,
  TSM_REPORT_SERVICE_ATTRIBUTES,
  withReportInstance,
} from '../../_support/fuse_guest.js';

describe('emulate mount --profile snp', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'snp' });
  });
  after(() => m.stop());

  test('no tsm-mr group; the sev-guest device and sev_guest reports with privlevel and auxblob', async () => {
    assert.equal(existsSync(join(m.root, 'sys/devices/virtual/misc/sev-guest')), true);
    assert.equal(
      existsSync(join(m.root, 'sys/devices/virtual/misc/sev-guest/measurements')),
      false,
    );
    await withReportInstance(join(m.root, TSM_REPORT_DIR, 'a'), (inst) => {
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
    });
  });

  test('a report through the linux provider (outblob + auxblob certificates) verifies', async () => {
    assert.equal((await reportAndVerifyOnMount(m)).kind, 'snp');
  });
});

describe('emulate mount --profile snp of a TVM under an SVSM (emulate init --svsm)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'snp', svsm: true });
  });
  after(() => m.stop());

  test('the instance shows the SVSM attributes and manifestblob, as sev-guest does under an SVSM', async () => {
    await withReportInstance(join(m.root, TSM_REPORT_DIR, 'svsm'), (inst) => {
      assert.deepEqual(readdirSync(inst).sort(), [...TSM_REPORT_SERVICE_ATTRIBUTES]);
    });
  });

  test('report --provider linux --service-provider svsm: the manifest comes back and its binding verifies', async () => {
    const nonce = '5eed'.repeat(16); // 32 bytes
    const out = join(m.stateDir, '..', 'svsm-evidence.json');
    const rep = await runCliJson([
      'report', '--provider', 'linux', '--root', m.root, '--nonce', nonce,
      '--service-provider', 'svsm', '--out', out, '--json',
    ]); // prettier-ignore
    assert.equal(rep.result.code, 0, rep.result.stdout + rep.result.stderr);
    const env = JSON.parse(readFileSync(out, 'utf8')) as { manifestblob?: string };
    assert.ok(env.manifestblob !== undefined && env.manifestblob.length > 48 * 2);
    const v = await runCliJson([
      'evidence', 'verify', out, '--trust-emulated', '--tvm-state', m.stateDir, '--nonce', nonce,
      '--json',
    ]); // prettier-ignore
    const j = v.json as EvidenceVerifyJson;
    assert.equal(v.result.code, 0, JSON.stringify(j.errors));
    assert.equal(j.checks['svsm_manifest'], 'ok');
    assert.equal(j.claims['vmpl'], 0);
  });
});

describe('emulate mount --profile cca', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'cca' });
  });
  after(() => m.stop());

  test('arm_cca_guest shows every attribute', async () => {
    await withReportInstance(join(m.root, TSM_REPORT_DIR, 'all'), (inst) => {
      assert.deepEqual(readdirSync(inst).sort(), [...TSM_REPORT_SERVICE_ATTRIBUTES]);
      assert.equal(readFileSync(join(inst, 'provider'), 'utf8'), 'arm_cca_guest\n');
    });
  });

  test('text attributes: one store per write; privlevel > 3 rejected unstored; bad GUID rejected but counted', async () => {
    await withReportInstance(join(m.root, TSM_REPORT_DIR, 'text'), (inst) => {
      const gen = (): string => readFileSync(join(inst, 'generation'), 'utf8');
      const put = (attr: string, text: string): void => writeFileSync(join(inst, attr), text);
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
    });
  });

  test('a 32-byte inblob is accepted (CCA takes 32..64) and counts one store', async () => {
    await withReportInstance(join(m.root, TSM_REPORT_DIR, 'short'), (inst) => {
      assert.equal(guestShell(`head -c 32 /dev/urandom > '${inst}/inblob'`).code, 0);
      assert.equal(readFileSync(join(inst, 'generation'), 'utf8'), '1\n');
    });
  });

  test('a report through the linux provider (a CCA token) verifies', async () => {
    assert.equal((await reportAndVerifyOnMount(m)).kind, 'cca');
  });
});
