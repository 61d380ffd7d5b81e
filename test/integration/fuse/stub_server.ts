/**
 * A mount server for tests whose reports are a known function of the request, so the report
 * plumbing (inblob in, outblob/auxblob out, sizes beyond any page or chunk) can be checked
 * independently of any quote format: outblob = SHA-512(inblob ‖ u32be(i)) for i = 0.. up to
 * {@link STUB_OUTBLOB_SIZE} bytes; auxblob = "aux:" ‖ inblob. Registers are the emulated TVM's.
 *
 * Usage: node stub_server.js MOUNTPOINT PROFILE STATE_DIR
 */
import { createHash } from 'node:crypto';
import { mountEmulatedTvm } from '../../../src/emulate/fuse_mount.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import type {
  Profile,
  Provider,
  RawReport,
  ReportRequest,
} from '../../../src/providers/provider.js';

/** Bigger than a page, a 64 KiB read chunk and the 32 KiB configfs outblob cap of old kernels. */
export const STUB_OUTBLOB_SIZE = 100_000;

/** The stub's outblob for an inblob. */
export function stubOutblob(inblob: Uint8Array): Uint8Array {
  const out = new Uint8Array(STUB_OUTBLOB_SIZE);
  for (let i = 0, off = 0; off < out.length; i++, off += 64) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(i);
    const d = createHash('sha512').update(inblob).update(ctr).digest();
    out.set(d.subarray(0, Math.min(64, out.length - off)), off);
  }
  return out;
}

async function main(): Promise<void> {
  const [mountpoint, profile, stateDir] = process.argv.slice(2) as [string, Profile, string];
  const inner = await openEmulatedProvider({ stateDir });
  const provider: Provider = {
    kind: inner.kind,
    profile: inner.profile,
    describe: (o) => inner.describe(o),
    read: (s, o) => inner.read(s, o),
    extend: (s, i, o) => inner.extend(s, i, o),
    close: () => inner.close(),
    report(req: ReportRequest): Promise<RawReport> {
      return Promise.resolve({
        provider: 'stub',
        format: 'tdx-quote',
        outblob: stubOutblob(req.reportData),
        auxblob: new Uint8Array(Buffer.concat([Buffer.from('aux:'), req.reportData])),
        emulated: true,
      });
    },
  };
  const state = { signalled: false, wake: (): void => undefined };
  process.once('SIGTERM', () => {
    state.signalled = true;
    state.wake();
  });
  const mount = await mountEmulatedTvm(mountpoint, { provider, profile });
  process.stdout.write(
    `${JSON.stringify({ mountpoint: mount.mountpoint, pid: process.pid }, null, 2)}\n`,
  );
  if (!state.signalled) {
    await new Promise<void>((done) => {
      state.wake = done;
      void mount.gone.then(done);
    });
  }
  if (state.signalled) await mount.unmount();
  process.exit(0);
}

if (process.argv[1]?.endsWith('stub_server.js') === true) void main();
