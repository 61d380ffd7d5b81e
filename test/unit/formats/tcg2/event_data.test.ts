// Display decoding checked against what the captures' provenance states about them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTcgEventData } from '../../../../src/formats/tcg2/event_data.js';
import { EventType } from '../../../../src/formats/tcg2/event_types.js';
import type { Tcg2Event } from '../../../../src/eventlog/event.js';
import { logFixture, parseAll } from '../../eventlog/support.js';

async function tcg(name: string): Promise<Tcg2Event[]> {
  const { events } = await parseAll(logFixture(`tcg/${name}`));
  return events.filter((e): e is Tcg2Event => e.kind === 'tcg2');
}

test('S-CRTM version and the SecureBoot variable (GCE RHEL 8: Secure Boot on; Ubuntu 21.04: off)', async () => {
  for (const [name, on] of [
    ['gce-rhel8-secureboot.binary_bios_measurements', true],
    ['gce-ubuntu2104-no-secureboot.binary_bios_measurements', false],
  ] as const) {
    const evs = await tcg(name);
    const v = evs.find((e) => e.untrustedType === EventType.EV_S_CRTM_VERSION)!;
    assert.equal(
      describeTcgEventData(v.untrustedType, v.data)['version'],
      'GCE Virtual Firmware v1',
    );
    const sb = evs
      .map((e) => describeTcgEventData(e.untrustedType, e.data))
      .find((d) => d['unicode_name'] === 'SecureBoot')!;
    assert.equal(sb['variable_name'], '8be4df61-93ca-11d2-aa0d-00e098032b8c');
    assert.equal(sb['enabled'], on, name);
  }
});

test('GRUB command strings (COS 85: the kernel command line go-tpm-tools asserts)', async () => {
  const evs = await tcg('gce-cos85-amd-sev.binary_bios_measurements');
  const strings = evs
    .filter((e) => e.untrustedType === EventType.EV_IPL)
    .map((e) => describeTcgEventData(e.untrustedType, e.data)['string'])
    .filter((s): s is string => typeof s === 'string');
  assert.ok(
    strings.some((s) =>
      s.includes(
        '/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd boot=local rootwait ro noresume noswap',
      ),
    ),
  );
});

test('separators, the Spec ID header and StartupLocality decode; malformed data never throws', async () => {
  const evs = await tcg('gdc-host-sha256-only-locality3.binary_bios_measurements');
  const h = describeTcgEventData(evs[0]!.untrustedType, evs[0]!.data, true);
  assert.equal(h['signature'], 'Spec ID Event03');
  assert.equal(h['platform_class'], 1);
  const sl = describeTcgEventData(evs[1]!.untrustedType, evs[1]!.data);
  assert.deepEqual(sl, { signature: 'StartupLocality', startup_locality: 3 });
  const sep = evs.find((e) => e.untrustedType === EventType.EV_SEPARATOR)!;
  assert.equal(describeTcgEventData(sep.untrustedType, sep.data)['value'], 0);
  const broken = describeTcgEventData(EventType.EV_EFI_VARIABLE_BOOT, new Uint8Array([1, 2, 3]));
  assert.equal(typeof broken['decode_error'], 'string');
});

test('image loads carry their device path as text', async () => {
  const evs = await tcg('gce-rhel8-secureboot.binary_bios_measurements');
  const app = evs.find((e) => e.untrustedType === EventType.EV_EFI_BOOT_SERVICES_APPLICATION)!;
  const d = describeTcgEventData(app.untrustedType, app.data);
  assert.equal(typeof d['device_path'], 'string');
  assert.match(d['device_path'] as string, /^PciRoot\(0x0\)\/Pci\(/);
});
