/**
 * A TypeScript client of the agent's sockets (public API): a tenant client for
 * `RUN/tenants/<name>.sock` and an admin client for `RUN/admin.sock`. Errors the agent returns
 * come back as MrstackErrors with the agent's code; a socket that cannot be reached is
 * `ERR_AGENT_UNREACHABLE`.
 *
 * @module
 */
import * as http from 'node:http';
import { AgentError, isMrstackError, type ErrorCode, ERROR_CODES } from '../errors.js';
import { toHex } from '../bytes/hex.js';

/** Options of the clients. */
export interface AgentClientOptions {
  /** Per-request timeout (default 60 s). */
  readonly timeoutMs?: number;
}

/** What an acknowledged append returns (the agent's JSON). */
export interface AppendResponse {
  readonly status: 'acknowledged';
  readonly tenant: string;
  readonly vmr: string;
  readonly id?: string;
  readonly record: number;
  readonly value: string;
  readonly register: string;
  readonly physical_record?: number;
  readonly duplicate: boolean;
}

/** One event of a streamed batch: the event's fields and an optional request id. */
export interface BatchEventInput {
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
  readonly id?: string;
}

/** One result of {@link TenantClient.appendMany}, in input order. */
export type BatchItemResponse =
  | (AppendResponse & { readonly index: number })
  | {
      readonly index: number;
      readonly status: 'rejected';
      readonly id?: string;
      readonly error: { readonly code: string; readonly message: string };
    };

/** Options of {@link TenantClient.appendMany}. */
export interface AppendManyOptions {
  /** Events per request (default 256, at most 4096). */
  readonly batchSize?: number;
  /**
   * Requests in flight at once (default 1: the log holds the events in stream order). With
   * more, each batch keeps its order but batches may land in any order relative to each other
   * (they travel on separate connections).
   */
  readonly inflight?: number;
}

class SocketClient {
  readonly socketPath: string;
  readonly #agent: http.Agent;
  readonly #timeout: number;

  constructor(socketPath: string, opts: AgentClientOptions = {}) {
    this.socketPath = socketPath;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.#timeout = opts.timeoutMs ?? 60_000;
  }

  request(method: string, path: string, payload?: unknown): Promise<unknown> {
    const data = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload), 'utf8');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          agent: this.#agent,
          method,
          path,
          timeout: this.#timeout,
          headers:
            data === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': data.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let j: unknown;
            try {
              j = JSON.parse(text);
            } catch {
              reject(
                new AgentError(
                  'ERR_INTERNAL',
                  `agent answered ${res.statusCode ?? '?'} with non-JSON`,
                ),
              );
              return;
            }
            if ((res.statusCode ?? 500) >= 400) reject(errorFromBody(j, res.statusCode ?? 500));
            else resolve(j);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(
          new AgentError('ERR_TIMEOUT', `no answer from ${this.socketPath} in ${this.#timeout} ms`),
        ),
      );
      req.on('error', (e) => {
        if (isMrstackError(e)) reject(e);
        else {
          const code = (e as { code?: unknown }).code;
          reject(
            new AgentError(
              'ERR_AGENT_UNREACHABLE',
              `${this.socketPath}: ${typeof code === 'string' ? code : e.message}`,
              { cause: e, details: { socket: this.socketPath } },
            ),
          );
        }
      });
      req.end(data);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function errorFromBody(j: unknown, status: number): AgentError {
  const err = (j as { error?: Record<string, unknown> } | null)?.error;
  const code =
    typeof err?.['code'] === 'string' && err['code'] in ERROR_CODES
      ? (err['code'] as ErrorCode)
      : 'ERR_INTERNAL';
  const message =
    typeof err?.['message'] === 'string' ? err['message'] : `agent answered ${status}`;
  const details = { ...(err ?? {}) };
  delete details['code'];
  delete details['message'];
  return new AgentError(code, message, { details: { ...details, http_status: status } });
}

/** A tenant's client (its own socket). */
export class TenantClient {
  readonly #c: SocketClient;
  constructor(socketPath: string, opts: AgentClientOptions = {}) {
    this.#c = new SocketClient(socketPath, opts);
  }
  /** Appends an event; resolves once acknowledged. */
  append(
    ev: { domain: string; operation: string; content: string },
    id?: string,
  ): Promise<AppendResponse> {
    return this.#c.request('POST', '/v1/events', {
      ...ev,
      ...(id === undefined ? {} : { id }),
    }) as Promise<AppendResponse>;
  }
  /**
   * Appends one batch (`POST /v1/events` with an array); one result per event, in order. A bad
   * event is rejected alone, with its index.
   */
  async appendBatch(events: readonly BatchEventInput[]): Promise<BatchItemResponse[]> {
    const r = (await this.#c.request('POST', '/v1/events', events)) as {
      results: BatchItemResponse[];
    };
    return r.results;
  }

  /**
   * Streams events to the agent in batches (`batchSize` per request, `inflight` requests at
   * once; see {@link AppendManyOptions}) and yields one result per event in input order, `index` counting from 0 over the
   * whole stream. Memory is bounded by `batchSize × inflight` events. An error of a whole
   * request (the agent unreachable or stopped) ends the stream with that error.
   */
  async *appendMany(
    events: Iterable<BatchEventInput> | AsyncIterable<BatchEventInput>,
    opts: AppendManyOptions = {},
  ): AsyncGenerator<BatchItemResponse> {
    const size = Math.min(4096, Math.max(1, opts.batchSize ?? 256));
    const depth = Math.max(1, opts.inflight ?? 1);
    const pending: { base: number; p: Promise<BatchItemResponse[]> }[] = [];
    let chunk: BatchEventInput[] = [];
    let sent = 0;
    const send = (): void => {
      const batch = chunk;
      chunk = [];
      const p = this.appendBatch(batch);
      p.catch(() => undefined); // observed when yielded
      pending.push({ base: sent, p });
      sent += batch.length;
    };
    async function* drain(keep: number): AsyncGenerator<BatchItemResponse> {
      while (pending.length > keep) {
        const { base, p } = pending.shift()!;
        for (const r of await p) yield { ...r, index: base + r.index };
      }
    }
    for await (const ev of events) {
      chunk.push(ev);
      if (chunk.length >= size) {
        send();
        yield* drain(depth - 1);
      }
    }
    if (chunk.length > 0) send();
    yield* drain(0);
  }

  /** What became of a request id. */
  eventStatus(id: string): Promise<Record<string, unknown>> {
    return this.#c.request('GET', `/v1/events/${encodeURIComponent(id)}`) as Promise<
      Record<string, unknown>
    >;
  }
  /** The tenant's own log lines. */
  async log(): Promise<string[]> {
    const j = (await this.#c.request('GET', '/v1/log')) as { lines: string[] };
    return j.lines;
  }
  /**
   * An evidence bundle (its JSON form, `docs/bundle.md`). `imaSince` (the `ima` tenant's
   * socket only): the IMA list from that entry on, if the agent runs in boot `imaBoot` (when
   * given; in another boot it sends the whole list). `tenantSince` (other tenants' sockets):
   * the tenant log only after extended record `record`, if the agent runs in boot `boot`.
   */
  evidence(
    nonce: Uint8Array,
    userData?: Uint8Array,
    since?: number,
    imaSince?: number,
    imaBoot?: string,
    tenantSince?: { readonly record: number; readonly boot?: string | undefined },
  ): Promise<Record<string, unknown>> {
    return this.#c.request('POST', '/v1/evidence', {
      nonce: toHex(nonce),
      ...(userData === undefined ? {} : { user_data: toHex(userData) }),
      ...(since === undefined ? {} : { since }),
      ...(imaSince === undefined || imaSince === 0 ? {} : { ima_since: imaSince }),
      ...(imaBoot === undefined ? {} : { ima_boot: imaBoot }),
      ...(tenantSince === undefined || tenantSince.record === 0
        ? {}
        : {
            tenant_since: tenantSince.record,
            ...(tenantSince.boot === undefined ? {} : { tenant_boot: tenantSince.boot }),
          }),
    }) as Promise<Record<string, unknown>>;
  }
  /** Closes kept-alive connections. */
  close(): void {
    this.#c.close();
  }
}

/** The admin client. */
export class AdminClient {
  readonly #c: SocketClient;
  constructor(socketPath: string, opts: AgentClientOptions = {}) {
    this.#c = new SocketClient(socketPath, opts);
  }
  /** `agent status`. */
  status(): Promise<Record<string, unknown>> {
    return this.#c.request('GET', '/v1/status') as Promise<Record<string, unknown>>;
  }
  /** Tenants. */
  tenants(): Promise<{ tenants: Record<string, unknown>[] }> {
    return this.#c.request('GET', '/v1/tenants') as Promise<{ tenants: Record<string, unknown>[] }>;
  }
  /** Adds a tenant (JSON keys as in the tenants file). */
  addTenant(t: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#c.request('POST', '/v1/tenants', t) as Promise<Record<string, unknown>>;
  }
  /** Removes a tenant. */
  removeTenant(name: string): Promise<Record<string, unknown>> {
    return this.#c.request('DELETE', `/v1/tenants/${encodeURIComponent(name)}`) as Promise<
      Record<string, unknown>
    >;
  }
  /** Starts a new segment. */
  checkpoint(): Promise<{ checkpoint: number; at: string }> {
    return this.#c.request('POST', '/v1/checkpoint', {}) as Promise<{
      checkpoint: number;
      at: string;
    }>;
  }
  /** Closes kept-alive connections. */
  close(): void {
    this.#c.close();
  }
}
