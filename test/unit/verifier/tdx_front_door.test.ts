// The verification front door as TDX uses it: input decoding (binary, hex, base64, report
// envelope), kind detection, the nonce rule and report-data binding, and collateral files
// recognised by content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../../_support/paths.js';
import { toHex } from '../../../src/bytes/hex.js';
import { withLimits } from '../../../src/limits.js';
import {
  decodeEvidenceInput,
  detectEvidenceKind,
  showEvidence,
} from '../../../src/verifier/verify/evidence.js';
import {
  checkReportDataNonce,
  reportDataBinding,
} from '../../../src/verifier/verify/evidence_result.js';
import { parseTdxCollateralFiles } from '../../../src/verifier/collateral/tdx_collateral.js';

const tdx = (...p: string[]): string => fixture('evidence', 'tdx', ...p);
const quote = new Uint8Array(readFileSync(tdx('dcapqvl-v4-b0c06f.quote.bin')));

test('binary, hex and base64 text decode to the same quote; the kind is detected', () => {
  assert.equal(decodeEvidenceInput(quote).encoding, 'binary');
  const hex = decodeEvidenceInput(new TextEncoder().encode(`${toHex(quote)}\n`));
  assert.equal(hex.encoding, 'hex');
  assert.equal(toHex(hex.data), toHex(quote));
  const b64text = Buffer.from(quote).toString('base64').replace(/.{76}/g, '$&\n');
  const b64 = decodeEvidenceInput(new TextEncoder().encode(b64text));
  assert.equal(b64.encoding, 'base64');
  assert.equal(toHex(b64.data), toHex(quote));
  assert.equal(detectEvidenceKind(quote), 'tdx');
  assert.equal(showEvidence(quote).kind, 'tdx');
  assert.throws(() => detectEvidenceKind(new Uint8Array(16)), { code: 'ERR_UNKNOWN_FORMAT' });
  assert.throws(() => decodeEvidenceInput(quote, withLimits({ maxEvidenceSize: 100 })), {
    code: 'ERR_LENGTH_LIMIT',
  });
  assert.throws(() => decodeEvidenceInput(new TextEncoder().encode('not evidence!')), {
    code: 'ERR_BAD_ENCODING',
  });
});

test('a report envelope unpacks to its outblob, kind and collateral', () => {
  const env = {
    format: 'mrstack-report-v1',
    kind: 'tdx',
    emulated: true,
    outblob: toHex(quote),
    collateral: { hello: 'world' },
  };
  const d = decodeEvidenceInput(new TextEncoder().encode(JSON.stringify(env)));
  assert.equal(d.encoding, 'envelope');
  assert.equal(d.envelope?.kind, 'tdx');
  assert.equal(d.envelope.emulated, true);
  assert.deepEqual(d.envelope.collateral, { hello: 'world' });
  assert.equal(toHex(d.data), toHex(quote));
  const bad = { ...env, kind: 'sgx' };
  assert.throws(() => decodeEvidenceInput(new TextEncoder().encode(JSON.stringify(bad))), {
    code: 'ERR_BAD_JSON',
  });
  // JSON naming a format is passed through as is (a bundle is the bundle verifier's business);
  // other JSON is refused, naming the JSON formats tried (issue 18).
  const named = new TextEncoder().encode('{"format":"mrstack-evidence-bundle"}');
  assert.equal(decodeEvidenceInput(named).encoding, 'binary');
  const other = new TextEncoder().encode('{"bundle":1}');
  assert.throws(() => decodeEvidenceInput(other), {
    code: 'ERR_UNKNOWN_FORMAT',
    message: /mrstack report envelope.*trustee TDX evidence.*members bundle/,
  });
});

test('nonce rule: equal when 64 bytes, else a prefix followed by zeros', () => {
  const rd = new Uint8Array(64);
  rd.set([1, 2, 3]);
  assert.equal(checkReportDataNonce(rd, Uint8Array.of(1, 2, 3)), undefined);
  assert.equal(checkReportDataNonce(rd, rd), undefined);
  assert.match(checkReportDataNonce(rd, Uint8Array.of(1, 2))!, /not bound/);
  assert.match(checkReportDataNonce(rd, Uint8Array.of(9)) ?? '', /not bound/);
  assert.match(checkReportDataNonce(rd, new Uint8Array(65)) ?? '', /longer/);
});

test('report data binding with user data is SHA-512 of the labelled fields', () => {
  const nonce = Uint8Array.of(0xc0, 0xff, 0xee);
  const ud = Uint8Array.of(0xab, 0xcd);
  assert.equal(toHex(reportDataBinding(nonce)), 'c0ffee');
  const want = createHash('sha512')
    .update(
      Buffer.concat([
        Buffer.from('mrstack-report-v1'),
        Buffer.from([0, 3]),
        Buffer.from(nonce),
        Buffer.from([0, 2]),
        Buffer.from(ud),
      ]),
    )
    .digest('hex');
  assert.equal(toHex(reportDataBinding(nonce, ud)), want);
});

test('collateral: a PCS directory is recognised by content (DER, PEM and hex CRLs alike)', () => {
  const files = new Map<string, Uint8Array>();
  for (const n of readdirSync(tdx('gotdx-2023-pcs'))) {
    files.set(n, new Uint8Array(readFileSync(join(tdx('gotdx-2023-pcs'), n))));
  }
  const c = parseTdxCollateralFiles(files);
  assert.equal(c.tcbInfo.value.fmspc, '50806f000000');
  assert.equal(c.tcbInfo.value.tcbEvaluationDataNumber, 15);
  assert.equal(c.qeIdentity.value.id, 'TD_QE');
  assert.equal(c.tcbInfoIssuerChain.length, 2);
  assert.equal(c.pckCrlIssuerChain.length, 2);
  assert.equal(c.pckCrl?.revoked.size, 44);
  assert.equal(c.pckCrl.thisUpdate.toISOString(), '2023-06-08T07:27:52.000Z');
  assert.equal(c.rootCaCrl?.revoked.size, 0);
  assert.equal(c.rootCaCrl.nextUpdate?.toISOString(), '2024-04-02T10:22:51.000Z');
  // The same CRLs as PEM and as hex text.
  const der = files.get('gotdx-2023.pck-crl-platform.der')!;
  const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64')}\n-----END X509 CRL-----\n`;
  const alt = new Map(files);
  alt.set('gotdx-2023.pck-crl-platform.der', new TextEncoder().encode(pem));
  alt.set(
    'gotdx-2023.root-ca-crl.der',
    new TextEncoder().encode(toHex(files.get('gotdx-2023.root-ca-crl.der')!)),
  );
  const c2 = parseTdxCollateralFiles(alt);
  assert.equal(c2.pckCrl?.revoked.size, 44);
  assert.equal(c2.rootCaCrl?.revoked.size, 0);
  // The signed bytes are the member text exactly as served.
  const served = readFileSync(join(tdx('gotdx-2023-pcs'), 'gotdx-2023.qe-identity.json'), 'utf8');
  assert.ok(
    served.startsWith(`{"enclaveIdentity":${Buffer.from(c.qeIdentity.raw).toString('utf8')},`),
  );
  // Without a TCB info there is nothing to evaluate against.
  const partial = new Map(files);
  partial.delete('gotdx-v4-spr-e4.tcbinfo-50806f000000.json');
  assert.throws(() => parseTdxCollateralFiles(partial), {
    code: 'ERR_BAD_JSON',
    format: 'tdx-collateral',
  });
});
