/**
 * How TPM command bytes travel: one interface over a TPM character device and the swtpm
 * socket, with a response-size cap and one command in flight at a time.
 *
 * @module
 */
import { ProviderError } from '../../errors.js';
import type { IoOptions } from '../provider.js';

/** Sends one command and returns its whole response. */
export interface TpmTransport {
  /** A readable name: `/dev/tpmrm0`, `swtpm 127.0.0.1:2321`. */
  readonly description: string;
  /** Sends one command and resolves with the complete response. Calls are serialized. */
  transmit(command: Uint8Array, opts?: IoOptions): Promise<Uint8Array>;
  /** Releases the device or socket. */
  close(): Promise<void>;
}

/** Largest response a transport accepts (the reference TPM's is 4096; leave room). */
export const MAX_RESPONSE = 65536;

/** A transport failure (`ERR_TPM_TRANSPORT`, exit 3). */
export function transportError(where: string, message: string, cause?: unknown): ProviderError {
  return new ProviderError('ERR_TPM_TRANSPORT', `${where}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { transport: where },
  });
}

/** Runs async jobs one at a time, in call order. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` after every job queued before it has settled. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(job, job);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
