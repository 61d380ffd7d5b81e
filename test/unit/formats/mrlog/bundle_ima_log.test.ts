// The `ima_log` member of a bundle (MR_IMA_SPEC "The ima bundle", docs/bundle.md): shape only —
// exactly one of tenant_log / ima_log, and each ima_log field refused with a typed error that
// names it. No cryptography here (the layered verify is tested end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleSkeleton } from '../../../_support/bundle_skeleton.js';
import { ParseError } from '../../../../src/errors.js';
import { bundleToJson, parseBundle } from '../../../../src/formats/bundle/bundle.js';

const tenantLog = { vmr: 'alice', alg: 'sha384', before: 0, after: 0, lines: [] };
const imaLog = {
  vmr: 'mr_ima',
  alg: 'sha384',
  salt: '5a'.repeat(32),
  count: 2,
  banks: { sha1: '11'.repeat(20), sha256: '22'.repeat(32), sha384: '33'.repeat(48) },
  format: 'ima-binary',
  data: Buffer.from('list bytes').toString('base64'),
};

function bundle(extra: Record<string, unknown>): Record<string, unknown> {
  return { ...bundleSkeleton({ tenant: 'ima' }), ...extra };
}

const parse = (o: Record<string, unknown>) => parseBundle(JSON.stringify(o));

function refused(o: Record<string, unknown>, field: string): void {
  assert.throws(
    () => parse(o),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_JSON' && e.field === field,
    field,
  );
}

test('ima_log parses and prints back; tenant_log is then absent', () => {
  const b = parse(bundle({ ima_log: imaLog }));
  assert.equal(b.tenantLog, undefined);
  const ima = b.imaLog;
  assert.ok(ima !== undefined);
  assert.equal(ima.vmr, 'mr_ima');
  assert.equal(ima.count, 2);
  assert.deepEqual([...ima.banks.keys()], ['sha1', 'sha256', 'sha384']);
  assert.equal(Buffer.from(ima.salt).toString('hex'), '5a'.repeat(32));
  assert.equal(Buffer.from(ima.data).toString(), 'list bytes');
  const j = bundleToJson(b);
  assert.deepEqual(j['ima_log'], imaLog);
  assert.equal('tenant_log' in j, false);
  // a tenant bundle still has no ima_log
  const t = bundleToJson(parse(bundle({ tenant_log: tenantLog })));
  assert.equal('ima_log' in t, false);
  assert.deepEqual(t['tenant_log'], tenantLog);
});

test('exactly one of tenant_log and ima_log', () => {
  refused(bundle({}), 'tenant_log');
  refused(bundle({ tenant_log: tenantLog, ima_log: imaLog }), 'ima_log');
});

test('ima_log.data: padded and unpadded base64 decode to the bytes', () => {
  for (const data of ['bGlzdA==', 'bGlzdA', 'bGlzdCBieXRlcw==', '']) {
    const ima = parse(bundle({ ima_log: { ...imaLog, data } })).imaLog!;
    assert.deepEqual(Buffer.from(ima.data), Buffer.from(data, 'base64'), data);
  }
});

test('each ima_log field is checked and named', () => {
  const bad = (patch: Record<string, unknown>, field: string): void =>
    refused(bundle({ ima_log: { ...imaLog, ...patch } }), field);
  bad({ vmr: 'alice' }, 'ima_log.vmr');
  bad({ alg: 'sha256' }, 'ima_log.alg'); // not the physical register's bank
  bad({ alg: 'md5' }, 'ima_log.alg');
  bad({ salt: '5a'.repeat(31) }, 'ima_log.salt');
  bad({ count: -1 }, 'ima_log.count');
  bad({ count: 1.5 }, 'ima_log.count');
  bad({ format: 'ima-ascii' }, 'ima_log.format');
  bad({ data: 'not base64!' }, 'ima_log.data');
  // what Node's decoder would skip or take (URL-safe alphabet, white space, an inner or a
  // third '=') is refused as the base64 alphabet refuses it (RFC 4648 §4)
  for (const data of ['bGlz-HQ=', 'bGlz_HQ=', 'bGlz dA==', 'bGlz\ndA==', 'bG=zdA==', 'bGlzdA==='])
    bad({ data }, 'ima_log.data');
  bad({ banks: { sha1: imaLog.banks.sha1, sha256: imaLog.banks.sha256 } }, 'ima_log.banks.sha384');
  bad({ banks: { ...imaLog.banks, sha512: '44'.repeat(64) } }, 'ima_log.banks.sha512');
  bad({ banks: { ...imaLog.banks, sha1: '11'.repeat(19) } }, 'ima_log.banks.sha1');
  assert.throws(
    () => parse(bundle({ ima_log: { ...imaLog, salt: 'zz'.repeat(32) } })),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_HEX',
  );
});

test('ima_log.alg on a TPM PCR: any bank of the register (the tokens name which), never one it lacks', () => {
  const pcr = (ima: Record<string, unknown>): Record<string, unknown> => {
    const b = bundle({ ima_log: ima });
    b['physical_log'] = {
      ...(b['physical_log'] as object),
      register: 'pcr14',
      algs: ['sha1', 'sha256', 'sha384'],
    };
    return b;
  };
  // B = [sha1, sha256] plus A when A is neither (docs/bundle.md)
  const banksFor: Record<string, Record<string, string>> = {
    sha1: { sha1: imaLog.banks.sha1, sha256: imaLog.banks.sha256 },
    sha256: { sha1: imaLog.banks.sha1, sha256: imaLog.banks.sha256 },
    sha384: imaLog.banks,
  };
  for (const alg of ['sha1', 'sha256', 'sha384']) {
    const ima = parse(pcr({ ...imaLog, alg, banks: banksFor[alg] })).imaLog!;
    assert.equal(ima.alg, alg);
    assert.deepEqual([...ima.banks.keys()], Object.keys(banksFor[alg]!));
  }
  refused(
    pcr({ ...imaLog, alg: 'sha512', banks: { ...imaLog.banks, sha512: '44'.repeat(64) } }),
    'ima_log.alg',
  );
});
