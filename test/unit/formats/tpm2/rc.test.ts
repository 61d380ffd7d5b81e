/**
 * Response-code decoding against TPM 2.0 Part 2 §6.6 and against tpm2-tools' own decoder
 * (`tpm2_rc_decode`), which names the same error and parameter/handle/session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { decodeRc, formatRc, TpmRcError } from '../../../../src/formats/tpm2/rc.js';
import { ERROR_CODES } from '../../../../src/errors.js';

const CASES: readonly [number, string, Record<string, number>][] = [
  [0x0100, 'TPM_RC_INITIALIZE', {}],
  [0x0101, 'TPM_RC_FAILURE', {}],
  [0x0143, 'TPM_RC_COMMAND_CODE', {}],
  [0x014a, 'TPM_RC_NV_UNINITIALIZED', {}],
  [0x018b, 'TPM_RC_HANDLE', { handle: 1 }],
  [0x028b, 'TPM_RC_HANDLE', { handle: 2 }],
  [0x01d5, 'TPM_RC_SIZE', { parameter: 1 }],
  [0x02d2, 'TPM_RC_SCHEME', { parameter: 2 }],
  [0x098e, 'TPM_RC_AUTH_FAIL', { session: 1 }],
  [0x09a2, 'TPM_RC_BAD_AUTH', { session: 1 }],
  [0x009f, 'TPM_RC_INTEGRITY', {}],
  [0x0902, 'TPM_RC_OBJECT_MEMORY', {}],
  [0x0922, 'TPM_RC_RETRY', {}],
  [0x0907, 'TPM_RC_LOCALITY', {}],
];

test('format-0 and format-1 codes decode to the specification names and numbers', () => {
  for (const [rc, name, where] of CASES) {
    const d = decodeRc(rc);
    assert.equal(d.name, name, `0x${rc.toString(16)}`);
    assert.equal(d.parameter, where['parameter']);
    assert.equal(d.handle, where['handle']);
    assert.equal(d.session, where['session']);
    assert.equal(d.format1, (rc & 0x80) !== 0);
  }
  assert.equal(decodeRc(0x0922).warning, true);
  assert.equal(decodeRc(0x0001).tpm12, true);
  assert.equal(decodeRc(0x0500).vendor, true);
  assert.equal(formatRc(decodeRc(0x18b)), 'TPM_RC_HANDLE (0x18b, handle 1)');
});

/** Part 2's description of each code, which tpm2_rc_decode prints. */
const DESCRIPTIONS: Readonly<Record<string, RegExp>> = {
  TPM_RC_INITIALIZE: /not initialized by TPM2_Startup/,
  TPM_RC_HANDLE: /handle is not correct/,
  TPM_RC_SIZE: /structure is the wrong size/,
  TPM_RC_AUTH_FAIL: /authorization HMAC check failed/,
  TPM_RC_RETRY: /not able to start the command/,
  TPM_RC_INTEGRITY: /integrity check failed/,
  TPM_RC_SCHEME: /unsupported or incompatible scheme/,
  TPM_RC_OBJECT_MEMORY: /out of memory for object contexts/,
  TPM_RC_LOCALITY: /locality/,
  TPM_RC_BAD_AUTH: /authorization failure without DA implications/,
};

test('tpm2_rc_decode names the same error for every case (and the same parameter/handle/session)', () => {
  for (const [rc, name, where] of CASES) {
    const out = execFileSync('tpm2_rc_decode', [`0x${rc.toString(16)}`]).toString();
    // tpm2-tools prints the error's description, not its name: compare the numbers it gives and
    // the "format"/kind it reports.
    if (where['parameter'] !== undefined)
      assert.match(out, new RegExp(`parameter\\(${where['parameter']}\\)`), name);
    if (where['handle'] !== undefined)
      assert.match(out, new RegExp(`handle\\(${where['handle']}\\)`), name);
    if (where['session'] !== undefined)
      assert.match(out, new RegExp(`session\\(${where['session']}\\)`), name);
    if ((rc & 0x900) === 0x900 && (rc & 0x80) === 0) assert.match(out, /warn/, name);
    assert.match(out, /^tpm:/m, name);
    const text = DESCRIPTIONS[name];
    if (text !== undefined) assert.match(out, text, name);
  }
});

test('TpmRcError is ERR_TPM_RC (exit 3) and carries the name in its message and JSON', () => {
  const e = new TpmRcError('TPM2_NV_ReadPublic', 0x18b);
  assert.equal(e.code, 'ERR_TPM_RC');
  assert.equal(e.exitCode, 3);
  assert.equal(ERROR_CODES.ERR_TPM_RC.exit, 3);
  assert.match(e.message, /^TPM2_NV_ReadPublic: TPM_RC_HANDLE/);
  assert.equal(e.toJSON()['tpm_rc'], 'TPM_RC_HANDLE');
  assert.equal(e.toJSON()['handle'], 1);
});
