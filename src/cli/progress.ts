/**
 * Progress for long reads of a file: a one-line bar on stderr drawn by `cli-progress`, only when
 * stderr is a terminal and the file is large enough for the wait to be felt. Pipes, files and
 * `--json` consumers of stdout never see it; stdout is never written.
 *
 * @module
 */
import cliProgress from 'cli-progress';

/** Files smaller than this finish before a bar would be worth drawing. */
export const PROGRESS_MIN_BYTES: number = 8 * 1024 * 1024;

/** Where a bar is drawn: a writable stream that may be a terminal. */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** Options of {@link byteProgress}. */
export interface ByteProgressOptions {
  /** Default: `process.stderr`. */
  readonly stream?: ProgressStream;
  /** Default: {@link PROGRESS_MIN_BYTES}. */
  readonly minBytes?: number;
  /** False turns the bar off whatever the stream (default true). */
  readonly enabled?: boolean;
}

/** A bar over the bytes of one file, or nothing (then `onProgress` is undefined). */
export interface ByteProgress {
  /** Receives the count of bytes read so far; undefined when no bar is drawn. */
  readonly onProgress: ((bytes: number) => void) | undefined;
  /** The whole file was read: draws 100 % and ends the line. */
  finish(): void;
  /** The read stopped early (an error): ends the line where the bar stands. */
  abort(): void;
}

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

const NONE: ByteProgress = {
  onProgress: undefined,
  finish: () => undefined,
  abort: () => undefined,
};

/**
 * A progress bar for reading `total` bytes of `label`, or a no-op when the stream is not a
 * terminal, the size is unknown (stdin, a pipe) or below `minBytes`.
 */
export function byteProgress(
  label: string,
  total: number | undefined,
  opts: ByteProgressOptions = {},
): ByteProgress {
  const stream = opts.stream ?? process.stderr;
  if (
    opts.enabled === false ||
    stream.isTTY !== true ||
    total === undefined ||
    total < (opts.minBytes ?? PROGRESS_MIN_BYTES)
  )
    return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {done}/{size} MiB | ETA {eta_formatted}`,
      barCompleteChar: '#',
      barIncompleteChar: '.',
      barsize: 30,
      // Redraw at most 5 times a second: a 1 MiB chunk arrives far more often than that.
      fps: 5,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    cliProgress.Presets.legacy,
  );
  let stopped = false;
  bar.start(total, 0, { done: mib(0), size: mib(total) });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    bar.stop();
  };
  return {
    onProgress: (bytes) => {
      if (!stopped) bar.update(Math.min(bytes, total), { done: mib(Math.min(bytes, total)) });
    },
    finish: () => {
      if (!stopped) bar.update(total, { done: mib(total) });
      stop();
    },
    abort: stop,
  };
}
