// Round trips through the registered formats: IMA binary <-> IMA ascii <-> CEL-TLV <-> CEL-JSON,
// and TCG/CCEL -> CEL. Converting then parsing again must give the same events (compared in a
// format-neutral form) and the same replay; lossy conversions are refused with a typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fixture } from '../_support/paths.js';
import { toHex } from '../../src/bytes/hex.js';
import { ParseError } from '../../src/errors.js';
import type { LogEvent } from '../../src/eventlog/event.js';
import type { LogFormat } from '../../src/eventlog/log_format.js';
import { bytesInput } from '../../src/formats/stream/framer.js';
import { Replay } from '../../src/eventlog/replay.js';
import { detectLogFormat, getLogFormat } from '../../src/eventlog/registry.js';

const file = (...p: string[]): Uint8Array =>
  new Uint8Array(readFileSync(fixture('eventlogs', ...p)));

async function events(fmt: LogFormat, buf: Uint8Array): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  for await (const e of fmt.parse(bytesInput(buf))) out.push(e);
  return out;
}

async function encode(fmt: LogFormat, evs: readonly LogEvent[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of fmt.encode!(evs)) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/** What must survive a conversion: register, per-bank digests, whether it is extended. */
function neutral(evs: readonly LogEvent[]): unknown[] {
  return evs.map((e) => ({
    register: e.register,
    extend: e.extend,
    digests: [...e.digests].map(([a, d]) => `${a}:${toHex(d)}`).sort(),
  }));
}

function replayOf(evs: readonly LogEvent[]): Record<string, Record<string, string>> {
  const r = new Replay();
  for (const e of evs) r.add(e);
  const out: Record<string, Record<string, string>> = {};
  for (const [reg, banks] of r.result().registers) {
    out[reg] = Object.fromEntries([...banks].map(([a, v]) => [a, toHex(v)]));
  }
  return out;
}

async function roundTrip(from: LogFormat, buf: Uint8Array, path: readonly string[]): Promise<void> {
  const orig = await events(from, buf);
  let evs = orig;
  let bytes = buf;
  for (const id of path) {
    const to = getLogFormat(id);
    bytes = await encode(to, evs);
    assert.equal(detectLogFormat(bytes).id, id, `${from.id} -> ${id} detected`);
    evs = await events(to, bytes);
    assert.deepEqual(neutral(evs), neutral(orig), `${from.id} -> ${id}: same events`);
    assert.deepEqual(replayOf(evs), replayOf(orig), `${from.id} -> ${id}: same replay`);
  }
  // Back where we started: byte-exact for the binary formats and ascii lists.
  if (path[path.length - 1] === from.id) assert.equal(toHex(bytes), toHex(buf));
}

test('IMA binary -> CEL-TLV -> CEL-JSON -> IMA ascii -> IMA binary, byte-exact at the end', async () => {
  for (const name of [
    'ima-sig-sha256-invalidated.binary_runtime_measurements',
    'ima-legacy-template-invalidated.binary_runtime_measurements',
  ]) {
    await roundTrip(getLogFormat('ima-binary'), file('ima', name), [
      'cel-tlv',
      'cel-json',
      'ima-ascii',
      'ima-binary',
    ]);
  }
  // The tpm2-tss lists end with a stray byte: convert their complete records.
  const ng = file('ima', 'debian-ima-ng-sha1.binary_runtime_measurements').subarray(0, 558);
  await roundTrip(getLogFormat('ima-binary'), ng, ['cel-json', 'ima-binary']);
  const legacy = file('ima', 'debian-ima-legacy-template-sha1.binary_runtime_measurements');
  await roundTrip(getLogFormat('ima-binary'), legacy.subarray(0, legacy.length - 1), [
    'ima-ascii',
    'cel-tlv',
    'ima-binary',
  ]);
});

test('IMA ascii lists -> binary -> ascii give the same text', async () => {
  for (const name of readdirSync(fixture('eventlogs', 'ima'))) {
    if (!name.endsWith('ascii_runtime_measurements') || name.startsWith('malformed')) continue;
    await roundTrip(getLogFormat('ima-ascii'), file('ima', name), ['ima-binary', 'ima-ascii']);
  }
});

test('CEL-TLV capture -> CEL-JSON -> CEL-TLV is byte-exact', async () => {
  const buf = file('cel', 'gce-confidential-space-tdx-rtmr3.cel-tlv.bin');
  await roundTrip(getLogFormat('cel-tlv'), buf, ['cel-json', 'cel-tlv']);
});

/** What converting a TCG or CCEL capture to CEL-TLV must do. */
type CelOutcome =
  | { readonly outcome: 'converted' }
  | { readonly outcome: 'refused' }
  | { readonly outcome: 'unreadable'; readonly code: string };

// Every .bin / binary_bios_measurements file of test/fixtures/eventlogs/{tcg,ccel}, with its
// outcome: converted (same events and replay after the round trip), refused with
// ERR_LOSSY_CONVERSION (CEL cannot say it), or not a log at all (the parse error expected).
const TO_CEL: Record<string, CelOutcome> = {
  'tcg/bootorder.binary_bios_measurements': { outcome: 'converted' },
  'tcg/crypto-agile-sha256-only.binary_bios_measurements': { outcome: 'converted' },
  'tcg/fedora37-systemd-boot.binary_bios_measurements': { outcome: 'converted' },
  'tcg/fragment-event.bin': { outcome: 'converted' },
  'tcg/fragment-uefiaction.bin': { outcome: 'converted' },
  'tcg/fragment-uefiservices.bin': { outcome: 'converted' },
  'tcg/fragment-uefivar.bin': { outcome: 'converted' },
  'tcg/gce-confidential-gke-251000.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-coreos36-no-secureboot.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-cos85-amd-sev.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-cos93-amd-sev.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-rhel8-secureboot.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-ubuntu1804-amd-sev.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-ubuntu2104-no-dbx.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-ubuntu2104-no-secureboot.binary_bios_measurements': { outcome: 'converted' },
  'tcg/gce-windows-shielded-vm.wbcl.bin': { outcome: 'converted' },
  'tcg/hw-option-rom-sha1-legacy-format.binary_bios_measurements': { outcome: 'converted' },
  'tcg/intel-nuc-sha1-legacy-format.binary_bios_measurements': { outcome: 'converted' },
  'tcg/keylime-issue1153-sha256.binary_bios_measurements': { outcome: 'converted' },
  'tcg/keylime-secureboot-enabled-sha256.binary_bios_measurements': { outcome: 'converted' },
  'tcg/lenovo-thinkpad-sha256.binary_bios_measurements': { outcome: 'converted' },
  'tcg/linux-tpm12.binary_bios_measurements': { outcome: 'converted' },
  'tcg/malformed-exit-boot-services-events-missing.binary_bios_measurements': {
    outcome: 'converted',
  },
  'tcg/moklisttrusted.binary_bios_measurements': { outcome: 'converted' },
  'tcg/pc-client-sha1-sha256.binary_bios_measurements': { outcome: 'converted' },
  'tcg/specid-vendordata.tpm2-tss.bin': { outcome: 'converted' },
  'tcg/workstation-arch-systemd-boot-a.binary_bios_measurements': { outcome: 'converted' },
  'tcg/workstation-arch-systemd-boot-b.binary_bios_measurements': { outcome: 'converted' },
  // A StartupLocality 3 or H-CRTM record sets PCR0's starting value: a CEL pcclient_std record
  // keeps it, and CEL replay applies the same PC Client rule (same replay after the round trip).
  'tcg/gdc-host-sha256-only-locality3.binary_bios_measurements': { outcome: 'converted' },
  'tcg/hygon-dhyana-hcrtm-sm3.binary_bios_measurements': { outcome: 'converted' },
  'tcg/keylime-secureboot-disabled-locality3.binary_bios_measurements': { outcome: 'converted' },
  'tcg/malformed-short-startup-locality-only.binary_bios_measurements': { outcome: 'converted' },
  // tpm2-tools' copy of the vendor-data Spec ID event is read with a size quirk CEL cannot keep.
  'tcg/specid-vendordata.tpm2-tools.bin': { outcome: 'refused' },
  // Not event logs at all.
  'tcg/malformed-bogus-text.binary_bios_measurements': {
    outcome: 'unreadable',
    code: 'ERR_UNKNOWN_FORMAT',
  },
  'tcg/malformed-empty.binary_bios_measurements': {
    outcome: 'unreadable',
    code: 'ERR_UNKNOWN_FORMAT',
  },
  'ccel/gcp-cos113-tdx.acpi-ccel-table.bin': { outcome: 'unreadable', code: 'ERR_UNKNOWN_FORMAT' },
  'ccel/intel-tdx.acpi-ccel-table.bin': { outcome: 'unreadable', code: 'ERR_UNKNOWN_FORMAT' },
  'ccel/gcp-cos113-tdx-dupe-separator-unpadded.ccel.bin': { outcome: 'converted' },
  'ccel/gcp-cos113-tdx-dupe-separator.ccel.bin': { outcome: 'converted' },
  'ccel/gcp-cos113-tdx.ccel.bin': { outcome: 'converted' },
  'ccel/gke-tdx-grub-sp800-155.ccel.bin': { outcome: 'converted' },
  'ccel/hygon-csv-sm3.ccel.bin': { outcome: 'converted' },
  'ccel/intel-tdx-64k.ccel.bin': { outcome: 'converted' },
  'ccel/intel-tdx-unpadded.ccel.bin': { outcome: 'converted' },
  'ccel/tdx-evidence-api.ccel.bin': { outcome: 'converted' },
  'ccel/tdx-old-tdvf-1mib-zero-padded.ccel.bin': { outcome: 'converted' },
  'ccel/tdx-ovmf.ccel.bin': { outcome: 'converted' },
};

test('the TCG/CCEL -> CEL table names every capture', () => {
  const names = ['tcg', 'ccel'].flatMap((dir) =>
    readdirSync(fixture('eventlogs', dir))
      .filter((n) => /\.(bin|binary_bios_measurements)$/.test(n))
      .map((n) => `${dir}/${n}`),
  );
  assert.deepEqual(names.sort(), Object.keys(TO_CEL).sort());
});

for (const [rel, want] of Object.entries(TO_CEL)) {
  test(`${rel} -> CEL-TLV: ${want.outcome}`, async () => {
    const buf = file(...rel.split('/'));
    if (want.outcome === 'unreadable') {
      assert.throws(() => detectLogFormat(buf), { code: want.code });
      return;
    }
    const fmt = detectLogFormat(buf);
    assert.ok(fmt.id === 'tcg2' || fmt.id === 'ccel', fmt.id);
    const orig = await events(fmt, buf);
    if (want.outcome === 'refused') {
      await assert.rejects(encode(getLogFormat('cel-tlv'), orig), (e: unknown) => {
        assert.ok(e instanceof ParseError, String(e));
        assert.equal(e.code, 'ERR_LOSSY_CONVERSION');
        return true;
      });
      return;
    }
    const back = await events(getLogFormat('cel-tlv'), await encode(getLogFormat('cel-tlv'), orig));
    assert.deepEqual(neutral(back), neutral(orig));
    assert.deepEqual(replayOf(back), replayOf(orig));
  });
}

test('conversions that would lose information are refused', async () => {
  // CEL pcclient_std and COS records cannot become IMA entries.
  const cel = await events(
    getLogFormat('cel-tlv'),
    file('cel', 'gce-confidential-space-tdx-rtmr3.cel-tlv.bin'),
  );
  await assert.rejects(encode(getLogFormat('ima-binary'), cel), { code: 'ERR_LOSSY_CONVERSION' });
  await assert.rejects(encode(getLogFormat('ima-ascii'), cel), { code: 'ERR_LOSSY_CONVERSION' });
  // systemd records have no TLV form.
  const seq = new TextEncoder().encode(
    `\x1e${JSON.stringify({ pcr: 11, digests: [], content_type: 'systemd', content: { string: 'x' } })}\n`,
  );
  const sd = await events(getLogFormat('cel-json'), seq);
  await assert.rejects(encode(getLogFormat('cel-tlv'), sd), { code: 'ERR_LOSSY_CONVERSION' });
});
