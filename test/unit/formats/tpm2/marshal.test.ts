/**
 * The STYLE.md §3.5 matrix for every TPM type family (as tss2-mu tests it): decode of a vector
 * written field by field from TPM 2.0 Part 2, encode back to the same bytes, decode at a
 * non-zero start offset with absolute offsets in errors, one byte short → ERR_TRUNCATED, and
 * the size caps from the specification → ERR_LENGTH_LIMIT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../../../../src/bytes/reader.js';
import { ByteWriter } from '../../../../src/bytes/writer.js';
import { ParseError } from '../../../../src/errors.js';
import { readTpm2b, writeTpm2b } from '../../../../src/formats/tpm2/marshal/tpm2b.js';
import {
  readPcrSelectionList,
  writePcrSelectionList,
} from '../../../../src/formats/tpm2/marshal/pcr_selection.js';
import {
  readDigestList,
  readDigestValues,
  writeDigestList,
  writeDigestValues,
} from '../../../../src/formats/tpm2/marshal/digests.js';
import {
  readPublic,
  writePublic,
  type TpmPublic,
} from '../../../../src/formats/tpm2/marshal/public.js';
import { readAttest, writeAttest } from '../../../../src/formats/tpm2/marshal/attest.js';
import { readSignature, writeSignature } from '../../../../src/formats/tpm2/marshal/signature.js';
import { readContext, writeContext } from '../../../../src/formats/tpm2/marshal/context.js';
import { readHeader, writeHeader } from '../../../../src/formats/tpm2/marshal/header.js';
import {
  readAuthCommand,
  readAuthResponse,
  writeAuthCommand,
  writeAuthResponse,
} from '../../../../src/formats/tpm2/marshal/auth.js';
import { ekTemplate } from '../../../../src/formats/tpm2/templates.js';

/** Hex with spaces, `|` and `#` comments allowed. */
const hx = (s: string): Uint8Array =>
  new Uint8Array(Buffer.from(s.replace(/#[^\n]*/g, '').replace(/[\s|]/g, ''), 'hex'));
const z = (n: number): string => '00'.repeat(n);

interface Family {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expected: unknown;
  read(r: ByteReader): unknown;
  write(w: ByteWriter, v: never): void;
  /** Inputs that break a cap, with the field named in the error. */
  readonly caps?: readonly { readonly bytes: Uint8Array; readonly field: string }[];
}

// EK policy: PolicySecret(TPM_RH_ENDORSEMENT), EK Credential Profile B.3.2.
const EK_POLICY = '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa';

// Types with more than one vector below share their codec.
const TPMT_PUBLIC = {
  read: (r: ByteReader) => readPublic(r, 'pub'),
  write: (w: ByteWriter, v: TpmPublic) => writePublic(w, v),
};
const TPMT_SIGNATURE = {
  read: (r: ByteReader) => readSignature(r, 'sig'),
  write: (w: ByteWriter, v: never) => writeSignature(w, v),
};

const FAMILIES: readonly Family[] = [
  {
    name: 'TPM2B_DIGEST',
    bytes: hx('0004 deadbeef'),
    expected: hx('deadbeef'),
    read: (r) => readTpm2b(r, 'digest', 64),
    write: (w, v: Uint8Array) => writeTpm2b(w, v),
    caps: [{ bytes: hx(`0041 ${z(65)}`), field: 'digest.buffer' }],
  },
  {
    name: 'TPML_PCR_SELECTION',
    bytes: hx(`00000002 | 000b 03 81 00 00 # sha256: PCR 0, 7
                          | 0004 03 00 00 01 # sha1: PCR 16`),
    expected: [
      { hashAlg: 0x000b, pcrs: [0, 7], sizeofSelect: 3 },
      { hashAlg: 0x0004, pcrs: [16], sizeofSelect: 3 },
    ],
    read: (r) => readPcrSelectionList(r, 'sel'),
    write: (w, v: never) => writePcrSelectionList(w, v),
    caps: [
      { bytes: hx(`00000011 ${z(80)}`), field: 'sel.count' },
      { bytes: hx('00000001 000b 05 ffffffffff'), field: 'sel.pcrSelections[0].pcrSelect' },
    ],
  },
  {
    name: 'TPML_DIGEST',
    bytes: hx('00000002 | 0002 aabb | 0000'),
    expected: [hx('aabb'), hx('')],
    read: (r) => readDigestList(r, 'list'),
    write: (w, v: never) => writeDigestList(w, v),
    caps: [
      { bytes: hx(`00000009 ${z(18)}`), field: 'list.count' },
      { bytes: hx(`00000001 0041 ${z(65)}`), field: 'list.digests[0].buffer' },
    ],
  },
  {
    name: 'TPML_DIGEST_VALUES',
    bytes: hx(`00000002 | 0004 ${'11'.repeat(20)} | 000b ${'22'.repeat(32)}`),
    expected: [
      { hashAlg: 4, digest: hx('11'.repeat(20)) },
      { hashAlg: 0xb, digest: hx('22'.repeat(32)) },
    ],
    read: (r) => readDigestValues(r, 'dv'),
    write: (w, v: never) => writeDigestValues(w, v),
    caps: [{ bytes: hx(`00000011 ${z(40)}`), field: 'dv.count' }],
  },
  {
    name: 'TPMT_PUBLIC (RSA, EK template L-1)',
    bytes: hx(`0001 000b 000300b2 | 0020 ${EK_POLICY}
               0006 0080 0043 # AES-128-CFB
               0010 # scheme NULL
               0800 00000000 # 2048 bits, default exponent
               0100 ${z(256)}`),
    expected: ekTemplate('rsa'),
    ...TPMT_PUBLIC,
    caps: [
      {
        bytes: hx(`0001 000b 000300b2 0000 0010 0010 0800 00000000 0201 ${z(513)}`),
        field: 'pub.unique.rsa.buffer',
      },
    ],
  },
  {
    name: 'TPMT_PUBLIC (ECC, EK template L-2)',
    bytes: hx(`0023 000b 000300b2 | 0020 ${EK_POLICY}
               0006 0080 0043 | 0010 # scheme NULL
               0003 # NIST P-256
               0010 # kdf NULL
               0020 ${z(32)} | 0020 ${z(32)}`),
    expected: ekTemplate('ecc'),
    ...TPMT_PUBLIC,
    caps: [
      {
        bytes: hx(`0023 000b 00000000 0000 0010 0010 0003 0010 0081 ${z(129)}`),
        field: 'pub.unique.ecc.x.buffer',
      },
    ],
  },
  {
    name: 'TPMS_ATTEST (quote)',
    bytes: hx(`ff544347 8018 # TPM_GENERATED, TPM_ST_ATTEST_QUOTE
               0002 000b # qualifiedSigner
               0003 010203 # extraData
               0000000000001000 00000001 00000002 01 # clockInfo
               0000000000000007 # firmwareVersion
               00000001 000b 03 030000 # sha256 PCR 0,1
               0020 ${'ab'.repeat(32)}`),
    expected: {
      magic: 0xff544347,
      type: 0x8018,
      qualifiedSigner: hx('000b'),
      extraData: hx('010203'),
      clockInfo: { clock: 0x1000n, resetCount: 1, restartCount: 2, safe: true },
      firmwareVersion: 7n,
      attested: {
        kind: 'quote',
        pcrSelect: [{ hashAlg: 0xb, pcrs: [0, 1], sizeofSelect: 3 }],
        pcrDigest: hx('ab'.repeat(32)),
      },
    },
    read: (r) => readAttest(r, 'attest'),
    write: (w, v: never) => writeAttest(w, v),
    caps: [{ bytes: hx(`ff544347 8018 0043 ${z(67)}`), field: 'attest.qualifiedSigner.buffer' }],
  },
  {
    name: 'TPMT_SIGNATURE (ECDSA)',
    bytes: hx('0018 000b | 0002 0102 | 0003 030405'),
    expected: { kind: 'ecc', sigAlg: 0x18, hashAlg: 0xb, r: hx('0102'), s: hx('030405') },
    ...TPMT_SIGNATURE,
    caps: [{ bytes: hx(`0014 000b 0201 ${z(513)}`), field: 'sig.signature.sig.buffer' }],
  },
  {
    name: 'TPMT_SIGNATURE (RSAPSS)',
    bytes: hx(`0016 000c | 0004 ${'5a'.repeat(4)}`),
    expected: { kind: 'rsa', sigAlg: 0x16, hashAlg: 0xc, sig: hx('5a'.repeat(4)) },
    ...TPMT_SIGNATURE,
  },
  {
    name: 'TPMS_CONTEXT',
    bytes: hx('0000000000000005 80000001 40000001 | 0004 01020304'),
    expected: {
      sequence: 5n,
      savedHandle: 0x80000001,
      hierarchy: 0x40000001,
      contextBlob: hx('01020304'),
    },
    read: (r) => readContext(r, 'ctx'),
    write: (w, v: never) => writeContext(w, v),
    caps: [
      {
        bytes: hx(`0000000000000005 80000001 40000001 2001 ${z(8193)}`),
        field: 'ctx.contextBlob.buffer',
      },
    ],
  },
  {
    name: 'TPMS_AUTH_COMMAND (password session)',
    bytes: hx('40000009 | 0000 | 00 | 0003 707764 # password "pwd"'),
    expected: { sessionHandle: 0x40000009, nonce: hx(''), attributes: 0, hmac: hx('707764') },
    read: (r) => readAuthCommand(r, 'auth'),
    write: (w, v: never) => writeAuthCommand(w, v),
    caps: [{ bytes: hx(`03000000 0041 ${z(65)}`), field: 'auth.nonce.buffer' }],
  },
  {
    name: 'TPMS_AUTH_RESPONSE (policy session)',
    bytes: hx(`0010 ${'cc'.repeat(16)} | 01 | 0000`),
    expected: { nonce: hx('cc'.repeat(16)), attributes: 1, hmac: hx('') },
    read: (r) => readAuthResponse(r, 'auth'),
    write: (w, v: never) => writeAuthResponse(w, v),
  },
];

for (const fam of FAMILIES) {
  test(`${fam.name}: decodes the spec vector and encodes it back byte for byte`, () => {
    const r = new ByteReader(fam.bytes, { format: 'tpm2' });
    assert.deepEqual(fam.read(r), fam.expected);
    assert.equal(r.remaining, 0);
    const w = new ByteWriter();
    fam.write(w, fam.expected as never);
    assert.deepEqual(w.finish(), fam.bytes);
  });

  test(`${fam.name}: decodes at a non-zero start offset; errors carry absolute offsets`, () => {
    const prefixed = new Uint8Array(5 + fam.bytes.length);
    prefixed.set([0xee, 0xee, 0xee, 0xee, 0xee]);
    prefixed.set(fam.bytes, 5);
    const r = new ByteReader(prefixed, { format: 'tpm2', origin: 1000 });
    r.skip(5, 'prefix');
    assert.deepEqual(fam.read(r), fam.expected);
    const short = new ByteReader(prefixed.subarray(0, prefixed.length - 1), {
      format: 'tpm2',
      origin: 1000,
    });
    short.skip(5, 'prefix');
    assert.throws(
      () => fam.read(short),
      (e: unknown) =>
        e instanceof ParseError && e.offset >= 1005 && e.offset < 1005 + fam.bytes.length,
    );
  });

  test(`${fam.name}: every cut (down to one byte short) is ERR_TRUNCATED`, () => {
    for (let cut = 0; cut < fam.bytes.length; cut++) {
      const r = new ByteReader(fam.bytes.subarray(0, cut), { format: 'tpm2' });
      assert.throws(() => fam.read(r), { code: 'ERR_TRUNCATED' }, `cut at ${cut}`);
    }
  });

  if (fam.caps !== undefined) {
    test(`${fam.name}: size fields above the spec's caps are ERR_LENGTH_LIMIT before allocation`, () => {
      for (const c of fam.caps!) {
        assert.throws(() => fam.read(new ByteReader(c.bytes, { format: 'tpm2' })), {
          code: 'ERR_LENGTH_LIMIT',
          field: c.field,
        });
      }
    });
  }
}

test('TPMS_ATTEST: a magic other than TPM_GENERATED_VALUE is ERR_BAD_MAGIC at offset 0', () => {
  const b = hx('ff544348 8018');
  assert.throws(() => readAttest(new ByteReader(b, { format: 'tpm2' }), 'attest'), {
    code: 'ERR_BAD_MAGIC',
    offset: 0,
    field: 'attest.magic',
  });
});

test('TPMT_SIGNATURE / TPMT_HA / TPMT_PUBLIC: unknown algorithms are typed errors', () => {
  assert.throws(() => readSignature(new ByteReader(hx('0099 000b'), { format: 'tpm2' }), 'sig'), {
    code: 'ERR_UNKNOWN_ALGORITHM',
    field: 'sig.sigAlg',
  });
  assert.throws(
    () => readDigestValues(new ByteReader(hx('00000001 0099 00'), { format: 'tpm2' }), 'dv'),
    {
      code: 'ERR_UNKNOWN_ALGORITHM',
      offset: 4,
    },
  );
  assert.throws(() => readPublic(new ByteReader(hx('0008 000b'), { format: 'tpm2' }), 'pub'), {
    code: 'ERR_BAD_VALUE',
    field: 'pub.type',
  });
});

test('command/response header: round trip and every size/tag inconsistency is typed', () => {
  const ok = hx('8001 0000000a 00000000');
  const r = new ByteReader(ok, { format: 'tpm2' });
  assert.deepEqual(readHeader(r, 'h', 10), { tag: 0x8001, size: 10, code: 0 });
  const w = new ByteWriter();
  writeHeader(w, { tag: 0x8001, size: 10, code: 0 });
  assert.deepEqual(w.finish(), ok);
  const rd = (b: Uint8Array, len = b.length): unknown =>
    readHeader(new ByteReader(b, { format: 'tpm2' }), 'h', len);
  assert.throws(() => rd(hx('1234 0000000a 00000000')), {
    code: 'ERR_BAD_MAGIC',
    field: 'h.tag',
    offset: 0,
  });
  assert.throws(() => rd(hx('8001 0000000b 00000000')), {
    code: 'ERR_TRUNCATED',
    field: 'h.size',
    offset: 2,
  });
  assert.throws(() => rd(hx('8001 0000000a 00000000 00')), {
    code: 'ERR_TRAILING_BYTES',
    field: 'h.size',
  });
  assert.throws(() => rd(hx('8001 00000005 00000000'), 5), {
    code: 'ERR_BAD_VALUE',
    field: 'h.size',
  });
  assert.throws(() => rd(hx('8001 7fffffff 00000000')), {
    code: 'ERR_LENGTH_LIMIT',
    field: 'h.size',
  });
  assert.throws(() => rd(hx('8001 0000')), { code: 'ERR_TRUNCATED' });
});
