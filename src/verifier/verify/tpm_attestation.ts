/**
 * The `tpm` evidence kind's front: a bare TPMS_ATTEST (with `--signature`, `--ak` … or an
 * envelope's parts) goes to the quote verifier; a go-tpm-tools `attestation.pb`
 * ({@link decodeGoTpmAttestation}) is verified quote by quote with the same code, its `ak_pub`
 * as the evidence's AK public (never pinned), its AK certificate and intermediates as
 * certificates — so its AK is trusted only as any TPM AK is (docs/trust.md): pinned with `--ak`,
 * or through the AK certificate to a `--trust-anchor`.
 *
 * Every quote must verify; checks are named per bank (`sha256.quote_signature`,
 * `sha256.pcr_digest`, `sha256.nonce`), and `ak_trust` / `ak_attributes` once. The event log is
 * carried but not replayed here.
 *
 * @module
 */
import {
  decodeGoTpmAttestation,
  looksGoTpmAttestation,
  type GoTpmAttestation,
} from '../../formats/tpm2/gotpm_attestation.js';
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

/** Verifies every quote of a go-tpm-tools attestation; one result. */
export function verifyGoTpmAttestation(
  data: Uint8Array,
  opts: ResolvedVerifyOptions,
): EvidenceResult {
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
  out.claims = {
    format: 'go-tpm-tools attestation',
    ...out.claims,
    quotes,
    ...(att.eventLog === undefined ? {} : { event_log_bytes: att.eventLog.length }),
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
    return Promise.resolve(verifyGoTpmAttestation(data, opts));
  },
};
