/**
 * The `tpm` evidence kind's front: a bare TPMS_ATTEST (with `--signature`, `--ak` … or an
 * envelope's parts) goes to the quote verifier; a go-tpm-tools `attestation.pb`
 * ({@link decodeGoTpmAttestation}) is verified quote by quote with the same code, its `ak_pub`
 * as the evidence's AK public (never pinned), its AK certificate and intermediates as
 * certificates — so its AK is trusted only as any TPM AK is (docs/trust.md): pinned with `--ak`,
 * or through the AK certificate to a `--trust-anchor`.
 *
 * Every quote must verify; checks are named per bank (`sha256.quote_signature`,
 * `sha256.pcr_digest`, `sha256.nonce`), and `ak_trust` / `ak_attributes` once. The event log
 * (a TCG crypto-agile log) is replayed with the one replay engine of `src/eventlog/`, and every
 * PCR it extends must equal the value each quote reports in that bank (`sha256.event_log`): a
 * difference is `ERR_REPLAY_MISMATCH` naming the PCR, the bank and the last record extended into
 * it, as go-tpm-tools' own verifier refuses such an attestation. PCRs the log never extends are
 * not compared; a bank the log carries no digests for is an optional skip.
 *
 * @module
 */
import {
  decodeGoTpmAttestation,
  looksGoTpmAttestation,
  type GoTpmAttestation,
} from '../../formats/tpm2/gotpm_attestation.js';
import { toHex } from '../../bytes/hex.js';
import { MrstackError, ParseError } from '../../errors.js';
import { bytesInput } from '../../formats/stream/framer.js';
import { openLogStream } from '../../eventlog/log_source.js';
import { Replay, compareRegisters, type ReplayResult } from '../../eventlog/replay.js';
import {
  ResultBuilder,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import { TPM_QUOTE_VERIFIER, verifyTpmEvidence } from './tpm_quote.js';

/** Checks made once for the whole attestation (the AK is one). */
const SHARED_CHECKS = new Set(['ak_trust', 'ak_attributes']);

function pcrJson(a: GoTpmAttestation['quotes'][number]): Uint8Array {
  const bank: Record<string, string> = {};
  for (const [i, v] of a.pcrs) bank[String(i)] = Buffer.from(v).toString('hex');
  return new Uint8Array(Buffer.from(JSON.stringify({ [a.bank]: bank })));
}

/** The replayed event log: values, and the last record that extended each register. */
interface ReplayedLog {
  readonly result: ReplayResult;
  readonly last: ReadonlyMap<string, number>;
}

/**
 * Replays the attestation's event log (TCG2).
 * @throws ParseError for a malformed log (malformed input); ReplayError `ERR_LOG_GAP`
 */
async function replayEventLog(log: Uint8Array): Promise<ReplayedLog> {
  const opened = await openLogStream(bytesInput(log), {
    format: 'tcg2',
    logName: 'attestation.event_log',
  });
  const replay = new Replay();
  const last = new Map<string, number>();
  for await (const e of opened.events) {
    replay.add(e);
    if (e.extend && e.register !== undefined) last.set(e.register, e.index);
  }
  return { result: replay.result(), last };
}

/** Compares the replayed PCRs of one bank with what a quote reports; one check per bank. */
function checkEventLog(
  out: ResultBuilder,
  q: GoTpmAttestation['quotes'][number],
  log: ReplayedLog,
): string[] {
  const check = `${q.bank}.event_log`;
  const compared: string[] = [];
  const registers = [...log.result.registers.keys()].sort(compareRegisters);
  for (const register of registers) {
    const replayed = log.result.registers.get(register)?.get(q.bank);
    const m = /^pcr(\d+)$/.exec(register);
    const quoted = m === null ? undefined : q.pcrs.get(Number(m[1]));
    if (replayed === undefined || quoted === undefined) continue;
    compared.push(register);
    if (toHex(replayed) === toHex(quoted)) continue;
    const record = log.last.get(register);
    out.fail(
      check,
      'ERR_REPLAY_MISMATCH',
      `the event log replays ${register} (${q.bank}) to ${toHex(replayed).slice(0, 16)}…, the quote reports ${toHex(quoted).slice(0, 16)}…; last record extended into it: ${record === undefined ? '?' : String(record)}`,
      {
        register,
        alg: q.bank,
        replayed: toHex(replayed),
        quoted: toHex(quoted),
        ...(record === undefined ? {} : { record }),
      },
    );
  }
  if (compared.length === 0)
    out.optional(check, `the event log extends no PCR this ${q.bank} quote reports`);
  else if (out.checks[check] !== 'failed') out.ok(check);
  return compared;
}

/** Verifies every quote of a go-tpm-tools attestation and replays its event log; one result. */
export async function verifyGoTpmAttestation(
  data: Uint8Array,
  opts: ResolvedVerifyOptions,
): Promise<EvidenceResult> {
  const att = decodeGoTpmAttestation(data);
  const out = new ResultBuilder('tpm', opts.at, opts.policy);
  const quotes: Record<string, unknown> = {};
  let first = true;
  for (const q of att.quotes) {
    const r = verifyTpmEvidence(q.attest, {
      ...opts,
      certs: [
        ...(opts.certs ?? []),
        ...(att.akCert === undefined ? [] : [att.akCert]),
        ...att.intermediates,
      ],
      parts: { signature: q.signature, ak_public: att.akPublic, pcr_values: pcrJson(q) },
    });
    const name = (c: string): string => (SHARED_CHECKS.has(c) ? c : `${q.bank}.${c}`);
    const { ak_trust: akTrust, ...claims } = r.claims;
    quotes[q.bank] = claims;
    if (first) {
      out.trust = r.trust;
      if (akTrust !== undefined) out.claims['ak_trust'] = akTrust;
    }
    for (const e of r.errors) {
      const check = typeof e['check'] === 'string' ? e['check'] : 'quote_signature';
      if (!first && SHARED_CHECKS.has(check)) continue; // the same AK: reported once
      if (e.code === 'ERR_CHECK_SKIPPED') out.skip(name(check), r.skipped[check] ?? e.message);
      else out.fail(name(check), e.code, e.message, { ...e, check: name(check) });
    }
    for (const [check, outcome] of Object.entries(r.checks)) {
      if (!first && SHARED_CHECKS.has(check)) continue;
      if (outcome === 'ok') out.ok(name(check));
      else if (outcome === 'skipped' && out.checks[name(check)] === undefined)
        out.optional(name(check), r.skipped[check] ?? 'skipped');
    }
    out.relaxedBy(r.relaxed);
    for (const w of r.warnings)
      if (first || !w.startsWith('AK ')) out.warnings.push(`${q.bank}: ${w}`);
    first = false;
  }
  let eventLog: Record<string, unknown> | undefined;
  if (att.eventLog !== undefined) {
    eventLog = { bytes: att.eventLog.length };
    let log: ReplayedLog | undefined;
    try {
      log = await replayEventLog(att.eventLog);
    } catch (e) {
      // A malformed log is malformed input; a log that does not replay (a gap) fails the check.
      if (e instanceof ParseError || !(e instanceof MrstackError)) throw e;
      for (const q of att.quotes) out.failWith(`${q.bank}.event_log`, e);
    }
    if (log !== undefined) {
      const replayed: Record<string, string[]> = {};
      for (const q of att.quotes) replayed[q.bank] = checkEventLog(out, q, log);
      eventLog = { ...eventLog, records: log.result.events, compared: replayed };
    }
  }
  out.claims = {
    format: 'go-tpm-tools attestation',
    ...out.claims,
    quotes,
    ...(eventLog === undefined ? {} : { event_log: eventLog }),
  };
  return out.build();
}

/** The `tpm` entry of the dispatch table: TPMS_ATTEST, or a go-tpm-tools attestation. */
export const TPM_EVIDENCE_VERIFIER: EvidenceVerifier = {
  detect: (d) => TPM_QUOTE_VERIFIER.detect(d) || looksGoTpmAttestation(d),
  show(data, limits): EvidenceShowResult {
    if (TPM_QUOTE_VERIFIER.detect(data)) return TPM_QUOTE_VERIFIER.show(data, limits);
    const att = decodeGoTpmAttestation(data);
    const quotes: Record<string, unknown> = {};
    for (const q of att.quotes) quotes[q.bank] = TPM_QUOTE_VERIFIER.show(q.attest, limits).claims;
    return {
      kind: 'tpm',
      claims: {
        format: 'go-tpm-tools attestation',
        ak_public: att.akPublic,
        quotes,
        ...(att.akCert === undefined ? {} : { ak_cert: att.akCert }),
        intermediate_certs: att.intermediates.length,
        ...(att.eventLog === undefined ? {} : { event_log_bytes: att.eventLog.length }),
      },
      warnings: [],
    };
  },
  verify(data, opts): Promise<EvidenceResult> {
    if (TPM_QUOTE_VERIFIER.detect(data)) return TPM_QUOTE_VERIFIER.verify(data, opts);
    return verifyGoTpmAttestation(data, opts);
  },
};
