/**
 * The chunk-to-record shape shared by the binary log readers (CEL-TLV, IMA binary): feed chunks,
 * take the records now complete, and at the end either nothing is left or the cut final record
 * is an `ERR_TRUNCATED` (or, with `partialTail: 'stop'`, recorded and dropped). Memory is one
 * record (the caller's `maxRecordSize`) plus the chunk, held in the one carry buffer of the
 * framers ({@link ByteQueue}); the unfinished tail is copied, so a producer may reuse its chunk
 * buffer. Each format supplies how to read one record and how to
 * name the field a cut record ended in.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ParseError, type FormatId } from '../../errors.js';
import { ByteQueue } from './byte_queue.js';

/** Where a record cut short by the end of input began and how many bytes it had. */
export interface PartialTail {
  readonly offset: number;
  readonly bytes: number;
}

/** What the truncation error says about the cut record. */
export interface TailDescription {
  readonly field: string;
  readonly expected?: string;
  readonly actual?: string;
}

/** A streaming reader of one binary record format. */
export abstract class RecordReader<T> {
  readonly #format: FormatId;
  readonly #stopAtPartialTail: boolean;
  #started = false;
  readonly #queue = new ByteQueue();
  #count = 0;
  #partialTail: PartialTail | undefined;

  /** `partialTail`: `error` (default) throws at a cut final record; `stop` records it. */
  protected constructor(format: FormatId, partialTail: 'error' | 'stop' | undefined) {
    this.#format = format;
    this.#stopAtPartialTail = partialTail === 'stop';
  }

  /**
   * Looks at the first bytes before any record is read (a format that detects its layout).
   * Throws a ParseError with `incomplete` when it needs more bytes.
   */
  protected start?(buf: Uint8Array): void;

  /** Reads one record; throws a ParseError with `incomplete` when the bytes end inside it. */
  protected abstract readRecord(r: ByteReader, index: number): T;

  /**
   * Whether an `incomplete` error for the record at `pos` means "wait for more bytes" (true when
   * absent); false makes it stand (a nested length that overruns is corruption).
   */
  protected waitsForMore?(buf: Uint8Array, pos: number): boolean;

  /**
   * Whether the record at `pos` is whole in `buf` (optional, a fast path): false waits for more
   * bytes without calling `readRecord`; true (or absent) reads it, and `readRecord` reports any
   * error, truncation included.
   */
  protected complete?(buf: Uint8Array, pos: number): boolean;

  /** Names what the cut final record `tail` (at absolute `origin`) was missing. */
  protected abstract describeTail(tail: Uint8Array, origin: number, index: number): TailDescription;

  /** Complete records returned so far. */
  get count(): number {
    return this.#count;
  }

  /** With `partialTail: 'stop'`: where the cut record began and how many bytes it had. */
  get partialTail(): PartialTail | undefined {
    return this.#partialTail;
  }

  /** Adds a chunk and returns every record now complete. */
  push(chunk: Uint8Array): T[] {
    const out: T[] = [];
    this.pushEach(chunk, (t) => out.push(t));
    return out;
  }

  /**
   * Adds a chunk and hands every record now complete to `sink`, in order, without collecting
   * them (a reader that reuses one record object per call needs this form).
   */
  pushEach(chunk: Uint8Array, sink: (record: T) => void): void {
    const q = this.#queue;
    q.append(chunk);
    const buf = q.view();
    if (!this.#started) {
      try {
        this.start?.(buf);
      } catch (e) {
        if (e instanceof ParseError && e.incomplete) {
          q.own();
          return;
        }
        throw e;
      }
      this.#started = true;
    }
    const r = new ByteReader(buf, { format: this.#format, origin: q.offset });
    let pos = 0;
    try {
      while (r.remaining > 0) {
        if (this.complete !== undefined && !this.complete(buf, pos)) break;
        let t: T;
        try {
          t = this.readRecord(r, this.#count);
        } catch (e) {
          if (e instanceof ParseError && e.incomplete && (this.waitsForMore?.(buf, pos) ?? true))
            break;
          throw e;
        }
        this.#count++;
        pos = r.position;
        sink(t);
      }
    } finally {
      q.consume(pos);
      q.own();
    }
  }

  /**
   * Ends the input. A remaining partial record is `ERR_TRUNCATED` with the number of complete
   * records (or, with `partialTail: 'stop'`, recorded in {@link partialTail}).
   * @throws ParseError `ERR_TRUNCATED`
   */
  end(): void {
    const q = this.#queue;
    if (q.length === 0) return;
    const at = q.offset;
    if (this.#stopAtPartialTail) {
      this.#partialTail = { offset: at, bytes: q.length };
      return;
    }
    const d = this.describeTail(q.view(), at, this.#count);
    throw new ParseError({
      code: 'ERR_TRUNCATED',
      format: this.#format,
      offset: at,
      field: d.field,
      ...(d.expected === undefined ? {} : { expected: d.expected }),
      ...(d.actual === undefined ? {} : { actual: d.actual }),
      record: this.#count,
      incomplete: true,
      completeRecords: this.#count,
    });
  }
}

/** Every record of an input held in memory. */
export function readAllRecords<T>(rd: RecordReader<T>, buf: Uint8Array): T[] {
  const out = buf.length === 0 ? [] : rd.push(buf);
  rd.end();
  return out;
}

/** Records from a stream of chunks, in constant memory. */
export async function* streamRecords<T>(
  rd: RecordReader<T>,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<T, void, undefined> {
  for await (const c of chunks) yield* rd.push(c);
  rd.end();
}
