/**
 * The IMA bridge (DESIGN §4 "The IMA vMR", `docs/mr-ima.md`): follows the kernel's binary IMA
 * list and mirrors each new entry, in order and exactly once, into the reserved vMR `mr_ima`.
 * The list itself is the vMR's log; the physical log gets one token per group commit,
 * `mr_ima=<A>/<C>@<count>`, where C is a salted commitment to the IMA PCR-10 fold of the first
 * `count` entries in every bank (`mrImaCommitment`), so other tenants' bundles reveal no bank.
 *
 * Following: securityfs (and FUSE) raise no inotify event when the list grows, so the bridge
 * polls at a bounded interval; it keeps the file open and reads on from where it stopped (a
 * fresh open and seek would make the kernel format every earlier record again), carrying a
 * record cut by a read into the next one.
 *
 * Crash safety: the mirrored count after a restart is the count of the last `mr_ima` token in
 * the physical log; the bridge refolds the list up to it and checks C. A list that is shorter,
 * or whose prefix no longer gives C (a new boot under an old log directory, tampering), is
 * `ERR_IMA_LIST_CHANGED`: the bridge stops mirroring and the agent records a SYNC; it never
 * mirrors the list again from scratch on its own.
 *
 * @module
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AgentError, MrstackError, ParseError } from '../errors.js';
import { bytesEqual, toHex } from '../bytes/hex.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import type { BundleImaLog } from '../formats/bundle/bundle.js';
import { ImaBinaryReader } from '../formats/ima/ima_binary.js';
import { ImaBankFold } from '../formats/ima/ima_fold.js';
import type { ImaEntry } from '../formats/ima/ima_template.js';
import {
  formatMrlogRecord,
  IMA_TENANT,
  MR_IMA_VMR,
  parseMrlogLine,
  type MrlogVmrValue,
} from '../formats/mrlog/record.js';
import {
  mrImaBankAlgs,
  mrImaCommitment,
  MR_IMA_SALT_SIZE,
} from '../formats/mrlog/mr_ima_commitment.js';
import { writeFileAtomic } from './append_file.js';
import type { ExtendQueue, VmrTokenSource } from './extend_queue.js';
import type { AgentLogger } from './physical_writer.js';

/** Where the kernel publishes the binary list. */
export const DEFAULT_IMA_LOG = '/sys/kernel/security/ima/binary_runtime_measurements';
/** Default polling interval of the list, ms. */
export const DEFAULT_IMA_POLL_MS = 50;
/** Bytes read from the list at once. */
const READ_CHUNK = 1 << 20;
/** Committed tokens remembered for evidence (older ones are refolded on demand). */
const TOKEN_HISTORY = 256;

/** Options of the bridge (`agent start --ima [--ima-log PATH]`). */
export interface ImaBridgeOptions {
  /** The binary list to follow (default {@link DEFAULT_IMA_LOG}). */
  readonly listPath?: string;
  /** Polling interval when the list did not grow, ms (default {@link DEFAULT_IMA_POLL_MS}). */
  readonly pollMs?: number;
}

/** The fold at one token. */
interface TokenState {
  readonly count: number;
  /** Bytes of the list the first `count` entries take. */
  readonly bytes: number;
  /** Bank values in the order of {@link mrImaBankAlgs}. */
  readonly banks: readonly Uint8Array[];
  readonly commitment: Uint8Array;
}

/** Byte length of a (non-legacy) binary record, from its decoded parts. */
function recordBytes(e: ImaEntry): number {
  return 12 + e.templateHash.length + e.templateName.length + e.templateData.length;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The salt file `<log-dir>/tenants/mr_ima.mrlog`: `SALT <hex>`, `TENANT ima mr_ima <created>`. */
function readOrCreateSalt(path: string, now: Date, mayCreate: boolean): Uint8Array | undefined {
  if (fs.existsSync(path)) {
    const lines = fs.readFileSync(path, 'utf8').split('\n');
    const salt = parseMrlogLine(lines[0] ?? '', 1);
    const tenant = parseMrlogLine(lines[1] ?? '', 2);
    if (
      salt.kind !== 'salt' ||
      tenant.kind !== 'tenant' ||
      tenant.name !== IMA_TENANT ||
      tenant.vmr !== MR_IMA_VMR
    ) {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'mrlog',
        offset: 1,
        unit: 'line',
        field: path,
        expected: `SALT <hex> then TENANT ${IMA_TENANT} ${MR_IMA_VMR} <created>`,
      });
    }
    return salt.salt;
  }
  if (!mayCreate) return undefined;
  const salt = new Uint8Array(randomBytes(MR_IMA_SALT_SIZE));
  const created = now.toISOString().replace(/\.[0-9]+Z$/, 'Z');
  writeFileAtomic(
    path,
    `${formatMrlogRecord({ kind: 'salt', salt })}\n${formatMrlogRecord({
      kind: 'tenant',
      name: IMA_TENANT,
      vmr: MR_IMA_VMR,
      created,
    })}\n`,
  );
  return salt;
}

/** The bridge of one agent. Create with {@link ImaBridge.open}. */
export class ImaBridge implements VmrTokenSource {
  readonly listPath: string;
  readonly alg: HashAlg;
  readonly banks: readonly HashAlg[];
  readonly #pollMs: number;
  readonly #log: AgentLogger;
  readonly #salt: Uint8Array;
  readonly #fold: ImaBankFold;
  readonly #reader = new ImaBinaryReader();
  #fd: number | undefined;
  #ino: { dev: number; ino: number } | undefined;
  #sizeTrusted: boolean | undefined;
  /** Everything read from the list, in order (the bundle's data is a prefix of it). */
  readonly #chunks: Buffer[] = [];
  #bytesRead = 0;
  /** Bytes of the entries folded so far. */
  #bytesFolded = 0;
  #readChain: Promise<void> = Promise.resolve();
  #queue: ExtendQueue | undefined;
  #mirror: Promise<number | undefined> | undefined;
  #taken: TokenState | undefined;
  #committed: TokenState;
  readonly #history = new Map<number, TokenState>();
  #failed: MrstackError | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  /** Set while recovery refolds: the token to meet. */
  #expect: { count: number; commitment: Uint8Array } | undefined;
  #onChanged: ((e: AgentError) => void) | undefined;
  #tokens = 0;

  private constructor(
    listPath: string,
    alg: HashAlg,
    salt: Uint8Array,
    pollMs: number,
    log: AgentLogger,
  ) {
    this.listPath = listPath;
    this.alg = alg;
    this.banks = mrImaBankAlgs(alg);
    this.#salt = salt;
    this.#pollMs = pollMs;
    this.#log = log;
    this.#fold = new ImaBankFold(this.banks);
    this.#committed = this.#state(0);
  }

  /**
   * Opens the list and recovers: refolds it up to the count of the last `mr_ima` token (`last`,
   * from the physical log) and checks the token's commitment. `alg` (A) is the bank the chain
   * uses: the last token's for an existing chain, else the agent's choice for new vMRs. A mismatch does not throw: the
   * bridge comes back {@link ImaBridge.failed} with `ERR_IMA_LIST_CHANGED`, for the agent to
   * record (a SYNC) and report.
   * @throws AgentError `ERR_NOT_FOUND`/`ERR_PERMISSION`/`ERR_IO` when the list cannot be opened
   */
  static async open(
    opts: ImaBridgeOptions,
    alg: HashAlg,
    saltPath: string,
    last: MrlogVmrValue | undefined,
    now: Date,
    log: AgentLogger,
  ): Promise<ImaBridge> {
    const listPath = opts.listPath ?? DEFAULT_IMA_LOG;
    const salt = readOrCreateSalt(saltPath, now, last === undefined);
    const b = new ImaBridge(
      listPath,
      alg,
      salt ?? new Uint8Array(MR_IMA_SALT_SIZE),
      opts.pollMs ?? DEFAULT_IMA_POLL_MS,
      log,
    );
    b.#openList();
    if (last !== undefined) {
      const count = last.count ?? 0;
      if (salt === undefined) {
        b.#fail(`the physical log has an ${MR_IMA_VMR} token but ${saltPath} is missing`, {
          count,
        });
        return b;
      }
      if (last.alg !== alg) {
        // the agent keeps the token's bank when the register has it: this one does not
        b.#fail(`the last ${MR_IMA_VMR} token is in ${last.alg}, a bank the register lacks`, {
          count,
        });
        return b;
      }
      b.#expect = { count, commitment: last.value };
      if (count === 0) b.#meet();
      await b.#readAll();
      if (!b.#stopped() && b.#expecting()) {
        b.#fail(
          `the IMA list has ${b.#fold.count} entries, fewer than the ${count} already mirrored`,
          { count, found: b.#fold.count },
        );
      }
    }
    return b;
  }

  #openList(): void {
    try {
      this.#fd = fs.openSync(this.listPath, 'r');
      const st = fs.fstatSync(this.#fd);
      this.#ino = { dev: st.dev, ino: st.ino };
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new AgentError(
        code === 'ENOENT' ? 'ERR_NOT_FOUND' : code === 'EACCES' ? 'ERR_PERMISSION' : 'ERR_IO',
        `cannot open the IMA list ${this.listPath}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, details: { path: this.listPath } },
      );
    }
  }

  #state(count: number): TokenState {
    const banks = this.#fold.values();
    return {
      count,
      bytes: this.#bytesFolded,
      banks,
      commitment: mrImaCommitment({ alg: this.alg, salt: this.#salt, count, banks }),
    };
  }

  /** Recovery reached the token's count: the fold must give its commitment. */
  #meet(): void {
    const want = this.#expect!;
    const s = this.#state(want.count);
    this.#expect = undefined;
    if (!bytesEqual(s.commitment, want.commitment)) {
      this.#fail(
        `the first ${want.count} entries of the IMA list no longer give the mirrored ${MR_IMA_VMR} commitment`,
        { count: want.count },
      );
      return;
    }
    this.#committed = s;
    this.#remember(s);
  }

  #fail(message: string, details: Record<string, unknown>): void {
    if (this.#failed !== undefined) return;
    const e = new AgentError('ERR_IMA_LIST_CHANGED', message, {
      details: { list: this.listPath, ...details },
    });
    this.#failed = e;
    this.#log.error({ err: message, list: this.listPath }, 'IMA bridge stopped');
    this.#onChanged?.(e);
  }

  // methods, not field tests: the checks run after calls and awaits that may change the fields
  #stopped(): boolean {
    return this.#failed !== undefined;
  }
  #active(): boolean {
    return !this.#closed && this.#failed === undefined;
  }
  #expecting(): boolean {
    return this.#expect !== undefined;
  }

  /** The error that stopped the bridge (`ERR_IMA_LIST_CHANGED`, or a refused entry), if any. */
  get failed(): MrstackError | undefined {
    return this.#failed;
  }

  /** Entries folded (read and accepted) so far. */
  get folded(): number {
    return this.#fold.count;
  }

  /** Entries covered by a committed `mr_ima` token. */
  get mirrored(): number {
    return this.#committed.count;
  }

  /** The salt of this boot. */
  get salt(): Uint8Array {
    return this.#salt;
  }

  /**
   * Starts following the list, committing through `queue`; `onChanged` is told when the list is
   * found changed while following (the agent records a SYNC).
   */
  start(queue: ExtendQueue, onChanged?: (e: AgentError) => void): void {
    this.#queue = queue;
    this.#onChanged = onChanged;
    if (this.#failed !== undefined) return;
    this.#loop = this.#follow();
  }

  async #follow(): Promise<void> {
    while (this.#active()) {
      await this.#readAll();
      this.#request();
      if (this.#active()) await sleep(this.#pollMs);
    }
  }

  /** Reads the list to its current end (serialized with every other read). */
  #readAll(): Promise<void> {
    const next = this.#readChain.then(() => this.#readNow());
    this.#readChain = next.catch(() => undefined);
    return next;
  }

  async #readNow(): Promise<void> {
    if (this.#fd === undefined || this.#failed !== undefined) return;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      let n: number;
      try {
        n = await new Promise<number>((resolve, reject) =>
          fs.read(this.#fd!, buf, 0, READ_CHUNK, null, (err, got) =>
            err === null ? resolve(got) : reject(err),
          ),
        );
      } catch (e) {
        this.#failed ??= new AgentError(
          'ERR_IO',
          `reading the IMA list ${this.listPath}: ${String(e)}`,
          {
            cause: e,
          },
        );
        return;
      }
      if (n === 0) break;
      const chunk = n === READ_CHUNK ? buf : Buffer.from(buf.subarray(0, n));
      this.#chunks.push(chunk);
      this.#bytesRead += n;
      if (this.#sizeTrusted === undefined) {
        this.#sizeTrusted = fs.fstatSync(this.#fd).size >= this.#bytesRead;
      }
      this.#take(chunk);
      // let the group commit run while a burst is read (after a refused entry too: the entries
      // before it are mirrored)
      this.#request();
      if (this.#stopped()) return;
    }
    this.#checkReplaced();
  }

  /** Parses and folds a chunk; a refused entry stops the bridge after the entries before it. */
  #take(chunk: Uint8Array): void {
    let entries: ImaEntry[];
    try {
      entries = this.#reader.push(chunk);
    } catch (e) {
      this.#failed ??= e instanceof MrstackError ? e : new AgentError('ERR_INTERNAL', String(e));
      this.#log.error({ err: String(e), list: this.listPath }, 'IMA bridge stopped');
      return;
    }
    for (const e of entries) {
      try {
        this.#fold.push(e);
      } catch (err) {
        this.#failed ??=
          err instanceof MrstackError ? err : new AgentError('ERR_INTERNAL', String(err));
        this.#log.error({ err: String(err), entry: e.index }, 'IMA bridge stopped');
        return;
      }
      this.#bytesFolded += recordBytes(e);
      if (this.#expect !== undefined && this.#fold.count === this.#expect.count) this.#meet();
      if (this.#stopped()) return;
    }
  }

  /** A list replaced under its path (same prefix: follow the new file) or cut short. */
  #checkReplaced(): void {
    if (this.#fd === undefined) return;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.listPath);
    } catch {
      return; // gone for a moment (an atomic replace in progress): look again next poll
    }
    const fst = fs.fstatSync(this.#fd);
    if (st.dev === this.#ino?.dev && st.ino === this.#ino.ino) {
      if (this.#sizeTrusted === true && fst.size < this.#bytesRead) {
        this.#fail(`the IMA list shrank to ${fst.size} bytes below the ${this.#bytesRead} read`, {
          count: this.#committed.count,
        });
      }
      return;
    }
    // another file now: it must start with every byte read so far
    const fd = fs.openSync(this.listPath, 'r');
    const have = Buffer.concat(this.#chunks, this.#bytesRead);
    const again = Buffer.alloc(this.#bytesRead);
    const got = fs.readSync(fd, again, 0, again.length, 0);
    if (got !== again.length || !again.equals(have)) {
      fs.closeSync(fd);
      this.#fail('the IMA list was replaced by one that does not extend the entries read', {
        count: this.#committed.count,
      });
      return;
    }
    fs.closeSync(this.#fd);
    this.#fd = fd;
    this.#ino = { dev: st.dev, ino: st.ino };
  }

  /** Queues one commit when entries wait and none is queued. */
  #request(): void {
    if (this.#queue === undefined || this.#mirror !== undefined) return;
    if (this.#fold.count <= (this.#taken ?? this.#committed).count) return;
    const p = this.#queue.mirror(this);
    this.#mirror = p;
    p.then(
      () => {
        this.#mirror = undefined;
        this.#request();
      },
      (e: unknown) => {
        this.#mirror = undefined;
        this.#failed ??= e instanceof MrstackError ? e : new AgentError('ERR_INTERNAL', String(e));
      },
    );
  }

  /** {@link VmrTokenSource.take}: the token for everything folded so far. */
  take(): MrlogVmrValue | undefined {
    const last = this.#taken ?? this.#committed;
    if (this.#fold.count <= last.count) return undefined;
    const s = this.#state(this.#fold.count);
    this.#taken = s;
    return { name: MR_IMA_VMR, alg: this.alg, value: s.commitment, count: s.count };
  }

  /** {@link VmrTokenSource.committed}. */
  committed(token: MrlogVmrValue): void {
    const s = this.#taken;
    if (s === undefined || s.count !== token.count) return;
    this.#taken = undefined;
    this.#committed = s;
    this.#tokens++;
    this.#remember(s);
  }

  #remember(s: TokenState): void {
    this.#history.set(s.count, s);
    if (this.#history.size > TOKEN_HISTORY) {
      const oldest = this.#history.keys().next().value;
      if (oldest !== undefined) this.#history.delete(oldest);
    }
  }

  /**
   * Mirrors the whole list now: reads it to its end and waits until a committed token covers
   * every entry read (the agent calls this before it takes each report).
   */
  async catchUp(): Promise<void> {
    if (this.#failed !== undefined || this.#closed) return;
    await this.#readAll();
    const target = this.#fold.count;
    while (this.#committed.count < target && !this.#stopped()) {
      this.#request();
      const p = this.#mirror;
      if (p === undefined) break;
      await p.catch(() => undefined);
    }
  }

  /**
   * The `ima_log` of a bundle whose physical log ends with `lines`: the count of the last
   * `mr_ima` token in them, the banks at that count and the list cut to it.
   * @throws AgentError the bridge's failure (`ERR_IMA_LIST_CHANGED` …)
   */
  evidence(lines: readonly string[], since = 0): BundleImaLog {
    if (this.#failed !== undefined) throw this.#failed;
    let tok: MrlogVmrValue | undefined;
    for (let i = lines.length - 1; i >= 0 && tok === undefined; i--) {
      const l = lines[i]!;
      if (!l.startsWith('VMR ') || !l.includes(` ${MR_IMA_VMR}=`)) continue;
      const r = parseMrlogLine(l, i + 1);
      if (r.kind === 'vmr') tok = r.values.find((v) => v.name === MR_IMA_VMR);
    }
    // No token in the window: nothing was mirrored since the physical checkpoint it starts at, so
    // a verifier's IMA checkpoint (`since`) is still the list's count: an empty list from it.
    const count = tok?.count ?? (since <= this.#committed.count ? since : 0);
    const s = this.#history.get(count) ?? this.#refold(count);
    if (tok !== undefined && !bytesEqual(s.commitment, tok.value)) {
      throw new AgentError(
        'ERR_INTERNAL',
        `the ${MR_IMA_VMR} token at count ${count} does not match the list read`,
      );
    }
    if (since > count) {
      throw new AgentError(
        'ERR_NOT_FOUND',
        `no IMA entry ${since} covered yet: the last ${MR_IMA_VMR} token counts ${count}`,
      );
    }
    // entries after a verifier's trusted IMA checkpoint: its offset is a token's count, so the
    // byte position is usually remembered
    const from = since === 0 ? 0 : (this.#history.get(since) ?? this.#refold(since)).bytes;
    const data = this.#bytesBetween(from, s.bytes);
    return {
      vmr: MR_IMA_VMR,
      alg: this.alg,
      salt: this.#salt,
      count,
      banks: new Map(this.banks.map((a, i) => [a, s.banks[i]!])),
      format: 'ima-binary',
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      ...(since === 0 ? {} : { since }),
    };
  }

  /** A copy of the list's bytes [from, to), from the chunks held (only those it spans). */
  #bytesBetween(from: number, to: number): Buffer {
    const out = Buffer.allocUnsafe(to - from);
    let at = 0; // the list offset of the chunk
    let n = 0;
    for (const c of this.#chunks) {
      const end = at + c.length;
      if (end > from && at < to) {
        const a = Math.max(from, at) - at;
        const b = Math.min(to, end) - at;
        out.set(c.subarray(a, b), n);
        n += b - a;
      }
      at = end;
      if (at >= to) break;
    }
    return out.subarray(0, n);
  }

  /** The fold at an older count, from the bytes held. */
  #refold(count: number): TokenState {
    const fold = new ImaBankFold(this.banks);
    const rd = new ImaBinaryReader();
    let bytes = 0;
    for (const c of this.#chunks) {
      for (const e of rd.push(c)) {
        if (fold.count === count) break;
        fold.push(e);
        bytes += recordBytes(e);
      }
      if (fold.count === count) break;
    }
    const banks = fold.values();
    return {
      count,
      bytes,
      banks,
      commitment: mrImaCommitment({ alg: this.alg, salt: this.#salt, count, banks }),
    };
  }

  /** What `agent status --json` shows under `ima`. */
  status(): Record<string, unknown> {
    return {
      tenant: IMA_TENANT,
      vmr: MR_IMA_VMR,
      list: this.listPath,
      alg: this.alg,
      banks: this.banks,
      read_bytes: this.#bytesRead,
      folded: this.#fold.count,
      mirrored: this.#committed.count,
      commitment: toHex(this.#committed.commitment),
      tokens: this.#tokens,
      failed:
        this.#failed === undefined
          ? null
          : { code: this.#failed.code, message: this.#failed.message },
    };
  }

  /** Stops following and closes the list. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loop?.catch(() => undefined);
    await this.#readChain;
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}
