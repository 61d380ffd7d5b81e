/**
 * The TPM character device (`/dev/tpmrm0`, the kernel's resource manager, by default): write one
 * command, read one response.
 *
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fromErrno } from '../../errors.js';
import type { IoOptions } from '../provider.js';
import { MAX_RESPONSE, SerialQueue, transportError, type TpmTransport } from './transport.js';

/** The default device: the in-kernel resource manager. */
export const DEFAULT_TPM_DEVICE = '/dev/tpmrm0';

/** A TPM reached through a character device. */
export class DeviceTransport implements TpmTransport {
  readonly description: string;
  readonly #path: string;
  readonly #queue = new SerialQueue();
  #fh: FileHandle | undefined;

  constructor(path: string = DEFAULT_TPM_DEVICE) {
    this.#path = path;
    this.description = path;
  }

  transmit(command: Uint8Array, opts: IoOptions = {}): Promise<Uint8Array> {
    return this.#queue.run(async () => {
      opts.signal?.throwIfAborted();
      try {
        this.#fh ??= await open(this.#path, 'r+');
        const w = await this.#fh.write(command, 0, command.length, null);
        if (w.bytesWritten !== command.length) {
          throw transportError(this.#path, `short write (${w.bytesWritten} of ${command.length})`);
        }
        const buf = new Uint8Array(MAX_RESPONSE);
        const r = await this.#fh.read(buf, 0, buf.length, null);
        if (r.bytesRead < 10) {
          throw transportError(this.#path, `short response (${r.bytesRead} bytes)`);
        }
        return buf.slice(0, r.bytesRead);
      } catch (e) {
        // Node system errors (EBUSY, EIO, ENOENT …) map to typed device errors.
        const code = (e as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) throw fromErrno(e, this.#path);
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}
