// Helpers for the agent tests: an emulated TDX, an independent replay of the agent's logs
// (node:crypto directly, not mrstack's hash code), and a provider wrapper that fails extends.
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { ProviderError } from '../../../src/errors.js';
import type {
  ExtendInput,
  ExtendResult,
  MrSelector,
  Provider,
} from '../../../src/providers/provider.js';

export { emulatedTdx } from '../../_support/agent_harness.js';
export { tempDir } from '../../_support/tmp.js';

const sha384 = (b: Uint8Array): Buffer => createHash('sha384').update(b).digest();

/** MR ← SHA-384(MR ‖ SHA-384(line)) over lines, skipping `#` lines; independent of mrstack. */
export function replayLines(start: Buffer, lines: readonly string[]): Buffer {
  let v = start;
  for (const l of lines) {
    if (l.startsWith('#')) continue;
    v = sha384(Buffer.concat([v, sha384(Buffer.from(l, 'utf8'))]));
  }
  return v;
}

/** Every line of the physical log chain (segments in order). */
export function physicalLines(logDir: string, register = 'rtmr3'): string[] {
  const dir = join(logDir, 'physical');
  const files = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(`${register}.`) && n.endsWith('.mrlog'))
    .sort();
  return files.flatMap((f) => {
    const t = fs.readFileSync(join(dir, f), 'utf8');
    const parts = t.split('\n');
    assert0(parts.pop() === '', `${f} does not end with LF`);
    return parts;
  });
}

/** A tenant log's lines. */
export function tenantLines(logDir: string, vmr: string): string[] {
  const t = fs.readFileSync(join(logDir, 'tenants', `${vmr}.mrlog`), 'utf8');
  const parts = t.split('\n');
  parts.pop();
  return parts;
}

function assert0(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg);
}

/** Reads rtmr3 of an emulated TVM through a fresh provider (the trace is the truth). */
export async function readRtmr3(stateDir: string): Promise<Buffer> {
  const p = await openEmulatedProvider({ stateDir });
  const [v] = await p.read({ name: 'rtmr3' });
  await p.close();
  return Buffer.from(v!.value);
}

/** How an extend should fail: before touching the register, or after it was extended. */
export interface Fault {
  code: 'EBUSY' | 'EIO' | 'EINTR' | 'ENXIO';
  after: boolean;
}

/** Wraps a provider: extends consume `faults` in order (undefined entries succeed). */
export function faultyProvider(
  inner: Provider,
  faults: (Fault | undefined)[],
): Provider & { extends: number } {
  const w = {
    kind: inner.kind,
    profile: inner.profile,
    extends: 0,
    describe: (o?: object) => inner.describe(o),
    read: (s: MrSelector, o?: object) => inner.read(s, o),
    report: (r: Parameters<Provider['report']>[0], o?: object) => inner.report(r, o),
    close: () => inner.close(),
    async extend(
      sel: MrSelector,
      input: ExtendInput,
      o?: object,
    ): Promise<readonly ExtendResult[]> {
      const f = faults.shift();
      const code =
        f?.code === 'EBUSY'
          ? 'ERR_DEVICE_BUSY'
          : f?.code === 'EIO'
            ? 'ERR_DEVICE_IO'
            : f?.code === 'EINTR'
              ? 'ERR_DEVICE_INTERRUPTED'
              : 'ERR_DEVICE_INVALID';
      if (f !== undefined && !f.after) throw new ProviderError(code, `injected ${f.code}`);
      const r = await inner.extend(sel, input, o);
      w.extends++;
      if (f !== undefined) throw new ProviderError(code, `injected ${f.code} after the extend`);
      return r;
    },
  };
  return w;
}

const Z = Buffer.alloc(48);

/** The invariant: the physical log replays from reset to the live register; VMR values are tenant running values. */
export async function checkInvariant(tvm: string, logDir: string): Promise<void> {
  const lines = physicalLines(logDir);
  assert.equal(
    replayLines(Z, lines).toString('hex'),
    (await readRtmr3(tvm)).toString('hex'),
    'physical log replays to rtmr3',
  );
  for (const vmr of fs.readdirSync(join(logDir, 'tenants')).map((f) => f.replace(/\.mrlog$/, ''))) {
    // mr_ima's log is the kernel's IMA list (its tokens are checked by the IMA bridge tests)
    if (vmr === 'mr_ima') continue;
    const tl = tenantLines(logDir, vmr).filter((l) => !l.startsWith('#'));
    const running = new Set<string>();
    let v: Buffer = Z;
    for (const l of tl) {
      v = replayLines(v, [l]);
      running.add(v.toString('hex'));
    }
    const stated = lines.flatMap((l) =>
      [...l.matchAll(new RegExp(`(?:^VMR | )${vmr}=sha384/([0-9a-f]{96})`, 'g'))].map((m) => m[1]!),
    );
    for (const v of stated) assert.ok(running.has(v), `VMR value of ${vmr} is a running value`);
    // the last stated value is the tenant's current value (nothing left uncovered)
    assert.equal(
      stated[stated.length - 1],
      replayLines(Z, tl).toString('hex'),
      `${vmr} fully covered`,
    );
  }
}
