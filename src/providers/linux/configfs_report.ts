/**
 * A report through configfs-tsm (FIELD §A.3): a fresh instance directory per request, each
 * attribute stored with one open-write-close, the blobs read to their end, and `generation`
 * checked to have risen by exactly the stores made — otherwise another writer raced this
 * request and the blobs may answer someone else's inblob. The instance is removed afterwards,
 * even on failure. Kernel refusals keep their errno's typed error (exit 3) with the kernel's
 * reason in the message: EBUSY from a store (the generation wrap guard) or from `outblob` (TDX:
 * an earlier quote still in flight), ETIMEDOUT from `outblob` (TDX: the host did not answer a
 * quote within the driver's timeout).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { isMrstackError, ProviderError, UsageError, type ErrorCode } from '../../errors.js';
import type { RawReport, ReportRequest } from '../provider.js';
import { isKnownReportProvider, TSM_REPORT_PROVIDERS } from './devices.js';
import { TSM_REPORT_DIR } from './kernel_paths.js';
import type { TsmFs } from './tsm_fs.js';

/** Options of {@link requestTsmReport}. */
export interface TsmReportOptions {
  /** Instance directory name; default a fresh random one. */
  readonly instance?: string;
  readonly signal?: AbortSignal;
}

/** True when configfs-tsm reports are available under the root. */
export async function hasTsmReport(fs: TsmFs): Promise<boolean> {
  return (await fs.stat(TSM_REPORT_DIR))?.isDirectory === true;
}

/** configfs-tsm's highest privlevel (`TSM_REPORT_PRIVLEVEL_MAX`). */
const PRIVLEVEL_MAX = 3;

/**
 * The same error with the kernel's reason added to its message, when it carries `code`.
 * Code, details and exit code are kept: the reason is for people.
 */
function explained(e: unknown, code: ErrorCode, reason: string): unknown {
  if (!isMrstackError(e) || e.code !== code) return e;
  return new ProviderError(code, `${e.message} (${reason})`, { cause: e, details: e.details });
}

/** Reads a decimal text attribute (`generation`, `privlevel_floor`); the kernel's are u64. */
async function readCounter(fs: TsmFs, path: string): Promise<bigint> {
  const text = Buffer.from(await fs.readAll(path, 64))
    .toString('latin1')
    .trim();
  if (!/^[0-9]+$/.test(text)) {
    throw new ProviderError(
      'ERR_DEVICE',
      `${path}: expected a decimal counter, found ${JSON.stringify(text)}`,
      {
        details: { path },
      },
    );
  }
  return BigInt(text);
}

/** A counter for JSON details: a number while exact, else its decimal string. */
const counterDetail = (v: bigint): number | string =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();

/**
 * @throws ProviderError `ERR_REPORT_GENERATION_CHANGED` unless `generation` is `expected`:
 *   past it, another writer stored; short of it, the kernel dropped one of this request's
 *   stores (configfs ignores what a binary attribute's store returns at close, so an `inblob`
 *   refused by the generation wrap guard leaves close(2) successful and `generation` unmoved)
 */
async function checkGeneration(fs: TsmFs, dir: string, expected: bigint): Promise<void> {
  const actual = await readCounter(fs, `${dir}/generation`);
  if (actual !== expected) {
    const why =
      actual > expected
        ? 'another writer raced this report'
        : `the kernel did not count ${expected - actual} of this request's stores (the wrap guard refuses stores until a blob is read, and drops a refused inblob silently)`;
    throw new ProviderError(
      'ERR_REPORT_GENERATION_CHANGED',
      `${fs.resolve(dir)}: generation is ${actual}, expected ${expected} after this request's stores: ${why}`,
      {
        details: {
          attribute: 'generation',
          expected: counterDetail(expected),
          actual: counterDetail(actual),
        },
      },
    );
  }
}

/** One open-write-close that must take every byte. */
async function store(fs: TsmFs, path: string, data: Uint8Array): Promise<void> {
  let n: number;
  try {
    n = await fs.writeOnce(path, data);
  } catch (e) {
    throw explained(
      e,
      'ERR_DEVICE_BUSY',
      'the generation wrap guard: the instance takes no more stores until a blob is read',
    );
  }
  if (n !== data.length) {
    throw new ProviderError('ERR_DEVICE', `${path}: short write (${n} of ${data.length} bytes)`, {
      details: { path, expected: data.length, actual: n },
    });
  }
}

/**
 * The inblob for a provider: report data zero-padded to the provider's minimum (TDX and SNP
 * take exactly 64 bytes, CCA 32..64), as the emulated provider pads it.
 */
function inblobFor(provider: string, data: Uint8Array): Uint8Array {
  const rule = isKnownReportProvider(provider)
    ? TSM_REPORT_PROVIDERS[provider].inblob
    : { min: 1, max: 64 };
  if (data.length > rule.max) {
    throw new UsageError(
      'ERR_BAD_VALUE',
      `report data for ${provider}: at most ${rule.max} bytes, found ${data.length}`,
      { details: { provider, expected: `<= ${rule.max}`, actual: data.length } },
    );
  }
  if (data.length >= rule.min) return data;
  const padded = new Uint8Array(rule.min);
  padded.set(data);
  return padded;
}

/**
 * Checks a requested privlevel against the kernel's rule (`privlevel_floor` ≤ v ≤ 3) before any
 * store, so the caller hears what to change; returns the floor (undefined when not shown).
 * @throws UsageError `ERR_BAD_VALUE` out of range; ProviderError `ERR_UNSUPPORTED` when the
 *   provider shows no `privlevel` (TDX)
 */
async function checkPrivlevel(fs: TsmFs, dir: string, v: number): Promise<number | undefined> {
  if ((await fs.stat(`${dir}/privlevel`)) === undefined) {
    throw new ProviderError(
      'ERR_UNSUPPORTED',
      `${fs.resolve(dir)}: this configfs-tsm provider takes no privlevel`,
    );
  }
  const floorFile = `${dir}/privlevel_floor`;
  const floor =
    (await fs.stat(floorFile)) === undefined ? undefined : await readCounter(fs, floorFile);
  const min = floor === undefined ? 0 : Number(floor);
  if (!Number.isInteger(v) || v < min || v > PRIVLEVEL_MAX) {
    throw new UsageError(
      'ERR_BAD_VALUE',
      `privlevel ${v}: this guest takes ${min}..${PRIVLEVEL_MAX} (privlevel_floor is ${floor ?? 'not shown'})`,
      { details: { attribute: 'privlevel', expected: `${min}..${PRIVLEVEL_MAX}`, actual: v } },
    );
  }
  return floor === undefined ? undefined : min;
}

/**
 * Requests a report: mkdir, read `provider` and `generation`, store `inblob` and the optional
 * attributes, read `outblob`/`auxblob`/`manifestblob`, re-read `generation`, rmdir.
 * @throws ProviderError `ERR_REPORT_GENERATION_CHANGED` (another writer raced this instance),
 *   `ERR_UNSUPPORTED` (no configfs-tsm, an unknown provider, or a privlevel the provider does
 *   not take), device errors (exit 3): `ERR_DEVICE_BUSY` (the wrap guard refused a text
 *   store, or a TDX quote is still in flight), `ERR_TIMEOUT` (a TDX quote timed out)
 * @throws UsageError `ERR_BAD_VALUE` when the report data is longer than the provider takes,
 *   or the privlevel is outside `privlevel_floor..3`
 */
export async function requestTsmReport(
  fs: TsmFs,
  req: ReportRequest,
  opts: TsmReportOptions = {},
): Promise<RawReport> {
  if (!(await hasTsmReport(fs))) {
    throw new ProviderError(
      'ERR_UNSUPPORTED',
      `no configfs-tsm under ${fs.resolve(TSM_REPORT_DIR)} (Linux >= 6.7 with a TSM provider; is configfs mounted?)`,
    );
  }
  const name = opts.instance ?? `mrstack-${process.pid}-${randomBytes(6).toString('hex')}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new UsageError(
      'ERR_USAGE',
      `report instance name ${JSON.stringify(name)} is not a plain name`,
    );
  }
  const dir = `${TSM_REPORT_DIR}/${name}`;
  await fs.mkdir(dir);
  let report: RawReport;
  try {
    report = await fillInstance(fs, dir, req, opts.signal);
  } catch (e) {
    // A failed request keeps its own error; the instance goes regardless.
    await fs.rmdir(dir).catch(() => undefined);
    throw e;
  }
  // A successful one must not leave instances behind either: a failed rmdir is an error.
  await fs.rmdir(dir);
  return report;
}

/**
 * The request inside an existing instance directory (`dir` relative to the root).
 * @throws as {@link requestTsmReport}
 */
export async function fillInstance(
  fs: TsmFs,
  dir: string,
  req: ReportRequest,
  signal?: AbortSignal,
): Promise<RawReport> {
  signal?.throwIfAborted();
  const provider = Buffer.from(await fs.readAll(`${dir}/provider`, 256))
    .toString('utf8')
    .trim();
  if (!isKnownReportProvider(provider)) {
    throw new ProviderError(
      'ERR_UNSUPPORTED',
      `configfs-tsm provider ${JSON.stringify(provider)} is not one mrstack reads`,
      {
        details: { provider },
      },
    );
  }
  const inblob = inblobFor(provider, req.reportData);
  const privlevelFloor =
    req.privlevel === undefined ? undefined : await checkPrivlevel(fs, dir, req.privlevel);
  const before = await readCounter(fs, `${dir}/generation`);
  let stores = 0n;
  const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\n`, 'utf8'));
  await store(fs, `${dir}/inblob`, inblob);
  stores += 1n;
  if (req.privlevel !== undefined) {
    await store(fs, `${dir}/privlevel`, text(String(req.privlevel))).catch((e: unknown) => {
      throw explained(
        e,
        'ERR_DEVICE_INVALID',
        `the kernel takes privlevel ${privlevelFloor ?? 0}..${PRIVLEVEL_MAX}`,
      );
    });
    stores += 1n;
  }
  if (req.serviceProvider !== undefined) {
    await store(fs, `${dir}/service_provider`, text(req.serviceProvider));
    stores += 1n;
  }
  if (req.serviceGuid !== undefined) {
    await store(fs, `${dir}/service_guid`, text(req.serviceGuid));
    stores += 1n;
  }
  if (req.serviceManifestVersion !== undefined) {
    await store(fs, `${dir}/service_manifest_version`, text(String(req.serviceManifestVersion)));
    stores += 1n;
  }
  signal?.throwIfAborted();
  // Checked before generating too: a quote can take a second, and one for a racer's inblob is
  // worthless. The check after reading the blobs is the one that makes them trustworthy.
  await checkGeneration(fs, dir, before + stores);
  const outblob = await fs.readAll(`${dir}/outblob`).catch((e: unknown) => {
    const reason =
      provider === 'tdx_guest'
        ? {
            timeout:
              "the host did not answer the GetQuote within the tdx_guest driver's getquote_timeout (30 s by default); the quote buffer stays the host's until it does",
            busy: 'an earlier GetQuote, one the driver gave up on, is still in flight',
          }
        : { timeout: 'the report did not arrive in time', busy: 'the provider is busy' };
    throw explained(explained(e, 'ERR_TIMEOUT', reason.timeout), 'ERR_DEVICE_BUSY', reason.busy);
  });
  const optional = async (attr: string): Promise<Uint8Array | undefined> => {
    if ((await fs.stat(`${dir}/${attr}`)) === undefined) return undefined;
    const b = await fs.readAll(`${dir}/${attr}`);
    return b.length === 0 ? undefined : b;
  };
  const auxblob = await optional('auxblob');
  const manifestblob = await optional('manifestblob');
  await checkGeneration(fs, dir, before + stores);
  return {
    provider,
    format: TSM_REPORT_PROVIDERS[provider].format,
    outblob,
    ...(auxblob === undefined ? {} : { auxblob }),
    ...(manifestblob === undefined ? {} : { manifestblob }),
    emulated: false,
  };
}
