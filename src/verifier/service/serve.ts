/**
 * `mrstack verifier serve` as a library call: open the store, unseal (or create) the EAR signing
 * key, load the policies, build the service and listen — on TCP with TLS, on plain HTTP only on
 * a loopback address (or when the caller insists), or on a unix socket.
 *
 * @module
 */
import { chmodSync, rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { UsageError } from '../../errors.js';
import type { LoadedPolicy } from '../appraise/policy.js';
import type { EarSigningKey } from '../result/ear_keys.js';
import { openStore } from '../store/open_store.js';
import type { VerifierStore } from '../store/store.js';
import { activeSigningKey } from './key_vault.js';
import { buildVerifierService, type VerifierServiceOptions } from './server.js';

/** Where and how to serve. */
export interface ServeOptions extends Omit<
  VerifierServiceOptions,
  'store' | 'signingKey' | 'tls' | 'policies'
> {
  /** `embedded:DIR` or a `postgres://` URL. */
  readonly store: string;
  /** The key-encryption key that seals the signing keys in the store. */
  readonly kek: Uint8Array;
  /** A PEM/JWK signing key to import and make active (`--ear-key`). */
  readonly earKey?: Uint8Array;
  /** `HOST:PORT` (TCP) … */
  readonly listen?: string;
  /** … or a unix socket path. */
  readonly socket?: string;
  readonly tls?: { readonly key: Uint8Array; readonly cert: Uint8Array };
  /** Allow plain HTTP on a non-loopback address. */
  readonly insecureHttp?: boolean;
  /**
   * The policies, or what loads them: called once the store is open, so that the store's
   * engine starts on a small heap (the embedded one took ~15 CPU-s more to start beside a parsed
   * million-path allowlist, its collector walking the policy's objects).
   */
  readonly policies?: readonly LoadedPolicy[] | (() => Promise<readonly LoadedPolicy[]>);
}

/** A running service. */
export interface RunningService {
  readonly app: FastifyInstance;
  readonly store: VerifierStore;
  readonly signingKey: EarSigningKey;
  /** `http(s)://host:port` or `unix:PATH`. */
  readonly address: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

/** Splits `HOST:PORT` (IPv6 in brackets). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65535) {
    throw new UsageError('ERR_USAGE', `--listen ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Opens everything and starts listening. */
export async function serveVerifier(opts: ServeOptions): Promise<RunningService> {
  if ((opts.listen === undefined) === (opts.socket === undefined)) {
    throw new UsageError('ERR_USAGE', 'give exactly one of --listen HOST:PORT and --socket PATH');
  }
  let listen: { host: string; port: number } | undefined;
  if (opts.listen !== undefined) {
    listen = parseListen(opts.listen);
    if (opts.tls === undefined && !LOOPBACK.has(listen.host) && opts.insecureHttp !== true) {
      throw new UsageError(
        'ERR_USAGE',
        `--listen ${opts.listen}: plain HTTP is served only on loopback; give --tls-cert and --tls-key (or --insecure-http)`,
      );
    }
  }
  const store = await openStore(opts.store);
  try {
    const signingKey = await activeSigningKey(store, opts.kek, {
      ...(opts.earKey === undefined ? {} : { importPem: opts.earKey }),
    });
    const policies = typeof opts.policies === 'function' ? await opts.policies() : opts.policies;
    const app = await buildVerifierService({
      ...opts,
      ...(policies === undefined ? {} : { policies }),
      store,
      signingKey,
      ...(opts.socket === undefined ? {} : { tls: undefined }),
    } as VerifierServiceOptions);
    let address: string;
    if (opts.socket !== undefined) {
      rmSync(opts.socket, { force: true });
      await app.listen({ path: opts.socket });
      chmodSync(opts.socket, 0o660);
      address = `unix:${opts.socket}`;
    } else {
      const bound = await app.listen({ host: listen!.host, port: listen!.port });
      address = bound;
    }
    return {
      app,
      store,
      signingKey,
      address,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
