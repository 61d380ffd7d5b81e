/**
 * `mrstack collateral fetch`: Intel PCS v4 / PCCS (TDX) and AMD KDS (SNP) into the on-disk
 * collateral cache that `evidence verify --collateral DIR` reads; `collateral import`: TDX or
 * SNP collateral fetched elsewhere into the same cache (the offline route), verified first. Library code is imported
 * lazily inside the action.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { fromHex } from '../../bytes/hex.js';
import { fromErrno, MrstackError, UsageError } from '../../errors.js';
import type { SnpProduct, SnpTcb } from '../../formats/snp/tcb.js';
import { action, printFields, printJson } from '../output.js';

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

interface FetchOptions {
  readonly kind: 'tdx' | 'snp';
  readonly fmspc?: string;
  readonly pccs?: string;
  readonly pcsUrl?: string;
  readonly rootCrlUrl?: string;
  readonly chipId?: string;
  readonly reportedTcb?: string;
  readonly product?: SnpProduct;
  readonly report?: string;
  readonly kdsUrl?: string;
  readonly minInterval?: string;
  readonly cache?: string;
  readonly at?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

function parseTcbText(
  text: string,
  product: SnpProduct,
  decode: (raw: bigint, p: SnpProduct) => SnpTcb,
  encode: (spl: Record<string, number>, p: SnpProduct) => bigint,
): SnpTcb {
  const t = text.trim();
  if (/^(0x)?[0-9a-fA-F]{1,16}$/.test(t))
    return decode(BigInt(t.startsWith('0x') ? t : `0x${t}`), product);
  const spl: Record<string, number> = {};
  for (const part of t.split(',')) {
    const m = /^\s*(bl|bootloader|tee|snp|ucode|microcode|fmc)\s*[=:]\s*(\d+)\s*$/.exec(part);
    if (m === null) {
      throw new UsageError(
        'ERR_USAGE',
        `--reported-tcb ${JSON.stringify(text)}: expected hex or bl=N,tee=N,snp=N,ucode=N[,fmc=N]`,
      );
    }
    const k = m[1] === 'bootloader' ? 'bl' : m[1] === 'microcode' ? 'ucode' : m[1]!;
    spl[k] = Number(m[2]);
  }
  return decode(encode(spl, product), product);
}

/** The reason under a failed fetch (undici's "fetch failed" hides it in `cause`). */
function networkCause(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== 'ERR_IO') {
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
        return `DNS: the host name did not resolve (${code})`;
      if (code === 'ECONNREFUSED') return 'the connection was refused (ECONNREFUSED)';
      if (code === 'ECONNRESET') return 'the connection was reset (ECONNRESET)';
      if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
        return `the connection timed out (${code})`;
      if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH')
        return `the network is unreachable (${code})`;
      if (/CERT|SELF_SIGNED|TLS|SSL|ERR_TLS/i.test(code)) return `TLS: ${c.message} (${code})`;
      return `${c.message} (${code})`;
    }
    if (!(c.cause instanceof Error) && depth > 0) return c.message; // the innermost reason
    c = c.cause;
  }
  return undefined;
}

/**
 * A fetch that failed on the network says why (DNS, refused, TLS …) and how to work offline:
 * fetch where the network is, carry the cache entry over, and give it to `--collateral DIR`.
 */
async function offline<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (!(e instanceof MrstackError) || (e.code !== 'ERR_IO' && e.code !== 'ERR_TIMEOUT')) throw e;
    const why = networkCause(e.cause);
    if (why === undefined && e.code === 'ERR_IO' && !e.message.includes('fetch failed')) throw e;
    throw new MrstackError(
      e.code,
      `${e.message}${why === undefined ? '' : `: ${why}`}. Without a network here, run the same collateral fetch on a machine that has one, copy the directory it prints, and give it to evidence verify --collateral DIR — or put files fetched elsewhere into the cache with mrstack collateral import DIR|FILE (docs/collateral.md, "Offline")`,
      { cause: e, details: { ...(why === undefined ? {} : { network: why }) } },
    );
  }
}

/** Registers `mrstack collateral`. */
export function registerCollateral(program: Command): Command {
  const collateral = program
    .command('collateral')
    .description('fetch and cache verification collateral');
  collateral
    .command('fetch')
    .description(
      'fetch TDX collateral from Intel PCS v4 / a PCCS, or SNP collateral from AMD KDS, into the cache;\n' +
        'items are asked for again only after their nextUpdate (KDS requests are spaced, 429 honoured)',
    )
    .addOption(
      new Option('--kind <kind>', 'tdx or snp').choices(['tdx', 'snp']).makeOptionMandatory(),
    )
    .option('--fmspc <hex>', 'TDX: the platform FMSPC (6 bytes hex)')
    .option('--pccs <url>', 'TDX: a PCCS base URL instead of Intel PCS')
    .option(
      '--pcs-url <url>',
      'TDX: the PCS base URL (default https://api.trustedservices.intel.com)',
    )
    .option('--root-crl-url <url>', 'TDX: where the Intel SGX root CA CRL is fetched')
    .option('--chip-id <hex>', 'SNP: CHIP_ID from the report (64 bytes hex)')
    .option('--reported-tcb <tcb>', 'SNP: REPORTED_TCB as hex, or bl=N,tee=N,snp=N,ucode=N[,fmc=N]')
    .addOption(
      new Option('--product <name>', 'SNP: the processor line').choices([
        'milan',
        'genoa',
        'turin',
      ]),
    )
    .option(
      '--report <file>',
      'SNP: take chip id, reported TCB (and product, v3+) from a report (binary or hex)',
    )
    .option('--kds-url <url>', 'SNP: the KDS base URL (default https://kdsintf.amd.com)')
    .option('--min-interval <ms>', 'SNP: minimum spacing of KDS requests in ms (default 2000)')
    .option(
      '--cache <dir>',
      'cache directory (default $MRSTACK_COLLATERAL_CACHE, else $XDG_CACHE_HOME/mrstack/collateral)',
    )
    .option('--at <iso-time>', 'the time freshness is judged at (default now)')
    .option('--force', 'fetch even what is still fresh')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  mrstack collateral fetch --kind tdx --fmspc 50806f000000\n' +
        '  mrstack collateral fetch --kind snp --report report.bin\n' +
        '  mrstack evidence verify report.bin --collateral "$(mrstack collateral fetch --kind snp --report report.bin --json | jq -r .dir)"',
    )
    .action(
      action(async (opts: FetchOptions) => {
        const { CollateralCache, defaultCollateralCacheDir } =
          await import('../../verifier/collateral/cache.js');
        const { PoliteFetcher } = await import('../../verifier/collateral/cache_http.js');
        const now = opts.at === undefined ? new Date() : new Date(opts.at);
        if (Number.isNaN(now.getTime()))
          throw new UsageError('ERR_USAGE', `--at ${JSON.stringify(opts.at)}: not a date`);
        const cache = new CollateralCache(opts.cache ?? defaultCollateralCacheDir());
        let result;
        if (opts.kind === 'tdx') {
          if (opts.fmspc === undefined)
            throw new UsageError('ERR_USAGE', '--kind tdx needs --fmspc');
          const { fetchTdxCollateral } = await import('../../verifier/collateral/pcs.js');
          const base = opts.pccs ?? opts.pcsUrl;
          result = await offline(
            fetchTdxCollateral({
              fmspc: opts.fmspc,
              cache,
              now,
              ...(base === undefined ? {} : { baseUrl: base }),
              ...(opts.rootCrlUrl === undefined ? {} : { rootCrlUrl: opts.rootCrlUrl }),
              ...(opts.force === true ? { force: true } : {}),
            }),
          );
        } else {
          const { fetchSnpCollateral, KDS_DEFAULT_INTERVAL_MS } =
            await import('../../verifier/collateral/kds.js');
          const tcbMod = await import('../../formats/snp/tcb.js');
          const decode = (raw: bigint, p: SnpProduct): SnpTcb =>
            tcbMod.decodeTcb(raw, tcbMod.tcbLayoutForProduct(p));
          let chipId = opts.chipId === undefined ? undefined : fromHex(opts.chipId, '--chip-id');
          let product = opts.product;
          let tcb: SnpTcb | undefined;
          if (opts.report !== undefined) {
            const { parseSnpReport } = await import('../../formats/snp/report.js');
            let bytes: Uint8Array;
            try {
              bytes = new Uint8Array(readFileSync(opts.report));
            } catch (e) {
              throw fromErrno(e, opts.report);
            }
            const text = Buffer.from(bytes).toString('latin1').trim();
            if (/^[0-9a-fA-F\s]+$/.test(text))
              bytes = fromHex(text.replace(/\s+/g, ''), '--report');
            const rep = parseSnpReport(bytes);
            chipId ??= rep.chip_id;
            product ??= rep.product;
            if (product === undefined) {
              throw new UsageError(
                'ERR_USAGE',
                `a v${rep.version} report does not name its product: add --product`,
              );
            }
            tcb = decode(rep.reported_tcb.raw, product);
          }
          if (product === undefined)
            throw new UsageError('ERR_USAGE', '--kind snp needs --product (or --report of v3+)');
          if (opts.reportedTcb !== undefined) {
            tcb = parseTcbText(opts.reportedTcb, product, decode, (spl, p) =>
              tcbMod.encodeTcb(
                {
                  bootloader: spl['bl'] ?? 0,
                  tee: spl['tee'] ?? 0,
                  snp: spl['snp'] ?? 0,
                  microcode: spl['ucode'] ?? 0,
                  ...(spl['fmc'] === undefined ? {} : { fmc: spl['fmc'] }),
                },
                tcbMod.tcbLayoutForProduct(p),
              ),
            );
          }
          if (chipId === undefined || tcb === undefined) {
            throw new UsageError(
              'ERR_USAGE',
              '--kind snp needs --chip-id and --reported-tcb (or --report)',
            );
          }
          const interval =
            opts.minInterval === undefined ? KDS_DEFAULT_INTERVAL_MS : Number(opts.minInterval);
          if (!Number.isFinite(interval) || interval < 0)
            throw new UsageError('ERR_USAGE', '--min-interval: expected milliseconds');
          result = await offline(
            fetchSnpCollateral({
              product,
              chipId,
              reportedTcb: tcb,
              cache,
              now,
              fetcher: new PoliteFetcher({ minIntervalMs: interval }),
              ...(opts.kdsUrl === undefined ? {} : { baseUrl: opts.kdsUrl }),
              ...(opts.force === true ? { force: true } : {}),
            }),
          );
        }
        if (opts.json === true) printJson(result);
        else {
          printFields([
            ['dir', result.dir],
            ['fetched', result.fetched.join(', ') || '-'],
            ['cached', result.cached.join(', ') || '-'],
            ['requests', String(result.requests)],
            ...(result.next_update === undefined
              ? []
              : [['next update', result.next_update] as const]),
            ...result.warnings.map((w) => ['warning', w] as const),
          ]);
        }
        return 0;
      }),
    );
  collateral
    .command('import')
    .description(
      'store collateral fetched elsewhere in the cache, as collateral fetch would (the offline\n' +
        'route), verified first. TDX: a directory of Intel PCS responses, or one QuoteCollateralV3\n' +
        'JSON. SNP: AMD KDS files — the VCEK or VLEK (DER/PEM), the cert_chain (ASK or ASVK, ARK;\n' +
        'PEM) and the CRL — chained to the pinned AMD ARKs (or --trust-anchor)',
    )
    .argument('<path>', 'a directory of collateral files, or one file')
    .addOption(
      new Option('--kind <kind>', 'tdx or snp (default: told from the files)').choices([
        'tdx',
        'snp',
      ]),
    )
    .addOption(
      new Option(
        '--product <name>',
        'SNP: the processor line the files must be for (refused when they are another)',
      ).choices(['milan', 'genoa', 'turin']),
    )
    .option(
      '--trust-anchor <file>',
      'SNP: a root to chain to instead of the built-in AMD ARKs (repeatable)',
      collect,
    )
    .option(
      '--cache <dir>',
      'cache directory (default $MRSTACK_COLLATERAL_CACHE, else $XDG_CACHE_HOME/mrstack/collateral)',
    )
    .option(
      '--at <iso-time>',
      'the time recorded as fetched and staleness is judged at (default now)',
    )
    .option('--json', 'print JSON: {"kind","key","dir","imported","next_update"?,"warnings"}')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  mrstack collateral import ./pcs-responses/        # tcb_info.json, qe_identity.json, CRLs, chains\n' +
        '  mrstack collateral import quote_collateral.json    # dcap-qvl QuoteCollateralV3\n' +
        '  mrstack collateral import ./kds/                   # vcek.der, cert_chain.pem, crl.der (AMD KDS)\n' +
        '  mrstack evidence verify quote.bin --collateral "$(mrstack collateral import c.json --json | jq -r .dir)"',
    )
    .action(
      action(
        async (
          path: string,
          opts: {
            kind?: 'tdx' | 'snp';
            product?: SnpProduct;
            trustAnchor?: readonly string[];
            cache?: string;
            at?: string;
            json?: boolean;
          },
        ) => {
          const { CollateralCache, defaultCollateralCacheDir } =
            await import('../../verifier/collateral/cache.js');
          const { importSnpCollateral, importTdxCollateral, looksLikeSnpCollateral } =
            await import('../../verifier/collateral/import.js');
          const { readCollateral, readInput } = await import('../input_files.js');
          const path_ = await import('node:path');
          const now = opts.at === undefined ? new Date() : new Date(opts.at);
          if (Number.isNaN(now.getTime()))
            throw new UsageError('ERR_USAGE', `--at ${JSON.stringify(opts.at)}: not a date`);
          const files = readCollateral(path);
          const kind = opts.kind ?? (looksLikeSnpCollateral(files) ? 'snp' : 'tdx');
          if (kind === 'tdx' && (opts.product !== undefined || opts.trustAnchor !== undefined))
            throw new UsageError('ERR_USAGE', '--product and --trust-anchor are for SNP files');
          const base = {
            cache: new CollateralCache(opts.cache ?? defaultCollateralCacheDir()),
            now,
            source: path_.resolve(path),
          };
          const result =
            kind === 'snp'
              ? importSnpCollateral(files, {
                  ...base,
                  ...(opts.product === undefined ? {} : { product: opts.product }),
                  ...(opts.trustAnchor === undefined
                    ? {}
                    : { trustAnchors: opts.trustAnchor.map((f) => readInput(f)) }),
                })
              : importGuessedTdx(() => importTdxCollateral(files, base), opts.kind === undefined);
          if (opts.json === true) printJson(result);
          else
            printFields([
              ['dir', result.dir],
              [kind === 'tdx' ? 'fmspc' : 'key', result.key],
              ['imported', result.imported.join(', ')],
              ...(result.next_update === undefined
                ? []
                : [['next update', result.next_update] as const]),
              ...result.warnings.map((w) => ['warning', w] as const),
            ]);
          return 0;
        },
      ),
    );
  return collateral;
}

/**
 * The TDX import; when the kind was guessed (nothing read as AMD collateral), a refusal says so,
 * because a user who meant SNP files otherwise reads only "expected a TCB info file".
 */
function importGuessedTdx<T>(run: () => T, guessed: boolean): T {
  try {
    return run();
  } catch (e) {
    if (!guessed || !(e instanceof MrstackError)) throw e;
    throw new MrstackError(
      e.code,
      `${e.message} — read as Intel TDX collateral because no file holds a certificate or CRL with an AMD KDS name (VCEK, VLEK, ASK, ASVK, ARK); give --kind snp to read the files as SNP collateral`,
      { details: e.details, cause: e },
    );
  }
}
