/**
 * HTTP GET for collateral services, polite to rate limits: requests to one service are spaced
 * by a minimum interval, and a `429 Too Many Requests` is retried after its `Retry-After`
 * (seconds or an HTTP date), a bounded number of times. Uses Node's global `fetch`.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';

/** A response as the fetchers need it. */
export interface HttpResponse {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers: Headers;
  readonly url: string;
}

/** Options of {@link PoliteFetcher}. */
export interface PoliteFetcherOptions {
  /** Minimum time between two requests (ms). AMD KDS asks for spacing; default 0. */
  readonly minIntervalMs?: number;
  /** Retries after 429 (default 3). */
  readonly maxRetries?: number;
  /** Longest Retry-After honoured (ms, default 60 s); longer → `ERR_RATE_LIMITED`. */
  readonly maxRetryWaitMs?: number;
  /** Per-request timeout (ms, default 30 s). */
  readonly timeoutMs?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Parses a Retry-After header into milliseconds from `now`. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const t = value.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  return Number.isNaN(d) ? undefined : Math.max(0, d - now);
}

/** A GET client that spaces requests and honours 429 + Retry-After. */
export class PoliteFetcher {
  readonly #o: Required<Omit<PoliteFetcherOptions, 'sleep' | 'now'>>;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  #last = -Infinity;
  /** Requests sent (including retried ones). */
  requests = 0;
  /** Total time spent waiting for spacing and Retry-After (ms). */
  waitedMs = 0;

  constructor(o: PoliteFetcherOptions = {}) {
    this.#o = {
      minIntervalMs: o.minIntervalMs ?? 0,
      maxRetries: o.maxRetries ?? 3,
      maxRetryWaitMs: o.maxRetryWaitMs ?? 60_000,
      timeoutMs: o.timeoutMs ?? 30_000,
    };
    this.#sleep = o.sleep ?? realSleep;
    this.#now = o.now ?? Date.now;
  }

  async #wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.waitedMs += ms;
    await this.#sleep(ms);
  }

  /**
   * GETs a URL. Returns any final status (callers decide what 404 means).
   * @throws MrstackError `ERR_RATE_LIMITED` when 429 persists, `ERR_IO` for network failures,
   *   `ERR_TIMEOUT` when the server does not answer in time
   */
  async get(url: string, accept?: string): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      await this.#wait(this.#last + this.#o.minIntervalMs - this.#now());
      this.#last = this.#now();
      this.requests++;
      let res: Response;
      try {
        res = await fetch(url, {
          signal: AbortSignal.timeout(this.#o.timeoutMs),
          headers: accept === undefined ? {} : { accept },
        });
      } catch (e) {
        const timeout =
          e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
        throw new MrstackError(
          timeout ? 'ERR_TIMEOUT' : 'ERR_IO',
          `GET ${url}: ${e instanceof Error ? e.message : String(e)}`,
          {
            cause: e,
            details: { url },
          },
        );
      }
      const body = new Uint8Array(await res.arrayBuffer());
      this.#last = this.#now();
      if (res.status !== 429) return { status: res.status, body, headers: res.headers, url };
      const wait = retryAfterMs(res.headers.get('retry-after'), this.#now()) ?? 1000 * 2 ** attempt;
      if (attempt >= this.#o.maxRetries || wait > this.#o.maxRetryWaitMs) {
        throw new MrstackError(
          'ERR_RATE_LIMITED',
          `GET ${url}: rate limited (429) after ${attempt + 1} attempts`,
          {
            details: { url, retry_after_ms: wait },
          },
        );
      }
      await this.#wait(wait);
    }
  }

  /**
   * GETs a URL that must be there: any final status but 200 is an error.
   * @throws MrstackError `ERR_NOT_FOUND` for 404, `ERR_IO` for another status, and as {@link get}
   */
  async getOk(url: string, accept?: string): Promise<HttpResponse> {
    const res = await this.get(url, accept);
    if (res.status !== 200) {
      throw new MrstackError(
        res.status === 404 ? 'ERR_NOT_FOUND' : 'ERR_IO',
        `GET ${url}: HTTP ${res.status}`,
        { details: { url, status: res.status } },
      );
    }
    return res;
  }
}
