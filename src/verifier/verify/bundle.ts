/**
 * The `bundle` kind of the verification front door: an agent evidence bundle
 * (`docs/bundle.md`). The report inside is verified by its own kind's verifier (same options:
 * `--trust-emulated`, collateral …); then the layers are replayed
 * (`verifier/replay/bundle_replay.ts`): binding, physical register (after replaying the bundle's
 * firmware log, and from a trusted checkpoint when `trustedCheckpoint` is given — an option this
 * module adds to `VerifyEvidenceOptions`), vMR, tenant events — or, for the `ima` tenant's
 * bundle, the IMA list against the `mr_ima` tokens (`verifier/replay/ima_layer.ts`).
 *
 * @module
 */
import { MrstackError, ParseError } from '../../errors.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { parseBundle, type EvidenceBundle } from '../../formats/bundle/bundle.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import {
  replayBundle,
  replayFirmwareLogMemo,
  type TrustedTenantCheckpoint,
} from '../replay/bundle_replay.js';
import { IMA_ENTRY_LIST, imaLayerStart } from '../replay/ima_layer.js';
import type { ImaCheckpoint } from '../replay/ima_checkpoint.js';
import { foldImaSnapshotsParallel, prewarmImaFoldWorkersFor } from '../replay/ima_layer_fold.js';
import { mrImaBankAlgs } from '../../formats/mrlog/mr_ima_commitment.js';
import { MR_IMA_VMR, parseMrlogLine } from '../../formats/mrlog/record.js';
import type { BankValues } from '../../eventlog/mrlog_replay.js';
import {
  ResultBuilder,
  type EvidenceKind,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';

declare module './evidence_result.js' {
  interface VerifyEvidenceOptions {
    /**
     * Bundles: a checkpoint the verifier already trusts (from an earlier attestation): its
     * number and the register value just before its CHECKPOINT record. A physical log served
     * from it anchors as `trusted-checkpoint`.
     */
    readonly trustedCheckpoint?: { readonly seq: number; readonly values: BankValues };
    /**
     * ima bundles: the IMA checkpoint the verifier trusts for this attester (entries verified
     * before, their running value in every bank, learned keys, the boot's salt). A list sent
     * from its offset (`ima_log.since`) is folded from it; a whole list must fold to it.
     */
    readonly trustedImaCheckpoint?: ImaCheckpoint;
    /**
     * Tenant bundles: the tenant checkpoint the verifier trusts for this attester and tenant
     * (`'none'`: it keeps them and holds none), or the ones it trusts by tenant name (offline,
     * `evidence verify --tenant-checkpoint`: the bundle's tenant's is used, none for it is
     * `'none'`). A tenant log sent since a position (`tenant_log.since`) is folded from it;
     * without this option, from the start the bundle asserts, and the `tenant_anchor` check is
     * skipped (`missing-checkpoint`). A whole tenant log needs none (a warning says so).
     */
    readonly trustedTenantCheckpoint?:
      TrustedTenantCheckpoint | 'none' | ReadonlyMap<string, TrustedTenantCheckpoint>;
    /**
     * ima bundles: called with the IMA list's bytes and the index of its first entry once its
     * banks are folding on worker threads, before anything about it is verified — for work on
     * the entries the caller can throw away (appraisal's verdicts ahead) while this thread waits.
     */
    readonly onImaListFolding?: (data: Uint8Array, base: number) => void;
  }
}

function looksBundle(d: Uint8Array): boolean {
  let i = 0;
  while (i < d.length && (d[i] === 0x20 || d[i] === 0x0a || d[i] === 0x0d || d[i] === 0x09)) i++;
  if (d[i] !== 0x7b) return false;
  return Buffer.from(d.subarray(i, i + 4096))
    .toString('utf8')
    .includes('"mrstack-evidence-bundle"');
}

function summary(b: EvidenceBundle): Record<string, unknown> {
  return {
    tenant: b.binding.tenant,
    nonce: b.binding.nonce,
    user_data: b.binding.userData,
    tree_size: b.binding.treeSize,
    report_kind: b.report.kind,
    emulated: b.report.emulated,
    register: b.physicalLog.register,
    physical_records: b.physicalLog.lines.length,
    since: b.physicalLog.since,
    ...(b.tenantLog === undefined
      ? {}
      : {
          vmr: b.tenantLog.vmr,
          tenant_records: b.tenantLog.lines.length,
          ...(b.tenantLog.since === undefined ? {} : { tenant_since: b.tenantLog.since.line }),
        }),
    ...(b.imaLog === undefined ? {} : { vmr: b.imaLog.vmr, ima_entries: b.imaLog.count }),
    created: b.created,
  };
}

function registerValues(
  claims: Readonly<Record<string, unknown>>,
  register: string,
  algs: readonly HashAlg[],
): Map<HashAlg, Uint8Array> {
  const out = new Map<HashAlg, Uint8Array>();
  const v = claims[register];
  if (v instanceof Uint8Array && algs.length === 1) out.set(algs[0]!, v);
  const banks = claims['pcrs'];
  if (typeof banks === 'object' && banks !== null) {
    for (const a of algs) {
      const bank = (banks as Record<string, unknown>)[a];
      const x =
        typeof bank === 'object' && bank !== null
          ? (bank as Record<string, unknown>)[register]
          : undefined;
      if (x instanceof Uint8Array) out.set(a, x);
    }
  }
  return out;
}

/** The counts of the `mr_ima` tokens among physical log lines (lines that do not parse: none). */
function mrImaTokenCounts(lines: readonly string[]): number[] {
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (!line.includes(`${MR_IMA_VMR}=`)) return;
    try {
      const r = parseMrlogLine(line, i + 1);
      if (r.kind === 'vmr')
        for (const v of r.values)
          if (v.name === MR_IMA_VMR && v.count !== undefined) out.push(v.count);
    } catch {
      // the replay reports it
    }
  });
  return out;
}

/** A map of trusted tenant checkpoints by tenant name (not one checkpoint, not `'none'`). */
function isCheckpointMap(
  g: TrustedTenantCheckpoint | 'none' | ReadonlyMap<string, TrustedTenantCheckpoint>,
): g is ReadonlyMap<string, TrustedTenantCheckpoint> {
  return g instanceof Map;
}

/** The bundle verifier (dispatch-table entry). */
export const BUNDLE_VERIFIER: EvidenceVerifier = {
  detect: looksBundle,
  show(data: Uint8Array): EvidenceShowResult {
    return { kind: 'bundle', claims: summary(parseBundle(data)), warnings: [] };
  },
  async verify(data: Uint8Array, opts: ResolvedVerifyOptions): Promise<EvidenceResult> {
    // an ima bundle's fold workers start while it is parsed (their modules load meanwhile)
    prewarmImaFoldWorkersFor(data);
    // parsed once: by the caller (the same bytes object), or here
    const b = opts.parsedBundle?.bytes === data ? opts.parsedBundle.bundle : parseBundle(data);
    const out = new ResultBuilder('bundle', opts.at, opts.policy);
    const kind = b.report.kind as EvidenceKind;
    if (kind === 'bundle') {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'bundle',
        offset: 0,
        field: 'report.kind',
        expected: 'tdx, snp, tpm or cca',
        actual: 'bundle',
      });
    }
    // The report, by its own kind's verifier from the registry the front door injected. Its
    // freshness is the bundle binding's: the report data is the binding, never the nonce.
    const { nonce: _nonce, ...rest } = opts; // eslint-disable-line @typescript-eslint/no-unused-vars
    const registry = opts.verifiers;
    if (registry === undefined) {
      throw new MrstackError('ERR_INTERNAL', 'the bundle verifier needs the verifier registry');
    }
    // The report's own parts (a TPM quote's signature, AK public, AK certificate) come with it.
    const { parts: _parts, parsedBundle: _parsed, ...outer } = rest; // eslint-disable-line @typescript-eslint/no-unused-vars
    const inner = await registry[kind].verify(b.report.outblob, {
      ...outer,
      ...(b.report.parts === undefined ? {} : { parts: b.report.parts }),
      kind,
      freshnessElsewhere: true,
    });
    out.relaxedBy(inner.relaxed);
    out.trust = inner.trust;
    if (inner.tcbStatus !== undefined) out.tcbStatus = inner.tcbStatus;
    if (inner.advisories !== undefined) out.advisories = [...inner.advisories];
    for (const w of inner.warnings) out.warnings.push(`report: ${w}`);
    for (const e of inner.errors)
      out.fail(
        `report.${typeof e['check'] === 'string' ? e['check'] : 'verify'}`,
        e.code,
        `report: ${e.message}`,
      );
    if (inner.verified) out.ok('report');
    // TDX/SNP name it report data; a TPM quote carries it as extraData, a CCA realm token as
    // its challenge.
    const reportData =
      inner.claims['report_data'] ?? inner.claims['extra_data'] ?? inner.claims['challenge'];
    const regs = registerValues(inner.claims, b.physicalLog.register, b.physicalLog.algs);
    if (!(reportData instanceof Uint8Array) || regs.size !== b.physicalLog.algs.length) {
      out.fail(
        'report_claims',
        'ERR_UNSUPPORTED',
        `the ${kind} report does not carry report data and ${b.physicalLog.register} in a form this verifier reads`,
      );
      out.claims = { ...summary(b), report: inner.claims };
      return out.build();
    }
    let firmware: Awaited<ReturnType<typeof replayFirmwareLogMemo>> | undefined;
    if (b.firmwareLog !== undefined) {
      try {
        firmware = await replayFirmwareLogMemo(
          b.firmwareLog,
          b.physicalLog.register,
          b.physicalLog.algs,
        );
      } catch (e) {
        // a firmware log this verifier cannot read: the register falls back to its reset value
        if (!(e instanceof MrstackError)) throw e;
        out.warnings.push(`firmware log (${b.firmwareLog.format}) unreadable: ${e.message}`);
      }
    }
    // an ima bundle's list is folded first, its banks on worker threads, at every count a
    // mr_ima token of the physical log names (the layer refolds if one is missing)
    const imaCp = opts.trustedImaCheckpoint;
    const imaMeet = b.imaLog === undefined ? undefined : imaLayerStart(b.imaLog, imaCp);
    const folding =
      b.imaLog === undefined || imaMeet?.use === 'refused'
        ? undefined
        : foldImaSnapshotsParallel(
            b.imaLog.data,
            mrImaBankAlgs(b.imaLog.alg),
            [
              b.imaLog.since ?? 0,
              ...mrImaTokenCounts(b.physicalLog.lines),
              b.imaLog.count,
              ...(imaMeet?.use === 'compared' ? [imaMeet.offset] : []),
            ],
            imaMeet?.use === 'continued' ? { start: imaMeet.start } : {},
          );
    if (folding !== undefined) opts.onImaListFolding?.(b.imaLog!.data, b.imaLog!.since ?? 0);
    const imaFold = await folding;
    // the tenant checkpoint a tenant log sent since a position folds from (by tenant, offline)
    const given = opts.trustedTenantCheckpoint;
    const tenantCp =
      b.tenantLog?.since === undefined || given === undefined
        ? undefined
        : isCheckpointMap(given)
          ? (given.get(b.binding.tenant) ?? 'none')
          : given;
    const r = replayBundle(
      b,
      { register: regs, reportData },
      {
        ...(imaFold === undefined ? {} : { imaFold }),
        ...(imaCp === undefined ? {} : { imaCheckpoint: imaCp }),
        // The binding is checked for the nonce the bundle names; whether that nonce is the
        // caller's is the `nonce` check below (never taken from the bundle).
        nonce: b.binding.nonce,
        ...(firmware === undefined ? {} : { firmware }),
        ...(opts.trustedCheckpoint === undefined
          ? {}
          : { trustedCheckpoint: opts.trustedCheckpoint }),
        ...(tenantCp === undefined ? {} : { trustedTenantCheckpoint: tenantCp }),
      },
    );
    if (opts.trustedTenantCheckpoint !== undefined && tenantCp === undefined) {
      out.warnings.push(
        b.tenantLog === undefined
          ? 'a trusted tenant checkpoint was given for an ima bundle: it plays no part'
          : `the tenant log starts at SALT: it needs no trusted tenant checkpoint, and none was used`,
      );
    }
    for (const w of r.warnings) out.warnings.push(w);
    for (const e of r.errors) {
      const { code, message, layer, ...details } = e;
      out.fail(layer, code, message, details);
    }
    const upper = r.ima === undefined ? ['vmr', 'tenant'] : ['ima'];
    for (const layer of ['binding', 'physical', ...upper])
      if (!r.errors.some((e) => e.layer === layer)) out.ok(layer);
    // Freshness: the caller's nonce, never the one the bundle carries.
    out.freshness(opts, (n) =>
      bytesEqual(n, b.binding.nonce)
        ? undefined
        : `the bundle is for nonce ${toHex(b.binding.nonce)}, not ${toHex(n)}`,
    );
    // The physical register's anchor: a SYNC nothing confirmed is taken on the attester's word.
    if (out.checks['physical'] === 'failed') {
      out.checks['physical_anchor'] = 'skipped'; // not reached: the replay itself failed
    } else if (r.physical.anchor === 'unverified') {
      // `since` is the segment the lines start at: 0 is BOOT, anything else a CHECKPOINT.
      if (b.physicalLog.since !== 0 && opts.trustedCheckpoint === undefined) {
        out.skip(
          'physical_anchor',
          `the physical log is served from a checkpoint and no --trusted-checkpoint was given: ${b.physicalLog.register} is anchored on a SYNC the attester asserts`,
          'missing-checkpoint',
        );
      } else {
        out.skip(
          'physical_anchor',
          `${b.physicalLog.register} is anchored on a SYNC nothing confirmed (anchor: unverified)`,
          'unverified-anchor',
        );
      }
    } else out.ok('physical_anchor');
    // A tenant log sent since a position: its fold starts from a trusted tenant checkpoint, or
    // from the vMR value the attester asserts (checked against the VMR records from there on,
    // not the records left out), as the physical log's SYNC above.
    const start = r.vmr?.start;
    if (start === 'trusted-checkpoint') out.ok('tenant_anchor');
    else if (start === 'asserted') {
      if (out.checks['vmr'] === 'failed') out.checks['tenant_anchor'] = 'skipped';
      else
        out.skip(
          'tenant_anchor',
          `the tenant log is sent since line ${String(r.vmr?.since)} and no trusted tenant checkpoint was given: ${b.tenantLog!.vmr} is folded from a value the attester asserts (the records after it were checked against the physical log, the ones before were not sent)`,
          'missing-checkpoint',
        );
    } else if (start === 'refused') out.checks['tenant_anchor'] = 'skipped';
    out.claims = {
      ...summary(b),
      layers: {
        report: {
          verified: inner.verified,
          kind,
          emulated: inner.trust.emulated,
          checks: inner.checks,
        },
        binding: {
          tenant: r.binding.tenant,
          nonce: r.binding.nonce,
          user_data: r.binding.userData,
          tree_size: r.binding.treeSize,
          leaf_index: r.binding.leafIndex,
          ok: r.binding.ok,
        },
        physical: r.physical,
        // each checkpoint entry names its tenant, vMR and bank: one is a --tenant-checkpoint FILE
        ...(r.vmr === undefined
          ? {}
          : {
              vmr: {
                ...r.vmr,
                checkpoints: r.vmr.checkpoints.map((c) => ({
                  tenant: r.binding.tenant,
                  vmr: r.vmr!.name,
                  alg: r.vmr!.alg,
                  ...c,
                })),
              },
            }),
        ...(r.tenant === undefined
          ? {}
          : {
              tenant: {
                records: r.tenant.records,
                verified: r.tenant.verified,
                pending: r.tenant.pending,
              },
            }),
        ...(r.ima === undefined
          ? {}
          : {
              ima: {
                vmr: r.ima.vmr,
                alg: r.ima.alg,
                count: r.ima.count,
                entries: r.ima.entries,
                verified: r.ima.verified,
                pending: r.ima.pending,
                banks: r.ima.banks,
                tokens: r.ima.tokens,
                salt: toHex(b.imaLog!.salt),
                ...(r.ima.since === 0 ? {} : { since: r.ima.since }),
                ...(imaCp === undefined ? {} : { checkpoint: r.ima.checkpoint }),
              },
            }),
      },
      // an ima bundle's entries are decoded from its list when read (a million of them are a
      // million objects): `claims.events` is built on first access, `imaEntryListOf` reads the
      // list without building it
      get events(): unknown {
        return r.ima?.events ?? r.tenant?.events ?? [];
      },
      report: inner.claims,
    };
    if (r.ima !== undefined)
      Object.defineProperty(out.claims, IMA_ENTRY_LIST, { value: r.ima.list, enumerable: false });
    return out.build();
  },
};
