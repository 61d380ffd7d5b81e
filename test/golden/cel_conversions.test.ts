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
import { bytesInput } from '../../src/eventlog/framing.js';
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

test('TCG and CCEL logs -> CEL (pcclient_std): same replay, or refused when CEL cannot say it', async () => {
  let converted = 0;
  let refused = 0;
  for (const dir of ['tcg', 'ccel']) {
    let names: string[];
    try {
      names = readdirSync(fixture('eventlogs', dir));
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.(bin|binary_bios_measurements)$/.test(n))) {
      if (name.startsWith('malformed') || name.includes('acpi')) continue;
      const buf = file(dir, name);
      let fmt: LogFormat;
      let orig: LogEvent[];
      try {
        fmt = detectLogFormat(buf);
        orig = await events(fmt, buf);
      } catch {
        continue; // not a log the core reads as a whole (its own tests cover it)
      }
      if (fmt.id !== 'tcg2' && fmt.id !== 'ccel') continue;
      try {
        const tlv = await encode(getLogFormat('cel-tlv'), orig);
        const back = await events(getLogFormat('cel-tlv'), tlv);
        assert.deepEqual(neutral(back), neutral(orig), name);
        assert.deepEqual(replayOf(back), replayOf(orig), name);
        converted++;
      } catch (e) {
        assert.ok(
          e instanceof ParseError && e.code === 'ERR_LOSSY_CONVERSION',
          `${name}: ${String(e)}`,
        );
        refused++;
      }
    }
  }
  assert.ok(converted > 0, 'some TCG logs convert');
  assert.ok(converted + refused > 0);
});

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
