// Device paths written node by node (UEFI 2.10 §10.3) and their text forms (§10.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../../../src/bytes/writer.js';
import { devicePathToText } from '../../../../src/formats/tcg2/device_path.js';
import { formatGuid } from '../../../../src/formats/tcg2/guid.js';

function node(w: ByteWriter, type: number, sub: number, body: (b: ByteWriter) => void): void {
  const b = new ByteWriter();
  body(b);
  const bytes = b.finish();
  w.u8(type)
    .u8(sub)
    .u16le(4 + bytes.length)
    .bytes(bytes);
}

const guidBytes = (g: string): Uint8Array => {
  const h = g.replace(/-/g, '');
  const le = (s: string): string => s.match(/../g)!.reverse().join('');
  return new Uint8Array(
    Buffer.from(le(h.slice(0, 8)) + le(h.slice(8, 12)) + le(h.slice(12, 16)) + h.slice(16), 'hex'),
  );
};

test('GUIDs print with the first three fields little-endian', () => {
  const g = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
  assert.equal(formatGuid(guidBytes(g)), g);
});

test('PciRoot/Pci/Scsi/HD/File path, then End', () => {
  const w = new ByteWriter();
  node(w, 2, 1, (b) => b.u32le(0x0a0341d0).u32le(0));
  node(w, 1, 1, (b) => b.u8(0).u8(3)); // function 0, device 3
  node(w, 3, 2, (b) => b.u16le(0).u16le(1));
  node(w, 4, 1, (b) =>
    b
      .u32le(1)
      .u64le(0x800n)
      .u64le(0x32000n)
      .bytes(guidBytes('c4c71c4a-0afa-4ab7-a8b2-a0b3c8f1d2e1'))
      .u8(2)
      .u8(2),
  );
  node(w, 4, 4, (b) => {
    for (const c of '\\EFI\\BOOT\\BOOTX64.EFI') b.u16le(c.charCodeAt(0));
    b.u16le(0);
  });
  node(w, 0x7f, 0xff, () => undefined);
  assert.equal(
    devicePathToText(w.finish()),
    'PciRoot(0x0)/Pci(0x3,0x0)/Scsi(0x0,0x1)/HD(1,GPT,c4c71c4a-0afa-4ab7-a8b2-a0b3c8f1d2e1,0x800,0x32000)/\\EFI\\BOOT\\BOOTX64.EFI',
  );
});

test('firmware volume files and unknown nodes; a bad node length stops with a marker', () => {
  const w = new ByteWriter();
  node(w, 4, 7, (b) => b.bytes(guidBytes('7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1')));
  node(w, 4, 6, (b) => b.bytes(guidBytes('462caa21-7614-4503-836e-8ab6f4662331')));
  node(w, 9, 9, (b) => b.u8(0xab));
  assert.equal(
    devicePathToText(w.finish()),
    'Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)/Path(9,9,ab)',
  );
  const bad = new Uint8Array([4, 4, 0xff, 0x00, 0x41]);
  assert.equal(devicePathToText(bad), '<malformed at 0>');
});
