/**
 * Malformed TPM responses fed to the command decoders: truncated, wrong size fields, unknown
 * tags, wrong session tags, counts that disagree — each a typed ParseError naming the field and
 * offset; an error response code is a TpmRcError with the TPM's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResponse, encodeCommand } from '../../../../src/formats/tpm2/command.js';
import { decodePcrReadResponse } from '../../../../src/formats/tpm2/commands/pcr_read.js';
import { decodeQuoteResponse } from '../../../../src/formats/tpm2/commands/quote.js';
import { decodeGetCapabilityResponse } from '../../../../src/formats/tpm2/commands/get_capability.js';
import { encodePcrExtend } from '../../../../src/formats/tpm2/commands/pcr_extend.js';
import { TpmRcError } from '../../../../src/formats/tpm2/rc.js';
import { ParseError } from '../../../../src/errors.js';

const hx = (s: string): Uint8Array =>
  new Uint8Array(Buffer.from(s.replace(/#[^\n]*/g, '').replace(/[\s|]/g, ''), 'hex'));

/** A PCR_Read response: counter 1, sha256 PCR 0, one 32-byte digest. */
const PCR_READ_OK = hx(`8001 0000003e 00000000 # header: 62 bytes, success
  00000001 # pcrUpdateCounter
  00000001 000b 03 010000 # pcrSelectionOut: sha256 PCR 0
  00000001 0020 ${'aa'.repeat(32)} # pcrValues`);

test('a well-formed PCR_Read response decodes', () => {
  const r = decodePcrReadResponse(PCR_READ_OK);
  assert.equal(r.pcrUpdateCounter, 1);
  assert.deepEqual(r.pcrSelectionOut[0]?.pcrs, [0]);
  assert.equal(Buffer.from(r.pcrValues[0]!).toString('hex'), 'aa'.repeat(32));
});

test('truncated responses: every cut of PCR_Read is a typed ParseError, never a RangeError', () => {
  for (let cut = 0; cut < PCR_READ_OK.length; cut++) {
    assert.throws(
      () => decodePcrReadResponse(PCR_READ_OK.subarray(0, cut)),
      (e: unknown) =>
        e instanceof ParseError && (e.code === 'ERR_TRUNCATED' || e.code === 'ERR_BAD_VALUE'),
      `cut ${cut}`,
    );
  }
});

test('wrong size fields: header size above or below the bytes, inner TPM2B sizes past the end', () => {
  const big = PCR_READ_OK.slice();
  big[5] = 0x3f;
  assert.throws(() => decodePcrReadResponse(big), {
    code: 'ERR_TRUNCATED',
    field: 'response.size',
    offset: 2,
  });
  const small = PCR_READ_OK.slice();
  small[5] = 0x3d;
  assert.throws(() => decodePcrReadResponse(small), {
    code: 'ERR_TRAILING_BYTES',
    field: 'response.size',
  });
  const inner = PCR_READ_OK.slice();
  inner[29] = 0x21; // the digest's TPM2B size 0x20 → 0x21
  assert.throws(() => decodePcrReadResponse(inner), {
    code: 'ERR_TRUNCATED',
    field: 'pcrValues.digests[0].buffer',
    offset: 30,
  });
  const count = PCR_READ_OK.slice();
  count[21] = 0x00; // pcrSelectionOut selects nothing, but one value follows
  assert.throws(() => decodePcrReadResponse(count), {
    code: 'ERR_BAD_VALUE',
    field: 'pcrValues.count',
  });
});

test('unknown tags and a sessions tag where none was sent are ERR_BAD_MAGIC', () => {
  const tag = PCR_READ_OK.slice();
  tag[1] = 0x03;
  assert.throws(() => decodePcrReadResponse(tag), {
    code: 'ERR_BAD_MAGIC',
    field: 'response.tag',
    offset: 0,
  });
  const sessions = PCR_READ_OK.slice();
  sessions[1] = 0x02;
  assert.throws(() => decodePcrReadResponse(sessions), {
    code: 'ERR_BAD_MAGIC',
    field: 'response.tag',
  });
});

test('an error response code becomes TpmRcError with the TPM name, whatever the command', () => {
  assert.throws(
    () => decodePcrReadResponse(hx('8001 0000000a 000001d5')),
    (e: unknown) =>
      e instanceof TpmRcError && e.rcName === 'TPM_RC_SIZE' && e.rcInfo.parameter === 1,
  );
  assert.throws(
    () => decodeQuoteResponse(hx('8001 0000000a 0000018b')),
    (e: unknown) => e instanceof TpmRcError && e.message.includes('TPM2_Quote: TPM_RC_HANDLE'),
  );
  // An error response must be the bare header.
  assert.throws(() => decodeResponse(hx('8001 0000000b 0000018b 00'), { command: 'x' }), {
    code: 'ERR_TRAILING_BYTES',
  });
});

test('session responses: parameterSize past the end and missing auth areas are typed', () => {
  // Quote response with parameterSize 0x100 but only a few bytes follow.
  assert.throws(() => decodeQuoteResponse(hx('8002 00000010 00000000 00000100 0000')), {
    code: 'ERR_TRUNCATED',
    field: 'response.parameters',
  });
  // parameterSize 0 and no auth response.
  assert.throws(() => decodeQuoteResponse(hx('8002 0000000e 00000000 00000000')), {
    code: 'ERR_TRUNCATED',
    field: 'response.auths[0].nonce.size',
  });
});

test('GetCapability: an unexpected capability is ERR_BAD_VALUE, a huge count ERR_LENGTH_LIMIT', () => {
  assert.throws(() => decodeGetCapabilityResponse(hx('8001 0000000f 00000000 00 00000009')), {
    code: 'ERR_BAD_VALUE',
    field: 'capabilityData.capability',
  });
  assert.throws(
    () => decodeGetCapabilityResponse(hx('8001 00000013 00000000 00 00000006 ffffffff')),
    {
      code: 'ERR_LENGTH_LIMIT',
    },
  );
});

test('command encoding: PCR_Extend of two banks is one command, sizes per Part 3 22.2', () => {
  const cmd = encodePcrExtend(16, [
    { hashAlg: 0x0004, digest: new Uint8Array(20).fill(1) },
    { hashAlg: 0x000b, digest: new Uint8Array(32).fill(2) },
  ]);
  assert.equal(
    Buffer.from(cmd).toString('hex'),
    '8002' + // TPM_ST_SESSIONS
      (10 + 4 + 4 + 9 + 4 + 22 + 34).toString(16).padStart(8, '0') +
      '00000182' + // TPM_CC_PCR_Extend
      '00000010' + // pcrHandle 16
      '00000009' +
      '40000009' +
      '0000' +
      '00' +
      '0000' + // password session
      '00000002' +
      '0004' +
      '01'.repeat(20) +
      '000b' +
      '02'.repeat(32),
  );
  assert.equal(Buffer.from(encodeCommand({ cc: 0x17b })).toString('hex'), '80010000000a0000017b');
});
