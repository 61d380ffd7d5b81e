// imaFileFields / imaViewFileFields: the path, digest algorithm, digest, signature and buffer of
// entries built here from known values (the expected fields are those values), in both byte
// orders, for each d-ng prefix form the kernel writes (`<alg>:`, none for SHA-1/MD5) and one it
// may (`<type>:<alg>:`), through the fast reader and, for a record in place, the view reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeImaBinary, ImaBinaryScanner } from '../../../../src/formats/ima/ima_binary.js';
import {
  imaFileFields,
  imaViewFileFields,
  type ImaFileFields,
} from '../../../../src/formats/ima/ima_file_fields.js';
import { encodeImaTemplateData, type ImaEntry } from '../../../../src/formats/ima/ima_template.js';

const enc = new TextEncoder();

function entry(
  name: string,
  prefix: string | undefined,
  digest: Uint8Array,
  path: string,
  third: Uint8Array | undefined,
  littleEndian: boolean,
): ImaEntry {
  const dng = prefix === undefined ? digest : new Uint8Array([...enc.encode(prefix), 0, ...digest]);
  const fields = [
    { id: 'd-ng', data: dng },
    { id: 'n-ng', data: new Uint8Array([...enc.encode(path), 0]) },
    ...(third === undefined ? [] : [{ id: name === 'ima-buf' ? 'buf' : 'sig', data: third }]),
  ];
  return {
    index: 0,
    offset: 0,
    pcr: 10,
    templateHash: new Uint8Array(20).fill(1),
    templateName: name,
    templateData: encodeImaTemplateData(name, fields, littleEndian),
    littleEndian,
  };
}

const D32 = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const D20 = Uint8Array.from({ length: 20 }, (_, i) => 255 - i);
const D48 = Uint8Array.from({ length: 48 }, (_, i) => i);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('fields of ima-ng, ima-sig and ima-buf entries, every prefix form, both byte orders', () => {
  const cases: [ImaEntry, ImaFileFields][] = [];
  for (const le of [true, false]) {
    const add = (e: ImaEntry, f: ImaFileFields): void => void cases.push([e, f]);
    add(entry('ima-ng', 'sha256:', D32, '/usr/bin/ls', undefined, le), {
      path: '/usr/bin/ls',
      digestAlg: 'sha256',
      digest: hex(D32),
    });
    add(entry('ima-ng', 'sha384:', D48, '/päth/ünï', undefined, le), {
      path: '/päth/ünï',
      digestAlg: 'sha384',
      digest: hex(D48),
    });
    add(entry('ima-ng', 'ima:sha256:', D32, '/x', undefined, le), {
      path: '/x',
      digestAlg: 'sha256',
      digest: hex(D32),
    });
    add(entry('ima-ng', undefined, D20, '/old', undefined, le), {
      path: '/old',
      digestAlg: 'sha1',
      digest: hex(D20),
    });
    add(entry('ima-ng', 'sha1:', D20, '', undefined, le), {
      path: '',
      digestAlg: 'sha1',
      digest: hex(D20),
    });
    const sig = Uint8Array.from([3, 2, 4, 9, 9]);
    add(entry('ima-sig', 'sha256:', D32, '/signed', sig, le), {
      path: '/signed',
      digestAlg: 'sha256',
      digest: hex(D32),
      signature: sig,
    });
    add(entry('ima-sig', 'sha256:', D32, '/unsigned', new Uint8Array(0), le), {
      path: '/unsigned',
      digestAlg: 'sha256',
      digest: hex(D32),
    });
    const buf = enc.encode('key material');
    add(entry('ima-buf', 'sha256:', D32, '.ima', buf, le), {
      path: '.ima',
      digestAlg: 'sha256',
      digest: hex(D32),
      buf,
    });
  }
  for (const [e, want] of cases) {
    const norm = (f: ImaFileFields): unknown => ({
      ...f,
      ...(f.signature === undefined ? {} : { signature: hex(f.signature) }),
      ...(f.buf === undefined ? {} : { buf: hex(f.buf) }),
    });
    assert.deepEqual(norm(imaFileFields(e)), norm(want), `${e.templateName} ${want.path}`);
    const sc = new ImaBinaryScanner();
    let seen = 0;
    sc.pushEach(encodeImaBinary([e]), (v) => {
      seen++;
      assert.deepEqual(norm(imaViewFileFields(v)), norm(want), `view ${want.path}`);
    });
    assert.equal(seen, 1);
  }
});
