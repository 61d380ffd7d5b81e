/**
 * `mrstack log parse|replay|convert`: event logs (DESIGN §3, §7).
 *
 * JSON (with `--json`):
 * - `log parse`   → `{"format","log","events":[{"index","register","mr_index"?,"type"?,"type_name",
 *   "digests":{"<alg>":"<hex>"},"extend","offset","data"?,"line"?,"decoded":{…},"digest_check"?}],
 *   "count","warnings":[…],"error"?:{…}}` (streamed: constant memory whatever the log size; a record
 *   that fails to parse ends the array and its error is the `error` member, exit 2; with
 *   `--allow-partial-tail` a cut last record is an `ERR_TRUNCATED` warning instead, exit 0).
 * - `log replay`  → `{"format","events":<records replayed>,"extended","registers":{"<mr>":{"<alg>":"<hex>"}},
 *   "anchors":{"<mr>":"reset|firmware-log|trusted-checkpoint|unverified"},"warnings":[…]}`; several
 *   files without `--combine` → `{"logs":[…one object per file…]}`; `--combine` replays them in order
 *   into the same registers (`format` lists the formats joined by `+`).
 * - `log convert` → writes the converted log to `--out` (or stdout); with `--json` (needs `--out`)
 *   `{"from","to","out","events","bytes"}`.
 *
 * @module
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import { toHex } from '../../bytes/hex.js';
import { parseHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { fromErrno, MrstackError, UsageError } from '../../errors.js';
import type { LogEvent } from '../../eventlog/event.js';
import type { LogFormat, LogWarning } from '../../eventlog/log_format.js';
import { logFileSize, openLogFile, type OpenLogOptions } from '../../eventlog/log_source.js';
import { PCR_MAP_NAMES, type PcrMapName } from '../../eventlog/mr_map.js';
import { getLogFormat, logFormats } from '../../eventlog/registry.js';
import { ccelChecksumOk, parseCcelAcpiTable } from '../../formats/ccel/acpi_table.js';
import type { ExpectedValues, ReplayResult } from '../../eventlog/replay.js';
import { isPartialTail, replayLogs, type ReplayLogSource } from '../../eventlog/replay_logs.js';
import { WORKAROUND_FAMILIES, type WorkaroundFamily } from '../../eventlog/workarounds.js';
import { bootAggregateOfReplay } from '../../eventlog/boot_aggregate_log.js';
// Types only: the checker (and the X.509 reader it loads, ~0.15 CPU-s) is imported when
// --verify-sig asks for it.
import type { ImaSignatureReport, ImaSigningKey } from '../../verifier/verify/ima_signature.js';
import { readInput } from '../input_files.js';
import { readExpectFile, type ExpectFile } from '../expect_file.js';
import { action, printJson, printTable, toJsonText } from '../output.js';
import { byteProgress, type ByteProgress } from '../progress.js';
import { eventSummary } from '../event_text.js';
import { logWarningPrinter } from '../log_warnings.js';
import { printable } from '../../bytes/printable.js';

interface CommonLogOptions {
  readonly format?: string;
  readonly acpiTable?: string;
  readonly json?: boolean;
  readonly pcrMap?: PcrMapName;
  readonly register?: string;
  readonly imaBanks?: readonly HashAlg[];
  readonly imaBankMode?: 'per-bank' | 'padded';
  readonly wide?: boolean;
  readonly quiet?: boolean;
  readonly allowPartialTail?: boolean;
}

interface ReplayCliOptions extends CommonLogOptions {
  readonly combine?: boolean;
  readonly verifySig?: boolean;
  readonly imaKey?: readonly string[];
  readonly expect?: string;
  readonly workaround?: WorkaroundFamily;
}

interface ConvertCliOptions extends CommonLogOptions {
  readonly to: string;
  readonly out?: string;
}

function openOptions(
  opts: CommonLogOptions,
  onWarning: (w: LogWarning) => void,
  progress?: ByteProgress,
): OpenLogOptions {
  const onProgress = progress?.onProgress;
  return {
    ...(opts.format === undefined ? {} : { format: opts.format }),
    ...(opts.pcrMap === undefined ? {} : { pcrMap: opts.pcrMap }),
    ...(opts.register === undefined ? {} : { register: opts.register }),
    ...(opts.imaBanks === undefined ? {} : { imaBanks: opts.imaBanks }),
    ...(opts.imaBankMode === undefined ? {} : { imaBankMode: opts.imaBankMode }),
    ...(onProgress === undefined ? {} : { onProgress }),
    onWarning,
  };
}

/**
 * `--acpi-table FILE`: the CCEL ACPI table that describes a CCEL log area. Its LAML must equal the
 * log file's size (Linux exposes exactly the area) and its CC type should be TDX; differences are
 * warnings. Returns the table as JSON.
 */
async function checkAcpiTable(
  tablePath: string,
  logPath: string,
  onWarning: (w: LogWarning) => void,
): Promise<Record<string, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(tablePath));
  } catch (e) {
    throw fromErrno(e, tablePath);
  }
  const t = parseCcelAcpiTable(bytes);
  if (!ccelChecksumOk(bytes)) {
    onWarning({
      code: 'CCEL_TABLE_CHECKSUM',
      message: `${tablePath}: ACPI checksum does not sum to 0`,
    });
  }
  const size = await logFileSize(logPath);
  if (size !== undefined && BigInt(size) !== t.laml) {
    onWarning({
      code: 'CCEL_SIZE_MISMATCH',
      message: `${logPath} is ${size} bytes but the CCEL table's LAML is ${t.laml.toString()}`,
    });
  }
  return {
    cc_type: t.ccType,
    cc_subtype: t.ccSubtype,
    laml: t.laml,
    lasa: `0x${t.lasa.toString(16)}`,
    oem_id: t.oemId,
    oem_table_id: t.oemTableId,
    revision: t.revision,
  };
}

function digestsJson(e: LogEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, d] of e.digests) out[alg] = toHex(d);
  return out;
}

/** The JSON of one event for `log parse`. */
export function eventJson(e: LogEvent, fmt: LogFormat): Record<string, unknown> {
  const base: Record<string, unknown> = {
    index: e.index,
    register: e.register ?? null,
  };
  if (e.kind === 'tcg2') {
    base['mr_index'] = e.mrIndex;
    base['type'] = e.untrustedType;
  }
  base['type_name'] = fmt.typeName?.(e) ?? e.kind;
  base['digests'] = digestsJson(e);
  base['extend'] = e.extend;
  base['offset'] = e.source.offset;
  if (e.source.line !== undefined) base['line_number'] = e.source.line;
  if (e.kind === 'tcg2') base['data'] = e.data;
  if (e.kind === 'app' || e.kind === 'directive') base['line'] = e.line;
  base['decoded'] = fmt.describe?.(e) ?? {};
  const check = fmt.checkDigest?.(e);
  if (check !== undefined && check !== 'n/a') base['digest_check'] = check;
  return base;
}

/** True once stdout's reader went away (`mrstack log parse … | head`): stop quietly, exit 0. */
let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') stdoutClosed = true;
  else throw e;
});

async function write(text: string): Promise<void> {
  if (stdoutClosed) return;
  if (!process.stdout.write(text)) {
    try {
      await Promise.race([once(process.stdout, 'drain'), once(process.stdout, 'close')]);
    } catch {
      // `once` rejects on the EPIPE 'error' event; the handler above has recorded it.
      stdoutClosed = true;
    }
  }
}

async function parseCommand(file: string, opts: CommonLogOptions): Promise<number> {
  const warnings: LogWarning[] = [];
  const printer = logWarningPrinter({ silent: opts.json === true || opts.quiet === true });
  const onWarning = (w: LogWarning): void => {
    warnings.push(w);
    printer.onWarning(w);
  };
  const size = await logFileSize(file);
  // Events stream to stdout as they are parsed: a bar on the same terminal would tear the output.
  const progress = byteProgress(file, size, { enabled: !process.stdout.isTTY });
  try {
    return await parseToStdout(file, opts, onWarning, warnings, progress);
  } finally {
    progress.abort();
    printer.finish();
  }
}

async function parseToStdout(
  file: string,
  opts: CommonLogOptions,
  onWarning: (w: LogWarning) => void,
  warnings: readonly LogWarning[],
  progress: ByteProgress,
): Promise<number> {
  const json = opts.json === true;
  const log = await openLogFile(file, openOptions(opts, onWarning, progress));
  const fmt = log.format;
  const table =
    opts.acpiTable === undefined
      ? undefined
      : await checkAcpiTable(opts.acpiTable, file, onWarning);
  let count = 0;
  if (json) {
    await write(
      `{"format":${JSON.stringify(fmt.id)},"log":${JSON.stringify(file)},` +
        (table === undefined ? '' : `"acpi_table":${toJsonText(table, 0)},`) +
        `"events":[`,
    );
    // The document is already open on stdout when a record fails to parse: the error goes inside
    // it (`"error"` beside `"count"`), so the output stays one valid JSON value whatever happens.
    let failure: Error | undefined;
    try {
      for await (const e of log.events) {
        if (stdoutClosed) return 0;
        await write(`${count === 0 ? '\n' : ',\n'}${toJsonText(eventJson(e, fmt), 0)}`);
        count++;
      }
    } catch (e) {
      failure = partialTailOrThrowable(e, file, opts, onWarning);
    }
    progress.finish();
    const error =
      failure === undefined
        ? ''
        : `,"error":${toJsonText(failure instanceof MrstackError ? failure.toJSON() : { code: 'ERR_INTERNAL', message: failure.message }, 0)}`;
    await write(`\n],"count":${count},"warnings":${toJsonText(warnings, 0)}${error}}\n`);
    return failure === undefined ? 0 : failure instanceof MrstackError ? failure.exitCode : 3;
  }
  const rows: string[][] = [];
  const wide = opts.wide === true;
  const flush = (): void => {
    if (rows.length > 0)
      printTable(['#', 'register', 'type', 'digest', 'data'], rows, { wide, wrapLast: true });
    rows.length = 0;
  };
  const events = async function* (): AsyncGenerator<LogEvent> {
    try {
      yield* log.events;
    } catch (e) {
      const failure = partialTailOrThrowable(e, file, opts, onWarning);
      if (failure !== undefined) {
        flush(); // the records that parsed are printed before the error that stopped the parse
        throw failure;
      }
    }
  };
  for await (const e of events()) {
    const first = [...e.digests][0];
    const hex = first === undefined ? '' : toHex(first[1]);
    rows.push([
      String(e.index),
      e.register ?? '-',
      fmt.typeName?.(e) ?? e.kind,
      first === undefined ? '' : `${first[0]}:${wide ? hex : `${hex.slice(0, 8)}…`}`,
      eventSummary(fmt.describe?.(e) ?? {}),
    ]);
    count++;
    // Print in pages so memory stays bounded on large logs.
    if (rows.length >= 1000) flush();
  }
  flush();
  progress.finish();
  process.stdout.write(`${fmt.id}: ${count} records\n`);
  return 0;
}

/**
 * With `--allow-partial-tail`, a log cut inside its last record (a live log being appended, a
 * copy taken mid-write) ends at its last complete record with an `ERR_TRUNCATED` warning;
 * returns undefined then, and otherwise the error to report.
 */
function partialTailOrThrowable(
  e: unknown,
  file: string,
  opts: CommonLogOptions,
  onWarning: (w: LogWarning) => void,
): Error | undefined {
  if (opts.allowPartialTail !== true || !isPartialTail(e))
    return e instanceof Error ? e : new Error(String(e));
  onWarning({
    code: 'ERR_TRUNCATED',
    message: `${file}: partial last record ignored (${e.completeRecords ?? 0} complete records): ${e.message}`,
    log: file,
    offset: e.offset,
  });
  return undefined;
}

function replayJson(
  formats: readonly string[],
  r: ReplayResult,
  warnings: readonly LogWarning[],
): Record<string, unknown> {
  const registers: Record<string, Record<string, string>> = {};
  for (const [reg, banks] of r.registers) {
    const b: Record<string, string> = {};
    for (const [alg, v] of banks) b[alg] = toHex(v);
    registers[reg] = b;
  }
  return {
    format: formats.join('+'),
    events: r.events,
    extended: r.extended,
    registers,
    anchors: Object.fromEntries(r.anchors),
    warnings: warnings.map((w) => ({ ...w })),
  };
}

async function replayFiles(
  files: readonly string[],
  opts: ReplayCliOptions,
): Promise<Record<string, unknown>> {
  const printer = logWarningPrinter({ silent: opts.json === true || opts.quiet === true });
  const onWarning = printer.onWarning;
  const expectFile = opts.expect === undefined ? undefined : readExpectFile(opts.expect);
  const expect = expectFile?.values;
  const early: LogWarning[] = [];
  if (expectFile?.evidence?.verified === false) {
    // The values are still compared (a replay check), but nothing vouched for them.
    early.push({
      code: 'EXPECT_UNVERIFIED',
      message: `${opts.expect ?? ''}: the ${expectFile.evidence.kind} evidence was not verified (verified: false); the register values it reports prove nothing`,
    });
    onWarning(early[0]!);
  }
  // One bar per file, drawn when that file's first bytes are read (files are read in order).
  const bars: ByteProgress[] = [];
  const sources: ReplayLogSource[] = [];
  for (const path of files) {
    const size = await logFileSize(path);
    let bar: ByteProgress | undefined;
    sources.push({
      path,
      open: {
        onProgress: (n) => {
          if (bar === undefined) bars.push((bar = byteProgress(path, size)));
          bar.onProgress?.(n);
        },
      },
      onRead: () => bar?.finish(),
    });
  }
  try {
    const r = await replayLogs(sources, {
      ...openOptions(opts, onWarning),
      ...(expect === undefined ? {} : { expect }),
      // Evidence reports every register; a log explains some (as evidence verify --eventlog).
      ...(expectFile?.evidence === undefined ? {} : { expectScope: 'extended' as const }),
      ...(opts.workaround === undefined ? {} : { workarounds: [opts.workaround] }),
      allowPartialTail: opts.allowPartialTail === true,
    });
    const j = {
      ...replayJson(r.formats, r, [...early, ...r.warnings]),
      ...(expect === undefined
        ? {}
        : { expect: { matched: matchedExpect(expect, r.registers, expectFile?.evidence) } }),
    };
    return r.workarounds.length === 0
      ? j
      : {
          ...j,
          workarounds: r.workarounds.map((w) => ({
            id: w.id,
            register: w.register,
            events: w.actions,
          })),
        };
  } finally {
    for (const bar of bars) bar.abort();
    printer.finish();
  }
}

/** `NAME:ALG` of each expected value replay compared (all matched: a mismatch throws). */
function matchedExpect(
  expect: ExpectedValues,
  replayed: ReplayResult['registers'],
  evidence: ExpectFile['evidence'],
): string[] {
  const out: string[] = [];
  for (const [reg, banks] of expect) {
    for (const alg of banks.keys()) {
      // From evidence only the registers and banks the logs extend were compared.
      if (evidence === undefined || replayed.get(reg)?.has(alg) === true) out.push(`${reg}:${alg}`);
    }
  }
  return out;
}

function printReplayHuman(file: string, j: Record<string, unknown>): void {
  const regs = j['registers'] as Record<string, Record<string, string>>;
  const anchors = j['anchors'] as Record<string, string>;
  const rows: string[][] = [];
  for (const [reg, banks] of Object.entries(regs)) {
    for (const [alg, hex] of Object.entries(banks)) rows.push([reg, alg, hex, anchors[reg] ?? '']);
  }
  process.stdout.write(
    `${file}: ${String(j['format'])}, ${String(j['events'])} records, ${String(j['extended'])} extended\n`,
  );
  printTable(['register', 'alg', 'value', 'anchor'], rows);
  const expect = j['expect'] as { matched: string[] } | undefined;
  if (expect !== undefined)
    process.stdout.write(`expected values matched: ${expect.matched.join(', ')}\n`);
}

/** `--verify-sig`: the ima-sig signatures of the IMA entries in `files`, as evmctl checks them. */
async function signaturesOf(
  files: readonly string[],
  opts: ReplayCliOptions,
  keys: readonly ImaSigningKey[],
): Promise<ImaSignatureReport> {
  const all: ImaSignatureReport = { signed: 0, verified: 0, unsigned: 0, failures: [] };
  for (const f of files) {
    // A second read of the file: replay keeps no events (its memory is constant in their number).
    const log = await openLogFile(
      f,
      openOptions({ ...opts, quiet: true }, () => undefined),
    );
    const { checkImaListSignatures } = await import('../../verifier/verify/ima_signature.js');
    const r = await checkImaListSignatures(log.events, keys);
    Object.assign(all, {
      signed: all.signed + r.signed,
      verified: all.verified + r.verified,
      unsigned: all.unsigned + r.unsigned,
    });
    all.failures.push(...r.failures);
  }
  return all;
}

function printSignaturesHuman(r: ImaSignatureReport): void {
  process.stdout.write(
    `signatures: ${String(r.verified)} of ${String(r.signed)} signed entries verified (${String(r.unsigned)} unsigned)\n`,
  );
  for (const f of r.failures) {
    process.stdout.write(
      `${printable(f.path)}: verification failed: ${f.reason ?? f.status} (record ${String(f.index)})\n`,
    );
  }
}

async function replayCommand(files: string[], opts: ReplayCliOptions): Promise<number> {
  if (files.length === 0) throw new UsageError('ERR_USAGE', 'log replay needs at least one file');
  if (opts.expect === '-' && files.includes('-'))
    throw new UsageError('ERR_USAGE', 'stdin (-) is either a log or --expect, not both');
  let keys: ImaSigningKey[] | undefined;
  if (opts.verifySig === true) {
    if ((opts.imaKey ?? []).length === 0) {
      throw new UsageError('ERR_USAGE', '--verify-sig needs at least one --ima-key CERT');
    }
    const { imaSigningKeysOf } = await import('../../verifier/verify/ima_signature.js');
    keys = (opts.imaKey ?? []).flatMap((k) => imaSigningKeysOf(readInput(k), k));
  } else if (opts.imaKey !== undefined) {
    throw new UsageError('ERR_USAGE', '--ima-key is for --verify-sig');
  }
  if (opts.combine === true || files.length === 1) {
    const j = await replayFiles(files, opts);
    const sigs = keys === undefined ? undefined : await signaturesOf(files, opts, keys);
    if (opts.json === true) printJson(sigs === undefined ? j : { ...j, signatures: sigs });
    else {
      printReplayHuman(files.join(' + '), j);
      if (sigs !== undefined) printSignaturesHuman(sigs);
    }
    return sigs !== undefined && sigs.failures.length > 0 ? 1 : 0;
  }
  if (opts.expect !== undefined) {
    throw new UsageError(
      'ERR_USAGE',
      '--expect with several files needs --combine (or one file per run)',
    );
  }
  const logs: Record<string, unknown>[] = [];
  let failed = false;
  for (const f of files) {
    const j = await replayFiles([f], opts);
    const sigs = keys === undefined ? undefined : await signaturesOf([f], opts, keys);
    if (sigs !== undefined && sigs.failures.length > 0) failed = true;
    logs.push({ log: f, ...j, ...(sigs === undefined ? {} : { signatures: sigs }) });
    if (opts.json !== true) {
      printReplayHuman(f, j);
      if (sigs !== undefined) printSignaturesHuman(sigs);
    }
  }
  if (opts.json === true) printJson({ logs });
  return failed ? 1 : 0;
}

/** `log boot-aggregate`: IMA's boot_aggregate from a TCG log, as `evmctl ima_boot_aggregate`. */
async function bootAggregateCommand(
  file: string,
  opts: { readonly alg?: string; readonly json?: boolean; readonly quiet?: boolean },
): Promise<number> {
  const printer = logWarningPrinter({ silent: opts.json === true || opts.quiet === true });
  let r;
  try {
    r = await replayLogs([file], { onWarning: printer.onWarning });
  } finally {
    printer.finish();
  }
  if (r.formats[0] !== 'tcg2') {
    throw new UsageError(
      'ERR_USAGE',
      `boot-aggregate needs a TCG PC Client log, not ${r.formats[0] ?? '?'}`,
    );
  }
  const banks = new Set<HashAlg>();
  for (const m of r.registers.values()) for (const a of m.keys()) banks.add(a);
  // Default: the strongest of the banks IMA templates use (sha256 before sha1), as the log has.
  const alg =
    opts.alg !== undefined
      ? parseHashAlg(opts.alg, '--alg')
      : banks.has('sha256') || !banks.has('sha1')
        ? 'sha256'
        : 'sha1';
  const b = bootAggregateOfReplay(r, alg);
  if (opts.json === true) {
    printJson({
      alg: b.alg,
      boot_aggregate: toHex(b.digest),
      pcrs: Object.fromEntries([...b.pcrs].map(([i, v]) => [`pcr${String(i)}`, toHex(v)])),
    });
  } else process.stdout.write(`${b.alg}:${toHex(b.digest)}\n`);
  return 0;
}

async function convertCommand(file: string, opts: ConvertCliOptions): Promise<number> {
  const target = getLogFormat(opts.to);
  if (target.encode === undefined) {
    throw new MrstackError('ERR_UNSUPPORTED', `format ${target.id} cannot be written`);
  }
  if (opts.json === true && opts.out === undefined) {
    throw new UsageError('ERR_USAGE', 'log convert --json needs --out FILE');
  }
  const warnings: LogWarning[] = [];
  const log = await openLogFile(
    file,
    openOptions(opts, (w) => warnings.push(w)),
  );
  let events = 0;
  const counted = (async function* () {
    for await (const e of log.events) {
      events++;
      yield e;
    }
  })();
  const out = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
  let bytes = 0;
  try {
    for await (const chunk of target.encode(counted)) {
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } catch (e) {
    if (opts.out !== undefined) out.destroy();
    throw e;
  }
  if (opts.out !== undefined) {
    const ws = out as ReturnType<typeof createWriteStream>;
    ws.end();
    try {
      await once(ws, 'finish');
    } catch (e) {
      throw fromErrno(e, opts.out);
    }
  }
  if (opts.json === true) {
    printJson({ from: log.format.id, to: target.id, out: opts.out, events, bytes });
  }
  return 0;
}

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

function formatOption(): Option {
  return new Option('--format <format>', 'log format (default: detect)').default(undefined);
}

function pcrMapOption(): Option {
  return new Option(
    '--pcr-map <map>',
    'read PCR-indexed logs as CC MRs: uefi (PCR0->MRTD, 1,7->RTMR0, 2-6->RTMR1, 8-15->RTMR2) or coco (also PCR>=16->RTMR3)',
  ).choices([...PCR_MAP_NAMES]);
}

function imaBankOptions(cmd: Command): Command {
  return cmd
    .option(
      '--ima-banks <algs>',
      'IMA lists: also replay these banks (comma-separated, e.g. sha1,sha256)',
      (v: string) => v.split(',').map((a) => parseHashAlg(a.trim(), '--ima-banks')),
    )
    .addOption(
      new Option(
        '--ima-bank-mode <mode>',
        'how the kernel extended the other banks: per-bank (Linux >= 5.11) or padded (older: zero-padded SHA-1)',
      ).choices(['per-bank', 'padded']),
    );
}

/** Registers `mrstack log …`. */
export function registerLog(program: Command): Command {
  const ids = (): string => ['auto', ...logFormats().map((f) => f.id)].join('|');
  const log = program.command('log').description('parse, replay and convert event logs');
  log
    .command('parse')
    .description(`print a log's events (formats: ${ids()})`)
    .argument('<file>', 'the log (- for stdin)')
    .addOption(formatOption())
    .option(
      '--acpi-table <file>',
      'the CCEL ACPI table of a CCEL log (checks LAML against the log size)',
    )
    .addOption(pcrMapOption())
    .option('--register <name>', 'register of logs that do not name one (AAEL: default rtmr3)')
    .option('--wide', 'full digests and data (no truncation to the terminal width)')
    .option(
      '--allow-partial-tail',
      'list the complete records of a log cut inside its last record (a warning, exit 0)',
    )
    .option('--quiet', 'no warnings on stderr (--json still lists them)')
    .option('--json', 'JSON output')
    .action(action(parseCommand));
  const replay = log
    .command('replay')
    .description('replay logs to register values, per register and bank')
    .argument('<file...>', 'one or more logs')
    .addOption(formatOption())
    .option('--combine', 'replay the files in order into the same registers')
    .option(
      '--expect <file>',
      'expected values (- for stdin): {"<mr>":{"<alg>":"<hex>"}}, or what evidence verify --json prints (then only the registers the logs extend); exit 1 on mismatch',
    )
    .option(
      '--allow-partial-tail',
      'replay the complete records of a log cut inside its last record',
    )
    .addOption(
      new Option(
        '--workaround <name>',
        'with --expect: allow a known firmware logging bug to explain a missed register; ebs = PCR5 ExitBootServices actions extended but not logged',
      ).choices(WORKAROUND_FAMILIES),
    )
    .addOption(pcrMapOption())
    .option('--register <name>', 'register of logs that do not name one (AAEL: default rtmr3)')
    .option(
      '--verify-sig',
      'IMA lists: check ima-sig signatures with the --ima-key keys, as evmctl ima_measurement --verify-sig; exit 1 if one fails',
    )
    .option(
      '--ima-key <file>',
      'a certificate (DER or PEM) or PEM public key whose key id signatures name (repeatable)',
      collect,
    )
    .option('--quiet', 'no warnings on stderr (--json still lists them)')
    .option('--json', 'JSON output');
  imaBankOptions(replay).action(action(replayCommand));
  log
    .command('boot-aggregate')
    .description(
      "IMA's boot_aggregate from a TCG log (PCR0-7 for sha1, PCR0-9 otherwise), as evmctl ima_boot_aggregate",
    )
    .argument('<file>', 'the TCG PC Client log (binary_bios_measurements)')
    .option('--alg <alg>', 'the bank: sha1, sha256 … (default: sha256 when the log has it)')
    .option('--quiet', 'no warnings on stderr')
    .option('--json', 'JSON output: {"alg","boot_aggregate","pcrs":{"pcrN":"<hex>"}}')
    .action(action(bootAggregateCommand));
  log
    .command('convert')
    .description('convert a log to another format where that is lossless')
    .argument('<file>', 'the log (- for stdin)')
    .requiredOption('--to <format>', 'target format')
    .addOption(formatOption())
    .option('--out <file>', 'write here (default stdout)')
    .option('--json', 'print a JSON summary (needs --out)')
    .action(action(convertCommand));
  return program;
}
