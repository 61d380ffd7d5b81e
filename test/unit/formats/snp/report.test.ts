import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../../src/errors.js';
import {
  parseSnpReport,
  snpReportClaims,
  SNP_REPORT_SIZE,
} from '../../../../src/formats/snp/report.js';
import { decodeTcb, encodeTcb, formatTcb } from '../../../../src/formats/snp/tcb.js';
import {
  attachSnpSignature,
  encodeSnpReportBody,
} from '../../../../src/formats/snp/report_encode.js';
import {
  encodeSnpCertTable,
  parseSnpCertTable,
  SNP_CERT_GUIDS,
  guidFromString,
} from '../../../../src/formats/snp/cert_table.js';
import { parseVcekExtensions } from '../../../../src/formats/snp/vcek_extensions.js';
import { fixture } from '../../../_support/paths.js';
import { parseCertificate } from '../../../../src/verifier/verify/x509/certificate.js';

const snp = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'snp', f)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('SNP-1 go-sev-guest Milan v2: every field the upstream tests assert', () => {
  const r = parseSnpReport(snp('gosevguest-milan-v2.report.bin'));
  assert.equal(r.version, 2);
  assert.equal(hex(r.report_data), '0102030405' + '00'.repeat(59));
  assert.equal(hex(r.host_data), '00'.repeat(32));
  assert.equal(hex(r.family_id), '00'.repeat(16));
  assert.equal(hex(r.image_id), '00'.repeat(16));
  assert.equal(
    hex(r.report_id),
    '8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a',
  );
  assert.equal(hex(r.report_id_ma), 'ff'.repeat(32));
  assert.equal(
    hex(r.measurement),
    'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
  );
  assert.equal(
    hex(r.chip_id),
    '3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d',
  );
  // 4901323769462652930 = 0x4405000000000002: bl 2, tee 0, snp 5, ucode 68.
  assert.equal(r.reported_tcb.raw, 4901323769462652930n);
  assert.deepEqual(
    [r.reported_tcb.bootloader, r.reported_tcb.tee, r.reported_tcb.snp, r.reported_tcb.microcode],
    [2, 0, 5, 68],
  );
  assert.equal(r.launch_tcb.raw, 0x4405000000000002n);
  assert.equal(r.current_tcb.raw, 0x4405000000000002n);
  assert.equal(r.committed_tcb.raw, 0x4405000000000002n);
  assert.equal(r.policy.raw, 0xb0000n);
  assert.equal(r.policy.debug, true);
  assert.equal(r.policy.smt, true);
  assert.equal(r.policy.migrate_ma, false);
  assert.equal(r.vmpl, 0);
  assert.equal(r.platform_info.raw, 1n);
  assert.equal(r.platform_info.smt_en, true);
  assert.equal(r.signature_algo, 1);
  assert.equal(r.author_key_en, false);
  assert.equal(r.signing_key, 'vcek');
  assert.deepEqual(r.current, { major: 1, minor: 49, build: 3 });
  assert.equal(r.cpuid_fam_id, undefined, 'v2 has no CPUID fields');
});

test('SNP-3 trustee Milan v2: CURRENT_TCB differs from REPORTED_TCB; ids and digests', () => {
  const r = parseSnpReport(snp('trustee-milan-v2.report.bin'));
  assert.equal(r.guest_svn, 4);
  assert.equal(r.policy.raw, 0x3001fn);
  assert.equal(r.policy.abi_minor, 0x1f);
  assert.equal(hex(r.family_id), '01' + '00'.repeat(15));
  assert.equal(hex(r.image_id), '02' + '00'.repeat(15));
  assert.equal(
    hex(r.id_key_digest),
    '0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3',
  );
  assert.equal(r.current_tcb.raw, 0xce08000000000003n);
  assert.equal(r.reported_tcb.raw, 0x7308000000000003n);
  assert.equal(
    hex(r.report_data),
    'ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2' + '00'.repeat(32),
  );
});

test('SNP-4 trustee Genoa v3: CPUID names Genoa, firmware 1.55 build 40', () => {
  const r = parseSnpReport(snp('trustee-e2e-genoa-v3.report.bin'));
  assert.equal(r.version, 3);
  assert.deepEqual([r.cpuid_fam_id, r.cpuid_mod_id, r.cpuid_step], [0x19, 0xa0, 2]);
  assert.equal(r.product, 'genoa');
  assert.equal(r.platform_info.raw, 0x25n);
  assert.equal(r.reported_tcb.raw, 0x191700000000000an);
  assert.deepEqual(
    [r.reported_tcb.bootloader, r.reported_tcb.tee, r.reported_tcb.snp, r.reported_tcb.microcode],
    [10, 0, 23, 25],
  );
  assert.deepEqual(r.current, { major: 1, minor: 55, build: 40 });
  assert.equal(
    hex(r.measurement),
    '6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e',
  );
});

test('SNP-5 teekit GCP Milan v5: VMPL, mitigation vectors, report data', () => {
  const r = parseSnpReport(snp('teekit-gcp-milan-v5-reportdata.report.bin'));
  assert.equal(r.version, 5);
  assert.equal(r.guest_svn, 0);
  assert.equal(r.vmpl, 1);
  assert.equal(r.policy.debug, false);
  assert.equal(r.policy.abi_major, 0);
  assert.equal(r.policy.abi_minor, 0);
  assert.equal(r.launch_mit_vector, 0xbn);
  assert.equal(r.current_mit_vector, 0xbn);
  assert.equal(r.product, 'milan');
  assert.equal(r.reported_tcb.raw, 0xde1b000000000004n);
  assert.equal(
    hex(r.measurement),
    'b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3',
  );
  assert.equal(
    hex(r.report_data),
    '32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d395f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5',
  );
  const z = parseSnpReport(snp('teekit-gcp-milan-v5-zero.report.bin'));
  assert.equal(z.vmpl, 0);
  assert.equal(hex(z.report_data), '00'.repeat(64));
});

test('claims use the spec names in snake_case', () => {
  const c = snpReportClaims(parseSnpReport(snp('trustee-e2e-genoa-v3.report.bin')));
  for (const k of [
    'measurement',
    'host_data',
    'chip_id',
    'reported_tcb',
    'report_data',
    'policy',
  ]) {
    assert.ok(k in c, k);
  }
  assert.equal((c['reported_tcb'] as { raw: string }).raw, '0x191700000000000a');
});

test('TCB layouts: Milan/Genoa vs Turin (FMC byte first)', () => {
  const m = decodeTcb(0x7308000000000003n, 'milan-genoa');
  assert.deepEqual([m.bootloader, m.tee, m.snp, m.microcode, m.fmc], [3, 0, 8, 115, undefined]);
  // Turin: byte0 fmc, byte1 bl, byte2 tee, byte3 snp, byte7 ucode.
  const t = decodeTcb(0x0f00000008010305n, 'turin');
  assert.deepEqual([t.fmc, t.bootloader, t.tee, t.snp, t.microcode], [5, 3, 1, 8, 15]);
  // trustee's test_format_tcb_prefix strings.
  assert.equal(
    formatTcb(
      decodeTcb(
        encodeTcb({ bootloader: 2, tee: 0, snp: 6, microcode: 21 }, 'milan-genoa'),
        'milan-genoa',
      ),
    ),
    'bl02_tee00_snp06_ucode21',
  );
  assert.equal(formatTcb(t), 'bl03_tee01_snp08_ucode15_fmc05');
  assert.equal(encodeTcb(t, 'turin'), 0x0f00000008010305n);
});

test('a v3 report with CPUID family 0x1A decodes its TCBs in the Turin layout', () => {
  const body = encodeSnpReportBody({
    version: 3,
    policy: 0x30000n,
    current_tcb: 0x0f00000008010305n,
    reported_tcb: 0x0f00000008010305n,
    report_data: new Uint8Array(64),
    measurement: new Uint8Array(48),
    chip_id: new Uint8Array(64),
    cpuid: { family: 0x1a, model: 0x02, stepping: 1 },
  });
  const r = parseSnpReport(attachSnpSignature(body, new Uint8Array(48), new Uint8Array(48)));
  assert.equal(r.product, 'turin');
  assert.equal(r.reported_tcb.layout, 'turin');
  assert.equal(r.reported_tcb.fmc, 5);
  assert.equal(r.reported_tcb.snp, 8);
});

test('truncated, oversized, bad version, bad algorithm and MBZ inputs are typed errors', () => {
  const good = snp('trustee-milan-v2.report.bin');
  assert.throws(
    () => parseSnpReport(good.subarray(0, 1000)),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_TRUNCATED');
      assert.equal(e.format, 'snp-report');
      return true;
    },
  );
  const long = new Uint8Array(SNP_REPORT_SIZE + 1);
  long.set(good);
  assert.throws(() => parseSnpReport(long), { code: 'ERR_TRAILING_BYTES' });
  assert.equal(parseSnpReport(long, { allowTrailing: true }).version, 2);
  const v0 = Uint8Array.from(good);
  v0[0] = 0;
  assert.throws(() => parseSnpReport(v0), { code: 'ERR_UNSUPPORTED_VERSION', offset: 0 });
  const alg = Uint8Array.from(good);
  alg[0x34] = 2;
  assert.throws(() => parseSnpReport(alg), { code: 'ERR_UNKNOWN_ALGORITHM', offset: 0x34 });
  const mbz = Uint8Array.from(good);
  mbz[0x1f8] = 1;
  assert.throws(() => parseSnpReport(mbz), { code: 'ERR_RESERVED_NONZERO', offset: 0x1f8 });
  const sigHigh = Uint8Array.from(good);
  sigHigh[0x2a0 + 60] = 1;
  assert.throws(() => parseSnpReport(sigHigh), {
    code: 'ERR_RESERVED_NONZERO',
    offset: 0x2a0 + 60,
  });
});

test('certificate table: GUID byte order, round trip, missing terminator', () => {
  // EFI GUID layout: the first three fields little-endian.
  assert.equal(hex(guidFromString(SNP_CERT_GUIDS.vcek)), '8d75da6364e66445adc5f4b93be8accd');
  const t = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: Uint8Array.of(1, 2, 3) },
    { guid: SNP_CERT_GUIDS.ark, data: Uint8Array.of(9) },
  ]);
  const e = parseSnpCertTable(t);
  assert.deepEqual(
    e.map((x) => [x.name, hex(x.data)]),
    [
      ['vcek', '010203'],
      ['ark', '09'],
    ],
  );
  assert.throws(() => parseSnpCertTable(t.subarray(0, 30)), { code: 'ERR_TRUNCATED' });
});

test('VCEK extensions: Milan (64-byte hwID) and Turin (8-byte hwID, FMC SPL)', () => {
  const m = parseVcekExtensions(parseCertificate(snp('gosevguest-milan-v2.vcek.der')).extensions);
  assert.equal(m.product_name, 'Milan-B0');
  assert.deepEqual([m.bl_spl, m.tee_spl, m.snp_spl, m.ucode_spl], [2, 0, 5, 68]);
  assert.equal(hex(m.hwid!), hex(parseSnpReport(snp('gosevguest-milan-v2.report.bin')).chip_id));
  const t = parseVcekExtensions(parseCertificate(snp('virtee-turin.vcek.der')).extensions);
  assert.equal(t.product_name, 'Turin');
  assert.equal(t.struct_version, 1);
  assert.deepEqual([t.fmc_spl, t.bl_spl, t.tee_spl, t.snp_spl, t.ucode_spl], [0, 0, 0, 0, 9]);
  assert.equal(hex(t.hwid!), '1e550a8ee5cf9f4d');
});
