/**
 * A report through configfs-tsm (FIELD §A.3): a fresh instance directory per request, each
 * attribute stored with one open-write-close, the blobs read to their end, and `generation`
 * checked to have risen by exactly the stores made — otherwise another writer raced this
 * request and the blobs may answer someone else's inblob. The instance is removed afterwards,
 * even on failure.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ProviderError, UsageError } from '../../errors.js';
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

/** Reads a decimal text attribute (`generation`). */
async function readCounter(fs: TsmFs, path: string): Promise<number> {
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
  return Number(text);
}

/** @throws ProviderError `ERR_REPORT_GENERATION_CHANGED` unless `generation` is `expected`. */
async function checkGeneration(fs: TsmFs, dir: string, expected: number): Promise<void> {
  const actual = await readCounter(fs, `${dir}/generation`);
  if (actual !== expected) {
    throw new ProviderError(
      'ERR_REPORT_GENERATION_CHANGED',
      `${fs.resolve(dir)}: generation is ${actual}, expected ${expected} after this request's stores: another writer raced this report`,
      { details: { attribute: 'generation', expected, actual } },
    );
  }
}

/** One open-write-close that must take every byte. */
async function store(fs: TsmFs, path: string, data: Uint8Array): Promise<void> {
  const n = await fs.writeOnce(path, data);
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
 * Requests a report: mkdir, read `provider` and `generation`, store `inblob` and the optional
 * attributes, read `outblob`/`auxblob`/`manifestblob`, re-read `generation`, rmdir.
 * @throws ProviderError `ERR_REPORT_GENERATION_CHANGED` (another writer raced this instance),
 *   `ERR_UNSUPPORTED` (no configfs-tsm, or an unknown provider), device errors (exit 3)
 * @throws UsageError `ERR_BAD_VALUE` when the report data is longer than the provider takes
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
  const before = await readCounter(fs, `${dir}/generation`);
  let stores = 0;
  const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\n`, 'utf8'));
  await store(fs, `${dir}/inblob`, inblob);
  stores++;
  if (req.privlevel !== undefined) {
    await store(fs, `${dir}/privlevel`, text(String(req.privlevel)));
    stores++;
  }
  if (req.serviceProvider !== undefined) {
    await store(fs, `${dir}/service_provider`, text(req.serviceProvider));
    stores++;
  }
  if (req.serviceGuid !== undefined) {
    await store(fs, `${dir}/service_guid`, text(req.serviceGuid));
    stores++;
  }
  if (req.serviceManifestVersion !== undefined) {
    await store(fs, `${dir}/service_manifest_version`, text(String(req.serviceManifestVersion)));
    stores++;
  }
  signal?.throwIfAborted();
  // Checked before generating too: a quote can take a second, and one for a racer's inblob is
  // worthless. The check after reading the blobs is the one that makes them trustworthy.
  await checkGeneration(fs, dir, before + stores);
  const outblob = await fs.readAll(`${dir}/outblob`);
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
