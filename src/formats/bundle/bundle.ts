/**
 * The agent's evidence bundle (schema in `docs/bundle.md`): one JSON document holding a signed
 * report and everything a verifier needs to replay it layer by layer — the binding of the
 * request (nonce, tenant, user data, Merkle proof), the firmware log, the physical register's
 * mrlog from a checkpoint, the tenant's vMR log (or, for the `ima` tenant, the IMA list with the
 * `mr_ima` salt and banks), and each log's position just before and just
 * after the report was taken. mrlog logs are arrays of their text lines; binary data is base64.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ParseError } from '../../errors.js';
import { digestSize, lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { fromHex, toHex } from '../../bytes/hex.js';
import { parseJsonText } from '../json/json_text.js';
import { MR_IMA_SALT_SIZE, mrImaBankAlgs } from '../mrlog/mr_ima_commitment.js';
import { MR_IMA_VMR } from '../mrlog/record.js';

/** The `format` value of a bundle. */
export const BUNDLE_FORMAT = 'mrstack-evidence-bundle';
/** The schema version this code writes and reads. */
export const BUNDLE_VERSION = 1;

/** The report inside a bundle. */
export interface BundleReport {
  /** Evidence kind of the outblob (`tdx`, `snp`, `tpm`, `cca`). */
  readonly kind: string;
  /** Binary format (`tdx-quote`, `snp-report`, `tpm-quote`, `cca-token`). */
  readonly format: string;
  /** configfs-tsm provider name or `tpm`. */
  readonly provider: string;
  readonly emulated: boolean;
  readonly outblob: Uint8Array;
  readonly auxblob?: Uint8Array;
  readonly manifestblob?: Uint8Array;
  readonly parts?: Readonly<Record<string, Uint8Array>>;
}

/** How the request is bound into the report data. */
export interface BundleBinding {
  readonly tenant: string;
  readonly nonce: Uint8Array;
  readonly userData: Uint8Array;
  /** Leaf index among the requests that shared the report. */
  readonly leafIndex: number;
  /** How many requests shared it (1: report data is the binding itself). */
  readonly treeSize: number;
  /** Audit path, leaf to root. */
  readonly proof: readonly Uint8Array[];
}

/** A log window: lines and the positions around the report. */
export interface BundleLogWindow {
  readonly lines: readonly string[];
  /** Number of `lines` written before the report was requested. */
  readonly before: number;
  /** Number of `lines` written when the report had returned (= lines.length). */
  readonly after: number;
}

/** The physical register's log in a bundle. */
export interface BundlePhysicalLog extends BundleLogWindow {
  readonly register: string;
  readonly algs: readonly HashAlg[];
  /** Segment the lines start at (0: the boot's first, starting with BOOT). */
  readonly since: number;
  /** Records extended before the report was requested (≤ before). */
  readonly extendedBefore: number;
}

/**
 * Where a tenant log sent since a position starts (incremental verification): the lines and
 * extended records left out and the vMR's value after them — the attester's word until a
 * verifier compares it with a tenant checkpoint it trusts.
 */
export interface TenantLogStart {
  /** Lines of the whole log left out (`#id` comments included). */
  readonly line: number;
  /** Extended records among them (SALT is 1, TENANT 2): record numbers stay the whole log's. */
  readonly record: number;
  /** The vMR after those records. */
  readonly value: Uint8Array;
}

/** The tenant's vMR log in a bundle. */
export interface BundleTenantLog extends BundleLogWindow {
  readonly vmr: string;
  readonly alg: HashAlg;
  /** Absent: the whole log from SALT; else where the lines start. */
  readonly since?: TenantLogStart;
}

/**
 * The `ima` tenant's log (`mr_ima`, DESIGN §4): the kernel's binary IMA list cut to the entries
 * the last `mr_ima` token of the physical log counts, with the salt and the bank values that
 * token commits to. Only the `ima` bundle carries it (never a bank value in another tenant's).
 */
export interface BundleImaLog {
  /** The reserved vMR (`mr_ima`). */
  readonly vmr: string;
  /**
   * A: the vMR's algorithm — one of the physical register's banks, the one its `mr_ima` tokens
   * name (the agent's strongest bank, or `--vmr-alg`, when the chain began).
   */
  readonly alg: HashAlg;
  /** The boot's 32-byte salt of the commitment. */
  readonly salt: Uint8Array;
  /** Entries in `data` (= the count of the last `mr_ima` token in the physical log). */
  readonly count: number;
  /** The fold's value at `count`, per bank (sha1, sha256, A). */
  readonly banks: ReadonlyMap<HashAlg, Uint8Array>;
  /** The list's format (`ima-binary`). */
  readonly format: 'ima-binary';
  /** The kernel's binary list, entries `since`..count-1, byte-exact as read. */
  readonly data: Uint8Array;
  /**
   * Entries left out before `data` (default 0: the whole list): the agent was asked for the
   * entries after a verifier's trusted IMA checkpoint (incremental verification), whose running
   * value the verifier keeps. Written only when above 0.
   */
  readonly since?: number;
}

/** A firmware log, when the platform exposes one. */
export interface BundleFirmwareLog {
  /** Its format id (`ccel`, `tcg2`). */
  readonly format: string;
  readonly data: Uint8Array;
}

/** A whole bundle. */
export interface EvidenceBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: typeof BUNDLE_VERSION;
  /** When the agent assembled it (ISO-8601, informative). */
  readonly created: string;
  readonly binding: BundleBinding;
  readonly report: BundleReport;
  readonly firmwareLog: BundleFirmwareLog | undefined;
  readonly physicalLog: BundlePhysicalLog;
  /** A tenant's vMR log; absent in the `ima` bundle (exactly one of this and `imaLog`). */
  readonly tenantLog?: BundleTenantLog;
  /** The `ima` tenant's list (exactly one of this and `tenantLog`). */
  readonly imaLog?: BundleImaLog;
}

const b64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** The JSON form (snake_case keys; hex for short binary fields, base64 for blobs). */
export function bundleToJson(b: EvidenceBundle): Record<string, unknown> {
  const r = b.report;
  return {
    format: b.format,
    version: b.version,
    created: b.created,
    binding: {
      tenant: b.binding.tenant,
      nonce: toHex(b.binding.nonce),
      user_data: toHex(b.binding.userData),
      leaf_index: b.binding.leafIndex,
      tree_size: b.binding.treeSize,
      proof: b.binding.proof.map(toHex),
    },
    report: {
      kind: r.kind,
      format: r.format,
      provider: r.provider,
      emulated: r.emulated,
      outblob: b64(r.outblob),
      ...(r.auxblob === undefined ? {} : { auxblob: b64(r.auxblob) }),
      ...(r.manifestblob === undefined ? {} : { manifestblob: b64(r.manifestblob) }),
      ...(r.parts === undefined
        ? {}
        : { parts: Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, b64(v)])) }),
    },
    firmware_log:
      b.firmwareLog === undefined
        ? null
        : { format: b.firmwareLog.format, data: b64(b.firmwareLog.data) },
    physical_log: {
      register: b.physicalLog.register,
      algs: b.physicalLog.algs,
      since: b.physicalLog.since,
      extended_before: b.physicalLog.extendedBefore,
      before: b.physicalLog.before,
      after: b.physicalLog.after,
      lines: b.physicalLog.lines,
    },
    ...(b.tenantLog === undefined
      ? {}
      : {
          tenant_log: {
            vmr: b.tenantLog.vmr,
            alg: b.tenantLog.alg,
            ...(b.tenantLog.since === undefined
              ? {}
              : {
                  since: b.tenantLog.since.line,
                  since_record: b.tenantLog.since.record,
                  since_value: toHex(b.tenantLog.since.value),
                }),
            before: b.tenantLog.before,
            after: b.tenantLog.after,
            lines: b.tenantLog.lines,
          },
        }),
    ...(b.imaLog === undefined
      ? {}
      : {
          ima_log: {
            vmr: b.imaLog.vmr,
            alg: b.imaLog.alg,
            salt: toHex(b.imaLog.salt),
            count: b.imaLog.count,
            banks: Object.fromEntries([...b.imaLog.banks].map(([a, v]) => [a, toHex(v)])),
            format: b.imaLog.format,
            ...(b.imaLog.since === undefined || b.imaLog.since === 0
              ? {}
              : { since: b.imaLog.since }),
            data: b64(b.imaLog.data),
          },
        }),
  };
}

/**
 * Decodes strict base64 in one native pass, or undefined when `s` is not base64. Node's decoder
 * skips characters outside its alphabets and stops at an inner `=`, writing fewer bytes than the
 * length promises, so a count check stands in for a regular expression over the text (a
 * million-entry IMA list is 173 MB of base64: the regex cost half a second); the URL-safe
 * alphabet, which the decoder also takes, is refused by two native searches.
 */
function decodeBase64Strict(s: string, shared: boolean): Uint8Array | undefined {
  let pad = 0;
  while (s.length > pad && s.charCodeAt(s.length - 1 - pad) === 0x3d) pad++;
  // one character left over encodes nothing: a text of that length is not base64 (and Node's
  // decoder, which skips characters outside the alphabet, would give the count of one
  // character fewer, so that one skipped character would go unseen)
  if (pad > 2 || (s.length - pad) % 4 === 1) return undefined;
  const want = Math.floor(((s.length - pad) * 3) / 4);
  if (s.includes('-') || s.includes('_')) return undefined;
  const out = shared ? new Uint8Array(new SharedArrayBuffer(want)) : new Uint8Array(want);
  const written = Buffer.from(out.buffer, 0, want).write(s, 'base64');
  return written === want ? out : undefined;
}

/** Characters of base64 text {@link decodeBase64Slices} decodes at a time (a multiple of 4). */
const B64_SLICE = 1 << 16;

/**
 * {@link decodeBase64Strict} of the text `b[at, end)` (one-byte characters) decoded a slice at a
 * time — no string of the whole text (173 MB for a million IMA entries, each page of it new
 * memory to fault in) — when every slice but the last is whole base64: 4k alphabet characters
 * giving 3k bytes. Undefined otherwise, and the caller decodes the whole text, whose verdict
 * (and, with the same bytes, result) this is whenever it gives one.
 */
function decodeBase64Slices(
  b: Buffer,
  at: number,
  end: number,
  shared: boolean,
): Uint8Array | undefined {
  const n = end - at;
  if (n <= B64_SLICE) return undefined;
  const dash = b.indexOf(0x2d, at);
  const under = b.indexOf(0x5f, at);
  if ((dash >= 0 && dash < end) || (under >= 0 && under < end)) return undefined;
  let pad = 0;
  while (pad < n && b[end - 1 - pad] === 0x3d) pad++;
  if (pad > 2 || (n - pad) % 4 === 1) return undefined;
  const want = Math.floor(((n - pad) * 3) / 4);
  const out = shared ? new Uint8Array(new SharedArrayBuffer(want)) : new Uint8Array(want);
  const w = Buffer.from(out.buffer, 0, want);
  let written = 0;
  for (let p = at; p < end; p += B64_SLICE) {
    const e = Math.min(end, p + B64_SLICE);
    const got = w.write(b.toString('latin1', p, e), written, 'base64');
    // a slice before the last must be whole base64 (a character skipped, a `=`, would end it
    // short): anything else is left to the whole text's decoding
    if (e < end && got !== (3 * B64_SLICE) / 4) return undefined;
    written += got;
  }
  return written === want ? out : undefined;
}

/**
 * A long value taken out of a bundle's JSON text before `JSON.parse` ({@link liftLongValue}):
 * the text holds `placeholder` in its place, and a base64 field decodes it from the input's
 * bytes `[at, end)`.
 */
interface Lifted {
  readonly text: string;
  readonly placeholder: string;
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly end: number;
}

/** Thrown when a lifted value is not read as the base64 it looked like: the text is parsed whole. */
class ParseWhole extends Error {}

class Fields {
  readonly o: Record<string, unknown>;
  readonly path: string;
  readonly lift: Lifted | undefined;
  constructor(o: Record<string, unknown>, path: string, lift?: Lifted) {
    this.o = o;
    this.path = path;
    this.lift = lift;
  }
  err(field: string, expected: string, actual: unknown): ParseError {
    return new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'bundle',
      offset: 0,
      field: `${this.path}${field}`,
      expected,
      actual:
        actual === undefined
          ? 'nothing'
          : typeof actual === 'string'
            ? JSON.stringify(actual.slice(0, 40))
            : typeof actual,
    });
  }
  obj(k: string): Fields {
    const v = this.o[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.err(k, 'an object', v);
    return new Fields(v as Record<string, unknown>, `${this.path}${k}.`, this.lift);
  }
  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== 'string') throw this.err(k, 'a string', v);
    if (v === this.lift?.placeholder) throw new ParseWhole();
    return v;
  }
  int(k: string): number {
    const v = this.o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw this.err(k, 'a non-negative integer', v);
    return v;
  }
  bool(k: string): boolean {
    const v = this.o[k];
    if (typeof v !== 'boolean') throw this.err(k, 'true or false', v);
    return v;
  }
  hex(k: string): Uint8Array {
    return fromHex(this.str(k), `${this.path}${k}`);
  }
  /**
   * Strict base64 (standard alphabet, at most two `=` at the end; unpadded accepted). `shared`:
   * into a SharedArrayBuffer, which worker threads read without a copy (the IMA list).
   */
  b64(k: string, shared = false): Uint8Array {
    const l = this.lift;
    if (l !== undefined && this.o[k] === l.placeholder) {
      // the value's bytes as one-byte characters: the text JSON.parse would give when they are
      // base64 (anything else is not, and the text is parsed whole to say so as before)
      const b = Buffer.from(l.bytes.buffer, l.bytes.byteOffset, l.bytes.byteLength);
      const decoded =
        decodeBase64Slices(b, l.at, l.end, shared) ??
        decodeBase64Strict(b.toString('latin1', l.at, l.end), shared);
      if (decoded === undefined) throw new ParseWhole();
      return decoded;
    }
    const s = this.str(k);
    const out = decodeBase64Strict(s, shared);
    if (out === undefined) throw this.err(k, 'base64', s.length > 64 ? `${s.slice(0, 64)}…` : s);
    return out;
  }
  optB64(k: string): Uint8Array | undefined {
    return this.o[k] === undefined ? undefined : this.b64(k);
  }
  strArray(k: string): string[] {
    const v = this.o[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw this.err(k, 'an array of strings', v);
    return v;
  }
  alg(k: string): HashAlg {
    const s = this.str(k);
    const a = lookupHashAlg(s);
    if (a === undefined) throw this.err(k, 'a hash algorithm', s);
    return a;
  }
}

function window(f: Fields): BundleLogWindow {
  const lines = f.strArray('lines');
  const before = f.int('before');
  const after = f.int('after');
  if (after !== lines.length)
    throw f.err('after', `${lines.length} (the number of lines)`, String(after));
  if (before > after) throw f.err('before', `<= after (${after})`, String(before));
  return { lines, before, after };
}

/**
 * Parses and checks the shape of a bundle (no cryptography).
 * @throws ParseError `ERR_BAD_JSON`, `ERR_BAD_HEX`, `ERR_UNSUPPORTED_VERSION`
 */
export function parseBundle(input: Uint8Array | string): EvidenceBundle {
  const lift = typeof input === 'string' ? undefined : liftLongValue(input);
  if (lift !== undefined) {
    try {
      return parseBundleText(lift.text, lift);
    } catch {
      // a lifted value that is not base64 where it is read, or a bundle that fails: parsed
      // whole, so that its error is the one the whole text gives
    }
  }
  return parseBundleText(
    typeof input === 'string'
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'),
    undefined,
  );
}

/** Values this long or longer are lifted out of a bundle's text ({@link liftLongValue}). */
const LIFT_MIN = 1 << 20;

/**
 * The bundle's text with its longest string value (at least {@link LIFT_MIN} bytes, a member's
 * value, no escapes) replaced by a random placeholder: the IMA list of a million entries is
 * 173 MB of base64 that `JSON.parse` would copy into strings twice; the base64 field that reads
 * it decodes it from these bytes instead. Undefined when there is none (or the text's quotes do
 * not pair up: it is then parsed as it is, and fails there).
 */
function liftLongValue(bytes: Uint8Array): Lifted | undefined {
  if (bytes.length < LIFT_MIN) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let best: { open: number; close: number } | undefined;
  // outside strings, a quote opens one; inside, an unescaped quote closes it
  for (let open = b.indexOf(0x22); open >= 0;) {
    let close = b.indexOf(0x22, open + 1);
    for (;;) {
      if (close < 0) return undefined;
      let bs = 0;
      for (let k = close - 1; b[k] === 0x5c; k--) bs++;
      if (bs % 2 === 0) break;
      close = b.indexOf(0x22, close + 1);
    }
    if (
      close - open - 1 >= LIFT_MIN &&
      (best === undefined || close - open > best.close - best.open)
    )
      best = { open, close };
    open = b.indexOf(0x22, close + 1);
  }
  if (best === undefined) return undefined;
  let k = best.open - 1;
  while (k >= 0 && (b[k] === 0x20 || b[k] === 0x0a || b[k] === 0x0d || b[k] === 0x09)) k--;
  const slash = b.indexOf(0x5c, best.open);
  if (b[k] !== 0x3a || (slash >= 0 && slash < best.close)) return undefined;
  const placeholder = `mrstack-lifted-${randomUUID()}`;
  return {
    text: b.toString('utf8', 0, best.open + 1) + placeholder + b.toString('utf8', best.close),
    placeholder,
    bytes,
    at: best.open + 1,
    end: best.close,
  };
}

function parseBundleText(text: string, lift: Lifted | undefined): EvidenceBundle {
  const j = parseJsonText(text, 'bundle', { format: 'bundle', expected: 'JSON' });
  if (typeof j !== 'object' || j === null || Array.isArray(j)) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'bundle',
      offset: 0,
      field: 'bundle',
      expected: 'an object',
    });
  }
  const f = new Fields(j as Record<string, unknown>, '', lift);
  if (f.str('format') !== BUNDLE_FORMAT) throw f.err('format', BUNDLE_FORMAT, f.o['format']);
  if (f.o['version'] !== BUNDLE_VERSION) {
    throw new ParseError({
      code: 'ERR_UNSUPPORTED_VERSION',
      format: 'bundle',
      offset: 0,
      field: 'version',
      expected: String(BUNDLE_VERSION),
      actual: String(f.o['version']),
    });
  }
  const bf = f.obj('binding');
  const proofRaw = bf.o['proof'];
  if (!Array.isArray(proofRaw) || !proofRaw.every((x) => typeof x === 'string'))
    throw bf.err('proof', 'an array of hex strings', proofRaw);
  const binding: BundleBinding = {
    tenant: bf.str('tenant'),
    nonce: bf.hex('nonce'),
    userData: bf.hex('user_data'),
    leafIndex: bf.int('leaf_index'),
    treeSize: bf.int('tree_size'),
    proof: proofRaw.map((p, i) => fromHex(p, `binding.proof[${i}]`)),
  };
  const rf = f.obj('report');
  let parts: Record<string, Uint8Array> | undefined;
  if (rf.o['parts'] !== undefined) {
    const pf = rf.obj('parts');
    parts = Object.fromEntries(Object.keys(pf.o).map((k) => [k, pf.b64(k)]));
  }
  const aux = rf.optB64('auxblob');
  const man = rf.optB64('manifestblob');
  const report: BundleReport = {
    kind: rf.str('kind'),
    format: rf.str('format'),
    provider: rf.str('provider'),
    emulated: rf.bool('emulated'),
    outblob: rf.b64('outblob'),
    ...(aux === undefined ? {} : { auxblob: aux }),
    ...(man === undefined ? {} : { manifestblob: man }),
    ...(parts === undefined ? {} : { parts }),
  };
  let firmwareLog: BundleFirmwareLog | undefined;
  if (f.o['firmware_log'] !== null && f.o['firmware_log'] !== undefined) {
    const ff = f.obj('firmware_log');
    firmwareLog = { format: ff.str('format'), data: ff.b64('data') };
  }
  const pf = f.obj('physical_log');
  const algsRaw = pf.o['algs'];
  if (!Array.isArray(algsRaw) || algsRaw.length === 0)
    throw pf.err('algs', 'a non-empty array of hash algorithms', algsRaw);
  const algs = algsRaw.map((a, i) => {
    const x = typeof a === 'string' ? lookupHashAlg(a) : undefined;
    if (x === undefined) throw pf.err(`algs[${i}]`, 'a hash algorithm', a);
    return x;
  });
  const pw = window(pf);
  const extendedBefore = pf.int('extended_before');
  if (extendedBefore > pw.before)
    throw pf.err('extended_before', `<= before (${pw.before})`, String(extendedBefore));
  const physicalLog: BundlePhysicalLog = {
    ...pw,
    register: pf.str('register'),
    algs,
    since: pf.int('since'),
    extendedBefore,
  };
  const hasTenant = f.o['tenant_log'] !== undefined;
  const hasIma = f.o['ima_log'] !== undefined;
  if (hasTenant === hasIma) {
    throw f.err(
      hasTenant ? 'ima_log' : 'tenant_log',
      'exactly one of tenant_log and ima_log',
      hasTenant ? 'both' : undefined,
    );
  }
  let tenantLog: BundleTenantLog | undefined;
  if (hasTenant) {
    const tf = f.obj('tenant_log');
    const alg = tf.alg('alg');
    const since = tenantStart(tf, alg);
    tenantLog = {
      ...window(tf),
      vmr: tf.str('vmr'),
      alg,
      ...(since === undefined ? {} : { since }),
    };
  }
  const imaLog = hasIma ? parseImaLog(f.obj('ima_log'), algs) : undefined;
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    created: f.str('created'),
    binding,
    report,
    firmwareLog,
    physicalLog,
    ...(tenantLog === undefined ? {} : { tenantLog }),
    ...(imaLog === undefined ? {} : { imaLog }),
  };
}

/**
 * A tenant log's `since`, `since_record` and `since_value` (all three, or none): records are
 * lines, so `since_record` ≤ `since`; SALT and TENANT are left out of any since-log.
 */
function tenantStart(f: Fields, alg: HashAlg): TenantLogStart | undefined {
  const keys = ['since', 'since_record', 'since_value'] as const;
  const given = keys.filter((k) => f.o[k] !== undefined);
  if (given.length === 0) return undefined;
  const missing = keys.find((k) => f.o[k] === undefined);
  if (missing !== undefined) throw f.err(missing, `beside ${given.join(', ')}`, undefined);
  const line = f.int('since');
  const record = f.int('since_record');
  if (record < 2) throw f.err('since_record', 'at least 2 (SALT and TENANT)', String(record));
  if (record > line) throw f.err('since_record', `<= since (${line})`, String(record));
  const value = f.hex('since_value');
  if (value.length !== digestSize(alg))
    throw f.err('since_value', `${digestSize(alg) * 2} hex digits`, f.str('since_value'));
  return { line, record, value };
}

/**
 * The `ima_log` member: A must be one of the physical register's banks (that it is the bank the
 * `mr_ima` tokens name is the ima layer's check), B's every bank given.
 */
function parseImaLog(f: Fields, registerAlgs: readonly HashAlg[]): BundleImaLog {
  const vmr = f.str('vmr');
  if (vmr !== MR_IMA_VMR) throw f.err('vmr', MR_IMA_VMR, vmr);
  const alg = f.alg('alg');
  if (!registerAlgs.includes(alg))
    throw f.err('alg', `a bank of the physical register (${registerAlgs.join(', ')})`, alg);
  const salt = f.hex('salt');
  if (salt.length !== MR_IMA_SALT_SIZE)
    throw f.err('salt', `${MR_IMA_SALT_SIZE * 2} hex digits`, f.str('salt'));
  const count = f.int('count');
  const format = f.str('format');
  if (format !== 'ima-binary') throw f.err('format', 'ima-binary', format);
  const bf = f.obj('banks');
  const want = mrImaBankAlgs(alg);
  for (const k of Object.keys(bf.o)) {
    if (!(want as readonly string[]).includes(k))
      throw bf.err(k, `only the banks ${want.join(', ')}`, k);
  }
  const banks = new Map<HashAlg, Uint8Array>();
  for (const a of want) {
    const v = bf.hex(a);
    if (v.length !== digestSize(a)) throw bf.err(a, `${digestSize(a) * 2} hex digits`, bf.str(a));
    banks.set(a, v);
  }
  const since = f.o['since'] === undefined ? 0 : f.int('since');
  if (since > count) throw f.err('since', `<= count (${count})`, String(since));
  return {
    vmr,
    alg,
    salt,
    count,
    banks,
    format,
    data: f.b64('data', true),
    ...(since === 0 ? {} : { since }),
  };
}
