/**
 * The swtpm socket protocol: a command channel carrying raw TPM commands and responses (no
 * framing beyond the TPM header's size field), and a control channel taking 32-bit big-endian
 * control codes (swtpm's `tpm_ioctl.h`: CMD_INIT = 2, CMD_SHUTDOWN = 3, CMD_SET_LOCALITY = 5,
 * CMD_STOP = 14 …) answered with a 32-bit result. Either channel listens on TCP (127.0.0.1 by
 * default) or a unix socket.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { UsageError } from '../../errors.js';
import type { IoOptions } from '../provider.js';
import { MAX_RESPONSE, SerialQueue, transportError, type TpmTransport } from './transport.js';

/** Where a channel listens: TCP host and port, or a unix socket path. */
export type SocketAddress =
  { readonly host: string; readonly port: number } | { readonly path: string };

/** Readable form of an address. */
export function formatAddress(a: SocketAddress): string {
  return 'path' in a ? `unix:${a.path}` : `${a.host}:${a.port}`;
}

/**
 * Parses `HOST:PORT`, `PORT`, or `unix:PATH` (a path containing `/` also works).
 * @throws UsageError `ERR_USAGE`
 */
export function parseSocketAddress(text: string): SocketAddress {
  if (text.startsWith('unix:')) return { path: text.slice(5) };
  if (text.includes('/')) return { path: text };
  const i = text.lastIndexOf(':');
  const host = i < 0 ? '127.0.0.1' : text.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(i < 0 ? text : text.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || host === '') {
    throw new UsageError(
      'ERR_USAGE',
      `--swtpm ${JSON.stringify(text)}: expected HOST:PORT or unix:PATH`,
    );
  }
  return { host, port };
}

/** The control channel's address by swtpm's convention: the command port + 1. */
export function defaultControlAddress(a: SocketAddress): SocketAddress | undefined {
  return 'path' in a ? undefined : { host: a.host, port: a.port + 1 };
}

function open(addr: SocketAddress, where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s =
      'path' in addr ? connect({ path: addr.path }) : connect({ host: addr.host, port: addr.port });
    const onError = (e: Error): void => {
      s.destroy();
      reject(transportError(where, `cannot connect: ${e.message}`, e));
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

/**
 * Reads from a socket until `complete(buffered)` returns the message length; the socket stays
 * open for the next exchange.
 */
class SocketReader {
  readonly #where: string;
  #buf: Buffer = Buffer.alloc(0);
  #waiter: (() => void) | undefined;
  #error: Error | undefined;

  constructor(sock: Socket, where: string) {
    this.#where = where;
    sock.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#waiter?.();
    });
    const fail = (e: Error): void => {
      this.#error ??= e;
      this.#waiter?.();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed by peer')));
  }

  async read(length: (buf: Buffer) => number | undefined, signal?: AbortSignal): Promise<Buffer> {
    for (;;) {
      const n = length(this.#buf);
      if (n !== undefined && this.#buf.length >= n) {
        const msg = this.#buf.subarray(0, n);
        this.#buf = this.#buf.subarray(n);
        return msg;
      }
      if (this.#error !== undefined) {
        throw transportError(this.#where, this.#error.message, this.#error);
      }
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
      this.#waiter = undefined;
    }
  }
}

/** The swtpm command channel. */
export class SwtpmTransport implements TpmTransport {
  readonly description: string;
  readonly #addr: SocketAddress;
  readonly #queue = new SerialQueue();
  #sock: Socket | undefined;
  #reader: SocketReader | undefined;

  constructor(addr: SocketAddress) {
    this.#addr = addr;
    this.description = `swtpm ${formatAddress(addr)}`;
  }

  transmit(command: Uint8Array, opts: IoOptions = {}): Promise<Uint8Array> {
    return this.#queue.run(async () => {
      opts.signal?.throwIfAborted();
      if (this.#sock === undefined || this.#sock.destroyed) {
        this.#sock = await open(this.#addr, this.description);
        this.#reader = new SocketReader(this.#sock, this.description);
      }
      const reader = this.#reader!;
      this.#sock.write(command);
      try {
        const msg = await reader.read((b) => {
          if (b.length < 6) return undefined;
          const size = b.readUInt32BE(2);
          if (size < 10 || size > MAX_RESPONSE) {
            throw transportError(this.description, `response size field ${size} out of range`);
          }
          return size;
        }, opts.signal);
        return new Uint8Array(msg);
      } catch (e) {
        // The stream is out of step after a failure: start over on the next command.
        this.#sock.destroy();
        this.#sock = undefined;
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    const s = this.#sock;
    this.#sock = undefined;
    if (s === undefined || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 200).unref();
    });
  }
}

/** swtpm control codes (`tpm_ioctl.h`). */
export const SWTPM_CTRL = {
  GET_CAPABILITY: 1,
  INIT: 2,
  SHUTDOWN: 3,
  GET_TPMESTABLISHED: 4,
  SET_LOCALITY: 5,
  STOP: 14,
} as const;

/** The swtpm control channel: power cycle (INIT), locality, shutdown. */
export class SwtpmControl {
  readonly #addr: SocketAddress;
  readonly description: string;

  constructor(addr: SocketAddress) {
    this.#addr = addr;
    this.description = `swtpm control ${formatAddress(addr)}`;
  }

  /** Sends a control command and returns the 32-bit result (0 = success). */
  async command(code: number, payload: Uint8Array = new Uint8Array(0)): Promise<number> {
    const s = await open(this.#addr, this.description);
    try {
      const reader = new SocketReader(s, this.description);
      const msg = Buffer.alloc(4 + payload.length);
      msg.writeUInt32BE(code, 0);
      msg.set(payload, 4);
      s.write(msg);
      const res = await reader.read((b) => (b.length >= 4 ? 4 : undefined));
      return res.readUInt32BE(0);
    } finally {
      s.destroy();
    }
  }

  /** CMD_INIT: a power cycle (the TPM then needs TPM2_Startup). */
  async init(flags = 0): Promise<void> {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(flags, 0);
    await this.#ok('CMD_INIT', await this.command(SWTPM_CTRL.INIT, p));
  }

  /** CMD_SET_LOCALITY. */
  async setLocality(locality: number): Promise<void> {
    await this.#ok(
      'CMD_SET_LOCALITY',
      await this.command(SWTPM_CTRL.SET_LOCALITY, Uint8Array.of(locality)),
    );
  }

  /** CMD_SHUTDOWN: swtpm saves its state and exits. */
  async shutdown(): Promise<void> {
    await this.#ok('CMD_SHUTDOWN', await this.command(SWTPM_CTRL.SHUTDOWN));
  }

  #ok(what: string, rc: number): Promise<void> {
    if (rc !== 0) {
      return Promise.reject(
        transportError(this.description, `${what} returned 0x${rc.toString(16)}`),
      );
    }
    return Promise.resolve();
  }
}
