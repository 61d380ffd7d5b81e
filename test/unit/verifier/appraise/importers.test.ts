// The Python-regex subset (keylime excludes), the systemd-pcrlock prediction and the trustee
// RVPS importer. pcrlock vectors are the digests and folds the shared PROVENANCE §10 lists
// (SHA-256 of the strings, computed there with openssl/Python); RVPS facts from trustee's
// README (test/fixtures/appraisal/rvps/PROVENANCE.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../_support/paths.js';
import { MrstackError } from '../../../../src/errors.js';
import {
  compileExcludes,
  translatePythonRegex,
} from '../../../../src/verifier/appraise/python_regex.js';
import { predictPcrlock, parsePcrlock } from '../../../../src/verifier/appraise/import_pcrlock.js';
import { importRvps } from '../../../../src/verifier/appraise/import_rvps.js';
import { validatePolicy } from '../../../../src/verifier/appraise/policy.js';

const refused = (p: string, reason: RegExp): void =>
  assert.throws(
    () => translatePythonRegex(p),
    (e: unknown) =>
      e instanceof MrstackError && e.code === 'ERR_REGEX_UNSUPPORTED' && reason.test(e.message),
    p,
  );

test('keylime excludes: re.match semantics (anchored at the start only) and the refused syntax', () => {
  const ex = compileExcludes(['/tmp/.*', 'boot_aggregate', '/usr/lib/(?P<n>modules)/.*\\.ko\\Z']);
  assert.equal(ex('/tmp/x'), true);
  assert.equal(ex('/var/tmp/x'), false); // not a search
  assert.equal(ex('boot_aggregate_and_more'), true); // not anchored at the end
  assert.equal(ex('/usr/lib/modules/a.ko'), true);
  assert.equal(ex('/usr/lib/modules/a.ko.bak'), false); // \Z anchors
  assert.equal(compileExcludes(['(?i)/HOME/.*'])('/home/u'), true);
  refused('(a)\\1', /backreference/);
  refused('(?P<x>a)(?P=x)', /backreference/);
  refused('(a+)+$', /nested quantifiers/);
  refused('(\\w*)*', /nested quantifiers/);
  refused('a*+', /possessive/);
  refused('(?x)a b', /group syntax|not supported/);
  refused('[a-', /unterminated/);
  refused('x'.repeat(5000), /longer than/);
});

const sha256 = (hex: string): Map<string, Uint8Array> =>
  new Map([['sha256', Buffer.from(hex, 'hex')]]);

test('pcrlock: every reachable value per PCR, one variant per component', () => {
  const sep0 = 'df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119';
  const sepF = 'ad95131bc0b799c0b1af477fb14fcf26a6a9f76079e48bf090acb7e8367bfd0e';
  // PCR 7 after only the 4-zero-byte separator (PROVENANCE §10 worked example)
  const r7 = predictPcrlock([
    { key: '400-secureboot-separator', variants: [[{ pcr: 7, digests: sha256(sep0) }]] },
  ]);
  assert.deepEqual(r7['pcr7:sha256'], [
    '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  ]);
  // PCR 11: enter-initrd, leave-initrd, sysinit, ready in file-name order
  const r11 = predictPcrlock([
    {
      key: '850-sysinit',
      variants: [
        [
          {
            pcr: 11,
            digests: sha256('730bb5a583ba880c277e656d2dc8aba1a314a11b14d25b05153d2bab82567a48'),
          },
        ],
      ],
    },
    {
      key: '750-enter-initrd',
      variants: [
        [
          {
            pcr: 11,
            digests: sha256('51e6b92f405d1f98d96e3de343d61d420ad6923b25de21d766f9298192f14fed'),
          },
        ],
      ],
    },
    {
      key: '900-ready',
      variants: [
        [
          {
            pcr: 11,
            digests: sha256('b24d6d33736ecd5604a4b17bc9c6481039fac362bb7df044ef1c10a2bfd21db6'),
          },
        ],
      ],
    },
    {
      key: '800-leave-initrd',
      variants: [
        [
          {
            pcr: 11,
            digests: sha256('3be261aff7db92bf507eae947f4003ffa2bcad0bffe3524601d62d0bc8be7135'),
          },
        ],
      ],
    },
  ]);
  assert.deepEqual(r11['pcr11:sha256'], [
    '38d2047d0545f701a253005037bd1d1662e5f59388885f9e9443f38e2f23531e',
  ]);
  // variants: the separator or the error separator → two accepted values; "absent" adds the reset
  const two = predictPcrlock([
    {
      key: '400-sep',
      variants: [[{ pcr: 7, digests: sha256(sep0) }], [{ pcr: 7, digests: sha256(sepF) }], []],
    },
  ]);
  assert.equal(two['pcr7:sha256']!.length, 3);
  assert.ok(
    two['pcr7:sha256']!.includes(
      '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
    ),
  );
  assert.ok(two['pcr7:sha256']!.includes('00'.repeat(32)));
  // malformed files are typed errors
  assert.throws(
    () =>
      parsePcrlock({
        name: 'x.pcrlock',
        bytes: Buffer.from('{"records":[{"pcr":24,"digests":[]}]}'),
      }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_POLICY_INVALID',
  );
  assert.deepEqual(
    parsePcrlock({ name: 'absent.pcrlock', bytes: Buffer.from('{"records":[]}') }),
    [],
  );
});

test('RVPS: sample provenance and message; ids mapped by trustee names, the rest reported', async () => {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'appraisal', 'rvps');
  const prov = JSON.parse(
    readFileSync(join(dir, 'trustee-sample-provenance.json'), 'utf8'),
  ) as unknown;
  const msg = JSON.parse(readFileSync(join(dir, 'trustee-sample-message.json'), 'utf8')) as unknown;
  // README: the sample values are test-binary-1/-2 with non-digest strings — nothing maps
  for (const src of [prov, msg]) {
    const r = importRvps([src], { name: 'sample', files: [] });
    assert.deepEqual(r.unmapped, ['test-binary-1', 'test-binary-2']);
  }
  const mrtd = 'ab'.repeat(48);
  const r = importRvps(
    [
      { version: '1.0.0', name: 'mr_td', expiration: '1970-01-01T00:00:00Z', value: [mrtd] },
      { rtmr_1: ['cd'.repeat(48)] },
    ],
    { name: 'rv', files: [] },
  );
  assert.deepEqual(r.unmapped, []);
  const p = await validatePolicy(r.policy);
  assert.deepEqual(p.policy.tdx?.mrtd, [
    { value: mrtd, expires: '1970-01-01T00:00:00Z', source: 'rvps:mr_td' },
  ]);
  assert.deepEqual(p.policy.registers?.['rtmr1'], ['cd'.repeat(48)]);
});
