/**
 * The quote route of `mrstack agent attest` (no `--socket`): the attester is a TPM host
 * (`--provider tpm`, with `--ak`) or an emulated TVM. The quote is taken bound to the session's
 * nonce, then the kernel's IMA list (`--ima-log`) is read and sent from the entry the session's
 * `ima_since` names (the whole list when the checkpoint is of another boot, or the list is
 * shorter) in the report envelope's `ima_log`.
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { SessionJson } from '../../verifier/service/client.js';
import { openProviderFromOptions, type ProviderCliOptions } from '../provider_options.js';

/** The `agent attest` options the quote route reads. */
export interface QuoteFlags extends ProviderCliOptions {
  readonly imaLog?: string;
  readonly ak?: string;
  readonly pcrList?: string;
}

/** What the quote route sent of the IMA list (`ima_sent` in the printed result). */
export interface ImaSent {
  readonly since: number;
  readonly bytes: number;
  /** Why the whole list went although the session named an entry. */
  readonly whole?: 'other-boot' | 'shorter-list';
}

/**
 * The quote route: a quote bound to the session's nonce, then the IMA list read (after the
 * quote: the kernel appends an entry before it extends PCR 10) and cut at the session's
 * `ima_since` when it is this boot's. Returns the envelope's bytes.
 */
export async function quoteEvidence(
  o: QuoteFlags,
  session: SessionJson,
  nonce: Uint8Array,
): Promise<{ bytes: Uint8Array; ima?: ImaSent }> {
  const report = await import('./report.js');
  const { parsePcrList } = await import('../../formats/tpm2/pcr_list.js');
  let pcrs: Map<HashAlg, readonly number[]> | undefined;
  if (o.pcrList !== undefined) pcrs = new Map(parsePcrList(o.pcrList).map((b) => [b.alg, b.pcrs]));
  let provider;
  if (o.ak !== undefined) {
    if (o.provider !== 'tpm') throw new UsageError('ERR_USAGE', '--ak goes with --provider tpm');
    const { openTpmProvider } = await import('../../providers/tpm/tpm_provider.js');
    provider = openTpmProvider(
      {
        ...(o.tpmDevice === undefined ? {} : { device: o.tpmDevice }),
        ...(o.swtpm === undefined ? {} : { swtpm: o.swtpm }),
      },
      await report.akOption(o.ak),
    );
  } else provider = await openProviderFromOptions(o, { write: false });
  let raw;
  try {
    raw = await provider.report({ reportData: nonce, ...(pcrs === undefined ? {} : { pcrs }) });
  } finally {
    await provider.close();
  }
  const env = report.reportEnvelope(raw, nonce, undefined, nonce);
  let sent: ImaSent | undefined;
  if (o.imaLog !== undefined) {
    const list = report.readImaList(o.imaLog);
    const hint = session.ima_since?.register === 'pcr10' ? session.ima_since : undefined;
    let whole: ImaSent['whole'];
    if (hint?.boot_id !== undefined && raw.format === 'tpm-quote') {
      // the boot as the verifier counts it: the quote's TPM reset count
      const { parseAttest } = await import('../../formats/tpm2/marshal/attest.js');
      const boot = `tpm-reset:${parseAttest(raw.outblob).clockInfo.resetCount}`;
      if (boot !== hint.boot_id) whole = 'other-boot';
    }
    let ima =
      hint === undefined || whole !== undefined
        ? undefined
        : await report.imaListFrom(list, hint.offset);
    if (hint !== undefined && whole === undefined && ima === undefined) whole = 'shorter-list';
    ima ??= (await report.imaListFrom(list, 0))!;
    sent = { since: ima.since, bytes: ima.data.length, ...(whole === undefined ? {} : { whole }) };
    // the list as bytes after the JSON text (a million entries are ~110 MB)
    const { frameEnvelope } = await import('../../formats/envelope/report_envelope.js');
    return { bytes: frameEnvelope(env, ima), ima: sent };
  }
  return {
    bytes: new TextEncoder().encode(JSON.stringify(env)),
    ...(sent === undefined ? {} : { ima: sent }),
  };
}
