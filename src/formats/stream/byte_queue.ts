/**
 * The one carry buffer of every stream framer (binary records, lines, the async look-ahead of
 * the TCG parser): chunks go in, the framer reads the buffered bytes in place and consumes what
 * it framed. A chunk that arrives with nothing buffered is borrowed, not copied; bytes left over
 * (a record cut by the chunk boundary) are copied into an owned buffer that the next chunk is
 * appended to. Memory is what the framer leaves unconsumed plus one chunk.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** A FIFO of bytes with absolute offsets. */
export class ByteQueue {
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #owned = false;
  #offset: number;

  /** @param origin - absolute offset of the first byte that will be appended */
  constructor(origin = 0) {
    this.#offset = origin;
  }

  /** Bytes buffered and not yet consumed. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Absolute offset of the first buffered byte. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * The buffered bytes, in place (a view, valid until the next `append`). Producers must not
   * write to a chunk once appended: it may be borrowed.
   */
  view(n: number = this.length): Uint8Array {
    const k = Math.min(n, this.length);
    if (this.#start === 0 && k === this.#buf.length) return this.#buf;
    return this.#buf.subarray(this.#start, this.#start + k);
  }

  /** Drops the first `n` buffered bytes (at most what is buffered). */
  consume(n: number): void {
    const k = Math.min(n, this.length);
    this.#start += k;
    this.#offset += k;
    if (this.#start === this.#end) {
      // empty: an owned buffer is kept for reuse, a borrowed chunk is let go
      if (!this.#owned) this.#buf = EMPTY;
      this.#start = this.#end = 0;
    }
  }

  /**
   * Copies borrowed bytes still buffered into an owned buffer, for framers whose producers may
   * reuse a chunk's memory once it has been pushed.
   */
  own(): void {
    if (this.#owned || this.length === 0) return;
    this.#buf = this.#buf.slice(this.#start, this.#end);
    this.#owned = true;
    this.#start = 0;
    this.#end = this.#buf.length;
  }

  /** Appends a chunk (borrowed when nothing is buffered, else copied after the rest). */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const live = this.length;
    if (live === 0) {
      this.#buf = chunk;
      this.#owned = false;
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    const need = live + chunk.length;
    if (this.#owned && this.#buf.length >= need) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(Math.max(need, 2 * live, 64 * 1024));
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#owned = true;
    }
    this.#start = 0;
    this.#end = live;
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
