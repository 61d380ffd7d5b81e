/**
 * How `log parse|replay` tell people about log warnings on stderr. Warnings that name a known,
 * harmless deviation (the rules of `docs/eventlog-quirks.md` that change no value the user did
 * not ask for) are counted and shown once, as one line at the end; the others print as they
 * come. `--quiet` prints none. `--json` output lists every warning, whatever is printed.
 *
 * @module
 */
import type { LogWarning } from '../eventlog/log_format.js';
import { printable } from '../bytes/printable.js';

/** Codes of warnings that name a known, harmless deviation (shown once, as a count). */
export const BENIGN_LOG_WARNINGS: ReadonlySet<string> = new Set([
  'TRAILING_PADDING',
  'STARTUP_LOCALITY',
  'HCRTM_PCR0',
  'NO_ACTION_ANYWHERE',
  'PCR_INDEX_NONE',
  'MRTD_NOT_REPLAYED',
  'SPECID_SIZE_OMITS_VENDOR_INFO',
  'ERR_EVENT_DIGEST_MISMATCH',
]);

/** Options of {@link logWarningPrinter}. */
export interface WarningPrinterOptions {
  /** Print nothing (`--quiet`, and `--json`, whose output carries the warnings). */
  readonly silent?: boolean;
  readonly write?: (text: string) => void;
}

/** A warning sink: `onWarning` for the library, `finish` to print the benign counts. */
export interface WarningPrinter {
  readonly onWarning: (w: LogWarning) => void;
  finish(): void;
}

/** One line per warning that matters; benign ones counted per code and printed by `finish`. */
export function logWarningPrinter(opts: WarningPrinterOptions = {}): WarningPrinter {
  const write = opts.write ?? ((t: string) => process.stderr.write(t));
  const counts = new Map<string, number>();
  return {
    onWarning(w: LogWarning): void {
      if (opts.silent === true) return;
      if (BENIGN_LOG_WARNINGS.has(w.code)) counts.set(w.code, (counts.get(w.code) ?? 0) + 1);
      else write(`mrstack: warning: ${w.code}: ${printable(w.message)}\n`);
    },
    finish(): void {
      if (counts.size === 0) return;
      const list = [...counts].map(([c, n]) => (n === 1 ? c : `${c} x${n}`)).join(', ');
      write(
        `mrstack: note: known log quirks (docs/eventlog-quirks.md): ${list}; --json lists each, --quiet hides this\n`,
      );
      counts.clear();
    },
  };
}
