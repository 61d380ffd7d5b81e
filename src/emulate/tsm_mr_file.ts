/**
 * A tsm-mr register file served from a provider, with sysfs binary-attribute semantics
 * (FIELD §A.2, DESIGN §2): reads return the live value (the mount uses direct I/O); a write at
 * offset 0 of at least the register size extends with the first `size` bytes and returns
 * `size`; a shorter write, or one at offsets 1..size-1, is EINVAL; at offset ≥ size, EFBIG.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import type { Provider } from '../providers/provider.js';
import { FsErrno, toFsErrno } from './fs_errno.js';
import type { OpenAccess, VFile, VHandle } from './vfs.js';

/** What a served register is. */
export interface TsmMrFileSpec {
  readonly name: string;
  readonly alg: HashAlg | undefined;
  readonly size: number;
  /** Writable (mode 0644, writes extend) or read-only (0444). */
  readonly writable: boolean;
}

/** The file of one register. */
export function tsmMrFile(provider: Provider, spec: TsmMrFileSpec): VFile {
  const sel = spec.alg === undefined ? { name: spec.name } : { name: spec.name, alg: spec.alg };
  const readValue = async (): Promise<Uint8Array> => {
    const vals = await provider.read(sel);
    const v = vals[0];
    if (v?.value.length !== spec.size) throw new FsErrno('EIO');
    return v.value;
  };
  return {
    type: 'file',
    mode: spec.writable ? 0o644 : 0o444,
    size: spec.size,
    open(access: OpenAccess): VHandle {
      const handle: VHandle = {
        async read(pos, len) {
          // Live on every read (LIVE registers refresh; static ones simply do not change).
          let v: Uint8Array;
          try {
            v = await readValue();
          } catch (e) {
            throw toFsErrno(e);
          }
          return pos >= v.length ? new Uint8Array(0) : v.slice(pos, Math.min(v.length, pos + len));
        },
      };
      if (access.write) {
        handle.write = async (pos, data) => {
          if (pos >= spec.size) throw new FsErrno('EFBIG');
          // sysfs clamps the count to the bytes left; tsm-mr then wants all of them at offset 0.
          const count = Math.min(data.length, spec.size - pos);
          if (pos !== 0 || count !== spec.size) throw new FsErrno('EINVAL');
          try {
            await provider.extend(sel, { kind: 'digest', digest: data.slice(0, spec.size) });
          } catch (e) {
            throw toFsErrno(e);
          }
          return spec.size;
        };
      }
      return handle;
    },
  };
}
