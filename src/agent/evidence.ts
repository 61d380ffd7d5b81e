/**
 * Evidence assembly (DESIGN §5 "Evidence"): one report per batch of concurrent requests, taken
 * with the log positions just before and just after it, and one bundle per request holding the
 * report, the firmware log, the physical log from the requested checkpoint, the tenant's log and
 * the request's Merkle inclusion proof.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleFirmwareLog,
  type BundleImaLog,
  type EvidenceBundle,
  type TenantLogStart,
} from '../formats/bundle/bundle.js';
import type { RawReport } from '../providers/provider.js';
import type { SharedReport } from './report_batcher.js';

/** A report and the log positions around it. */
export interface ReportSnapshot {
  readonly raw: RawReport;
  /** Physical records extended before the report was requested, and after it was taken. */
  readonly physBefore: number;
  readonly physAfter: number;
  /** Lines of each tenant log before and after. */
  readonly tenantBefore: ReadonlyMap<string, number>;
  readonly tenantAfter: ReadonlyMap<string, number>;
  readonly reportData: Uint8Array;
}

/** What the agent knows when it takes a report. */
export interface ReportSource {
  /** Physical records extended so far. */
  extended(): number;
  /** Lines of each tenant log now. */
  tenantLines(): Map<string, number>;
  report(reportData: Uint8Array): Promise<RawReport>;
  /** Settles when the extend in flight, if any, is done. */
  settled(): Promise<unknown>;
  /** Test and demo hook: extra delay per report. */
  readonly delayMs: number;
}

/** Takes one report with the positions around it. */
export async function takeReportSnapshot(
  src: ReportSource,
  reportData: Uint8Array,
): Promise<ReportSnapshot> {
  const physBefore = src.extended();
  const tenantBefore = src.tenantLines();
  const raw = await src.report(reportData);
  if (src.delayMs > 0) await new Promise((r) => setTimeout(r, src.delayMs));
  await src.settled();
  return {
    raw,
    physBefore,
    physAfter: src.extended(),
    tenantBefore,
    tenantAfter: src.tenantLines(),
    reportData,
  };
}

/** Everything one bundle is made of. */
export interface BundleParts {
  readonly tenant: string;
  readonly nonce: Uint8Array;
  readonly userData: Uint8Array;
  readonly shared: SharedReport<ReportSnapshot>;
  readonly created: Date;
  readonly firmwareLog: BundleFirmwareLog | undefined;
  readonly register: string;
  readonly algs: readonly HashAlg[];
  readonly since: number;
  /** The physical lines from segment `since` up to the report, and the first's chain index. */
  readonly physical: { readonly first: number; readonly lines: readonly string[] };
  readonly vmr: string;
  readonly vmrAlg: HashAlg;
  /** The tenant log's lines up to the report (from `tenantSince` on, when given). */
  readonly tenantLines: readonly string[];
  /** Where `tenantLines` start when the log is sent since a position. */
  readonly tenantSince?: TenantLogStart;
}

/** The parts of the system tenant `ima`'s bundle (no tenant log; the IMA list instead). */
export type ImaBundleParts = Omit<BundleParts, 'vmr' | 'vmrAlg' | 'tenantLines' | 'tenantSince'> & {
  readonly ima: BundleImaLog;
};

/** Assembles the `ima` tenant's bundle: the common parts and `imaLog`, no tenant log. */
export function assembleImaBundle(p: ImaBundleParts): EvidenceBundle {
  const b = assembleBundle({ ...p, vmr: p.ima.vmr, vmrAlg: p.ima.alg, tenantLines: [] });
  return {
    format: b.format,
    version: b.version,
    created: b.created,
    binding: b.binding,
    report: b.report,
    firmwareLog: b.firmwareLog,
    physicalLog: b.physicalLog,
    imaLog: p.ima,
  };
}

const KIND_OF: Record<string, 'tdx' | 'snp' | 'tpm' | 'cca'> = {
  'tdx-quote': 'tdx',
  'snp-report': 'snp',
  'tpm-quote': 'tpm',
};

/** Assembles one request's bundle. */
export function assembleBundle(p: BundleParts): EvidenceBundle {
  const snap = p.shared.shared;
  const r = snap.raw;
  // positions count the lines of the array: those left out are not counted
  const tBefore = Math.max(0, (snap.tenantBefore.get(p.tenant) ?? 0) - (p.tenantSince?.line ?? 0));
  const before = Math.max(0, snap.physBefore - p.physical.first);
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    created: p.created.toISOString(),
    binding: {
      tenant: p.tenant,
      nonce: p.nonce,
      userData: p.userData,
      leafIndex: p.shared.leafIndex,
      treeSize: p.shared.treeSize,
      proof: p.shared.proof,
    },
    report: {
      kind: KIND_OF[r.format] ?? 'cca',
      format: r.format,
      provider: r.provider,
      emulated: r.emulated,
      outblob: r.outblob,
      ...(r.auxblob === undefined ? {} : { auxblob: r.auxblob }),
      ...(r.manifestblob === undefined ? {} : { manifestblob: r.manifestblob }),
      ...(r.parts === undefined ? {} : { parts: r.parts }),
    },
    firmwareLog: p.firmwareLog,
    physicalLog: {
      register: p.register,
      algs: p.algs,
      since: p.since,
      extendedBefore: before,
      before,
      after: p.physical.lines.length,
      lines: [...p.physical.lines],
    },
    tenantLog: {
      vmr: p.vmr,
      alg: p.vmrAlg,
      ...(p.tenantSince === undefined ? {} : { since: p.tenantSince }),
      before: Math.min(tBefore, p.tenantLines.length),
      after: p.tenantLines.length,
      lines: [...p.tenantLines],
    },
  };
}
