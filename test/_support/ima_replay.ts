/**
 * IMA replay for tests through the code the CLI runs: `replayLogs` (files) or the registry's
 * format + `Replay` (bytes held in memory), never a test-only engine.
 */
import type { HashAlg } from '../../src/crypto/hash_alg.js';
import { toHex } from '../../src/bytes/hex.js';
import { bytesInput } from '../../src/formats/stream/framer.js';
import { openLogStream } from '../../src/eventlog/log_source.js';
import type { LogWarning } from '../../src/eventlog/log_format.js';
import { replay, type ReplayResult } from '../../src/eventlog/replay.js';
import { replayLogs } from '../../src/eventlog/replay_logs.js';

/** Register values as hex, warnings, and the count of template hashes that failed to verify. */
export interface ImaReplayed {
  readonly registers: Record<string, Record<string, string>>;
  readonly events: number;
  readonly digestMismatches: number;
  readonly warnings: readonly LogWarning[];
}

/** Banks and bank rule, as `--ima-banks` / `--ima-bank-mode`. */
export interface ImaReplayOptions {
  readonly imaBanks?: readonly HashAlg[];
  readonly imaBankMode?: 'per-bank' | 'padded';
  readonly allowPartialTail?: boolean;
}

function summary(r: ReplayResult, warnings: readonly LogWarning[]): ImaReplayed {
  const registers: Record<string, Record<string, string>> = {};
  for (const [reg, banks] of r.registers) {
    registers[reg] = Object.fromEntries([...banks].map(([alg, v]) => [alg, toHex(v)]));
  }
  return {
    registers,
    events: r.events,
    digestMismatches: warnings.filter((w) => w.code === 'ERR_EVENT_DIGEST_MISMATCH').length,
    warnings,
  };
}

/** Replays an IMA list file with `replayLogs`, the function behind `mrstack log replay`. */
export async function replayImaFile(
  path: string,
  opts: ImaReplayOptions = {},
): Promise<ImaReplayed> {
  const r = await replayLogs([path], opts);
  return summary(r, r.warnings);
}

/** Replays an IMA list held in memory: format detection, streaming parse, `Replay`. */
export async function replayImaBytes(
  bytes: Uint8Array,
  opts: ImaReplayOptions = {},
): Promise<ImaReplayed> {
  const warnings: LogWarning[] = [];
  const onWarning = (w: LogWarning): void => void warnings.push(w);
  const log = await openLogStream(bytesInput(bytes), { ...opts, onWarning });
  return summary(await replay(log.events, { onWarning }), warnings);
}
