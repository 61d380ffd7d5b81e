// boot_aggregate recomputed from PCR values as the kernel does (PCR0-7; PCR8-9 too for non-SHA-1
// banks on kernels >= 5.8), against boot_aggregate values logged by real kernels. The PCR tables
// are transcribed from the shared PROVENANCE (the TCG logs themselves are GPL and not copied).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../src/bytes/hex.js';
import {
  computeBootAggregate,
  bootAggregateWithoutTpm,
} from '../../src/formats/ima/boot_aggregate.js';

const pcrs = (hex: readonly string[]): Map<number, Uint8Array> =>
  new Map(hex.map((h, i) => [i, fromHex(h)]));

// ima-evm-utils sample TCG log (ThinkPad), SHA-256 bank, PCR0-9.
const SAMPLE_SHA256 = [
  'bc23fb2a5554fa5b56de8d82c0c98229fd44ec4f13141c1c0a4603fc4e8bb465',
  'c9e651ab2ba5a79bf1355572213fbdb770ac415e19f902fedd4cdc8154417674',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '93dd723656367381cf5d8bb170ab388aa0d776b53fc6bb136fce24ba4d6f83fe',
  'f0be4c8fa67a47830b04af8e556b574b0e3159a19405ec3fee95ff8259ff6446',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '64b79a2a5a0c45df21d3f79ae2b91d65d8841582d91d55463193d4e396e288aa',
  '63cd2ac50444e1cdcf7ff80a5f5d73c14bb30b39c97d03d0e12828b5e255c7f3',
  'db2d674978354c669d08a1b7e60b39a6329ab90e219d3af65598e32eda873259',
];

// ima-evm-utils test TCG log (same machine, no GRUB events), SHA-256 bank, PCR0-7.
const TEST_SHA256 = [
  'bc23fb2a5554fa5b56de8d82c0c98229fd44ec4f13141c1c0a4603fc4e8bb465',
  'c9e651ab2ba5a79bf1355572213fbdb770ac415e19f902fedd4cdc8154417674',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '808ce71fc1fc087b088b8ff8b084fff3b15dd4c3253f0b12d9bfd8d293206bd9',
  'f0be4c8fa67a47830b04af8e556b574b0e3159a19405ec3fee95ff8259ff6446',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '64b79a2a5a0c45df21d3f79ae2b91d65d8841582d91d55463193d4e396e288aa',
];

// libcel's SHA-256-only TCG log (paired with its IMA list), PCR0-9.
const LIBCEL_SHA256 = [
  'ccff1b67c5b621a843e3d578ade3e69e9489e98e38ddc8af04712d93d591e8f4',
  '43ab486298d5d557212f00151cdb7c354af1163cffb1b2264a376002f2edf046',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  '9ad6fb5f2f715c2e3080b6c858e60a90b2c28ba8dab4f93f68bb4eafd1572c66',
  'a5ceb755d043f32431d63e39f5161464620a3437280494b5850dc1b47cc074e0',
  '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
  'b926225ac488e9c50ef2fa815aa7104b385a06907093bfb1dc62eeb7abecddf1',
  '1fb88a7e7585900aa3ac09bf95284734de4aae554250a01ea142af94afd8e387',
  'a1dcaa780dcf322c1d852186aa48514c63421525b0a41705ac379197d85a3bd1',
];

test('SHA-256 boot_aggregate covers PCR0-9 (kernel >= 5.8): ima-evm-utils sample', () => {
  assert.equal(
    toHex(computeBootAggregate('sha256', pcrs(SAMPLE_SHA256))),
    '83d19723ef3b3c05bb8ae70d86b3886c158f2408f1b71ed265886a7b79eb700e',
  );
});

test('SHA-256 boot_aggregate covers PCR0-9: libcel QEMU capture', () => {
  assert.equal(
    toHex(computeBootAggregate('sha256', pcrs(LIBCEL_SHA256))),
    'd652c4ddef457ea0b812edc8493f705ccef527356b8dc0e29e162849862f0936',
  );
});

test('older kernels hashed PCR0-7 only: ima-evm-utils test capture', () => {
  assert.equal(
    toHex(computeBootAggregate('sha256', pcrs(TEST_SHA256), { includePcr8And9: false })),
    'f1b4c7c9b27e94569f4c2b64051c452bc609c3cb891dd7fae06b758f8bc83d14',
  );
  // With PCR8/9 absent (zero) the new rule gives a different value: the rules are distinct.
  assert.notEqual(
    toHex(computeBootAggregate('sha256', pcrs(TEST_SHA256))),
    'f1b4c7c9b27e94569f4c2b64051c452bc609c3cb891dd7fae06b758f8bc83d14',
  );
});

test('SHA-1 bank never includes PCR8-9; no TPM means zeros', () => {
  const withExtra = pcrs([...SAMPLE_SHA256.map((h) => h.slice(0, 40))]);
  const only8 = new Map([...withExtra].filter(([i]) => i < 8));
  assert.deepEqual(computeBootAggregate('sha1', withExtra), computeBootAggregate('sha1', only8));
  assert.equal(toHex(bootAggregateWithoutTpm('sha1')), '00'.repeat(20));
});
