/**
 * One self-contained HTML page per attestation result (`mrstack appraise --html FILE`, and the
 * verifier service's result page): the verdict and the trust tier per AR4SI claim at the top,
 * then the evidence chain (anchor → intermediate → leaf), the registers with replayed and
 * expected values, the layers (firmware log → physical mrlog → vMR → tenant events → IMA) with
 * the first divergent record highlighted, IMA counts, every finding, and the EAR's decoded claims.
 *
 * No network and no external assets: inline CSS, no script, and a Content-Security-Policy that
 * forbids loading anything. Every value from the evidence, the policy or the token is escaped.
 *
 * @module
 */
import type { Appraisal, ReplayedEvidence } from '../appraise/appraisal_input.js';
import type { Finding } from '../appraise/finding.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import { AR4SI_CLAIMS, tierOf, type TrustTier, type TrustVector } from './ar4si.js';
import { trustVectorOf, type ClaimSupport } from './claim_mapping.js';
import { decodeEarClaims, type Ear } from './ear_claims.js';

/** One certificate (or key) of the evidence chain, anchor first. */
export interface ChainEntry {
  readonly role: 'anchor' | 'intermediate' | 'leaf';
  readonly subject: string;
  /** SPKI SHA-256 (anchors) or a serial, as known. */
  readonly detail?: string;
}

/** What the page shows; every part but the appraisal is optional. */
export interface ResultPageInput {
  readonly appraisal: Pick<Appraisal, 'status' | 'findings' | 'policyId' | 'kind' | 'at' | 'ima'>;
  readonly verify?: EvidenceResult;
  readonly replay?: ReplayedEvidence;
  /** The EAR issued for this result: its claims-set (and the token, shown verbatim). */
  readonly ear?: { readonly claims: Readonly<Record<string, unknown>>; readonly token?: string };
  /** What verify proved, for the trust vector when no EAR is given. */
  readonly support?: ClaimSupport;
  /** The evidence chain, anchor first (derived from the verify result when absent). */
  readonly chain?: readonly ChainEntry[];
  readonly title?: string;
}

const ESC: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: unknown): string {
  const t = typeof s === 'string' ? s : jsonText(s);
  return t.replace(/[&<>"']/g, (c) => ESC[c]!);
}

function hexReplacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

const hex = (v: unknown): string =>
  v instanceof Uint8Array
    ? Buffer.from(v).toString('hex')
    : typeof v === 'string'
      ? v
      : jsonText(v);

/** JSON text of a value ('' for undefined, which JSON.stringify returns for it at run time). */
function jsonText(v: unknown): string {
  const t = JSON.stringify(v, hexReplacer) as string | undefined;
  return t ?? '';
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:20px 28px;color:#fff}
header.affirming{background:#1f7a3f}header.warning{background:#9a6700}
header.contraindicated{background:#b42318}header.none{background:#4b5563}
h1{margin:0;font-size:30px;letter-spacing:.04em}h2{font-size:18px;margin:26px 0 8px}
.sub{opacity:.9;margin-top:4px;word-break:break-all}
main{padding:4px 28px 40px}
.claims{display:grid;grid-template-columns:repeat(4,minmax(150px,1fr));gap:8px;margin-top:16px}
.claim{border-radius:6px;padding:8px 10px;background:#fff;color:#1d2330;border-left:8px solid #9ca3af;box-shadow:0 0 0 1px #0002}
.claim b{display:block;font-size:12px;text-transform:uppercase;color:#4b5563}
.claim.affirming{border-color:#1f7a3f}.claim.warning{border-color:#d29922}
.claim.contraindicated{border-color:#b42318;background:#fde8e7}.claim.warning{background:#fff6dd}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #e1e4e8;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef0f3}
td.v{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
tr.contraindicated td:first-child{border-left:5px solid #b42318}
tr.warning td:first-child{border-left:5px solid #d29922}
tr.none td:first-child{border-left:5px solid #9ca3af}
.divergent{background:#fde8e7;outline:2px solid #b42318}
.chain{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.chain div{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:6px 10px}
.chain span{color:#6b7280}
.ok{color:#1f7a3f}.failed{color:#b42318}.skipped{color:#9a6700}
pre{background:#fff;border:1px solid #e1e4e8;padding:10px;overflow:auto;font-size:12px}
`;

const LAYERS: readonly { id: string; title: string }[] = [
  { id: 'report', title: 'Report' },
  { id: 'collateral', title: 'Collateral' },
  { id: 'binding', title: 'Binding' },
  { id: 'firmware-log', title: 'Firmware log' },
  { id: 'physical', title: 'Physical register (mrlog)' },
  { id: 'vmr', title: 'Virtual registers (vMR)' },
  { id: 'tenant', title: 'Tenant events' },
  { id: 'ima', title: 'IMA' },
  { id: 'policy', title: 'Policy' },
];

function chainOf(input: ResultPageInput): readonly ChainEntry[] {
  if (input.chain !== undefined) return input.chain;
  const v = input.verify;
  if (v === undefined) return [];
  const trust = v.trust as EvidenceResult['trust'] & {
    anchor?: { subject?: string; sha256?: string };
  };
  const out: ChainEntry[] = [];
  const anchor = trust.anchor?.subject ?? trust.root;
  if (anchor !== undefined)
    out.push({
      role: 'anchor',
      subject: anchor,
      ...(trust.anchor?.sha256 === undefined
        ? {}
        : { detail: `SPKI SHA-256 ${trust.anchor.sha256}` }),
    });
  const pck = v.claims['pck'] as { issuer?: string; serial?: string } | undefined;
  if (pck?.issuer !== undefined) out.push({ role: 'intermediate', subject: pck.issuer });
  out.push({
    role: 'leaf',
    subject: pck === undefined ? `${v.kind} evidence signing key` : 'PCK certificate',
    ...(pck?.serial === undefined ? {} : { detail: `serial ${pck.serial}` }),
  });
  return out;
}

function vectorOf(
  input: ResultPageInput,
  ear: Ear | undefined,
): { vector: TrustVector; from: string } {
  if (ear !== undefined) {
    const first = Object.values(ear.submods)[0];
    if (first?.trustVector !== undefined) return { vector: first.trustVector, from: 'EAR' };
  }
  return { vector: trustVectorOf(input.appraisal.findings, input.support ?? {}), from: 'findings' };
}

const tierClass = (t: TrustTier): string => t;

function claimsGrid(vector: TrustVector): string {
  return AR4SI_CLAIMS.map((c) => {
    const v = vector[c] ?? 0;
    const t = tierOf(v);
    return `<div class="claim ${tierClass(t)}" data-claim="${c}" data-tier="${t}"><b>${c}</b>${t} (${v})</div>`;
  }).join('');
}

function findingRow(f: Finding, firstDivergent: Finding | undefined): string {
  const div = f === firstDivergent;
  const where = [
    f.where.layer,
    f.where.log,
    f.where.record === undefined ? undefined : `record ${f.where.record}`,
    f.where.offset === undefined ? undefined : `offset ${f.where.offset}`,
  ]
    .filter((x) => x !== undefined)
    .join(' · ');
  return `<tr class="${escapeHtml(f.status)}${div ? ' divergent' : ''}"${div ? ' id="first-divergence"' : ''} data-finding="${escapeHtml(f.id)}"><td>${escapeHtml(f.status)}</td><td class="v">${escapeHtml(f.id)}</td><td class="v">${escapeHtml(f.claim)}</td><td class="v">${escapeHtml(f.expected === undefined ? '' : hex(f.expected))}</td><td class="v">${escapeHtml(f.actual === undefined ? '' : hex(f.actual))}</td><td>${escapeHtml(where)}</td><td>${escapeHtml(f.message ?? '')}</td></tr>`;
}

const LOG_LAYERS = new Set(['firmware-log', 'physical', 'vmr', 'tenant', 'ima']);
const LAYER_ORDER = ['firmware-log', 'physical', 'vmr', 'tenant', 'ima'];

/** The first non-affirming finding that points at a log record, in layer order (lowest layer first). */
export function firstDivergentFinding(findings: readonly Finding[]): Finding | undefined {
  let best: Finding | undefined;
  for (const f of findings) {
    if (f.status === 'affirming' || f.status === 'none') continue;
    if (!LOG_LAYERS.has(f.where.layer) || f.where.record === undefined) continue;
    if (best === undefined) {
      best = f;
      continue;
    }
    const a = LAYER_ORDER.indexOf(f.where.layer);
    const b = LAYER_ORDER.indexOf(best.where.layer);
    if (a < b || (a === b && f.where.record < (best.where.record ?? Infinity))) best = f;
  }
  return best;
}

/**
 * Renders the result page.
 * @returns the complete HTML document (UTF-8 text)
 */
export function renderResultHtml(input: ResultPageInput): string {
  const { appraisal } = input;
  let ear: Ear | undefined;
  let earError: string | undefined;
  if (input.ear !== undefined) {
    try {
      ear = decodeEarClaims(input.ear.claims);
    } catch (e) {
      earError = e instanceof Error ? e.message : String(e);
    }
  }
  const { vector, from } = vectorOf(input, ear);
  const status = appraisal.status;
  const findings = appraisal.findings;
  const firstDiv = firstDivergentFinding(findings);
  const v = input.verify;
  const parts: string[] = [];
  parts.push(
    `<header class="${status}"><h1 id="verdict" data-status="${status}">${escapeHtml(status.toUpperCase())}</h1>` +
      `<div class="sub">${escapeHtml(appraisal.kind)} evidence · policy <span class="v">${escapeHtml(appraisal.policyId)}</span> · appraised ${escapeHtml(appraisal.at)}` +
      (v === undefined ? '' : ` · signature chain ${v.verified ? 'verified' : 'NOT verified'}`) +
      `</div><div class="claims" id="tiers" title="trust tiers from the ${from}">${claimsGrid(vector)}</div></header><main>`,
  );
  if (firstDiv !== undefined) {
    parts.push(
      `<h2>First divergence</h2><p>${escapeHtml(firstDiv.id)} in the ${escapeHtml(firstDiv.where.layer)} layer` +
        `${firstDiv.where.log === undefined ? '' : `, log ${escapeHtml(firstDiv.where.log)}`}, record ${escapeHtml(String(firstDiv.where.record))}` +
        `${firstDiv.where.offset === undefined ? '' : ` (offset ${escapeHtml(String(firstDiv.where.offset))})`}: expected <code>${escapeHtml(firstDiv.expected === undefined ? '-' : hex(firstDiv.expected))}</code>, actual <code>${escapeHtml(firstDiv.actual === undefined ? '-' : hex(firstDiv.actual))}</code>.</p>`,
    );
  }
  // Evidence chain
  const chain = chainOf(input);
  if (chain.length > 0) {
    parts.push(
      `<h2>Evidence chain</h2><div class="chain" id="chain">${chain
        .map(
          (c, i) =>
            `${i > 0 ? '<span>→</span>' : ''}<div data-role="${c.role}"><b>${c.role}</b><br>${escapeHtml(c.subject)}${c.detail === undefined ? '' : `<br><small>${escapeHtml(c.detail)}</small>`}</div>`,
        )
        .join('')}</div>`,
    );
  }
  if (v !== undefined) {
    parts.push(
      `<h2>Checks</h2><table id="checks"><tr><th>check</th><th>outcome</th></tr>${Object.entries(
        v.checks,
      )
        .map(
          ([k, o]) =>
            `<tr><td>${escapeHtml(k)}</td><td class="${escapeHtml(o)}">${escapeHtml(o)}</td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  // Registers: replayed vs reported vs expected (expected from the findings that judged them)
  const regs = input.replay?.registers ?? [];
  if (regs.length > 0) {
    const expectedOf = (name: string): string => {
      const f = findings.find(
        (x) => x.id.startsWith(`replay.${name}.`) && x.expected !== undefined,
      );
      return f === undefined ? '' : hex(f.expected);
    };
    parts.push(
      `<h2>Registers</h2><table id="registers"><tr><th>register</th><th>layer</th><th>proof</th><th>replayed</th><th>reported</th><th>expected (policy)</th></tr>${regs
        .map(
          (r) =>
            `<tr class="${r.proof === 'failed' ? 'contraindicated' : ''}" data-register="${escapeHtml(r.name)}"><td>${escapeHtml(`${r.name}:${r.alg}`)}</td><td>${escapeHtml(r.layer)}</td><td class="${escapeHtml(r.proof)}">${escapeHtml(r.proof)}</td><td class="v">${escapeHtml(hex(r.value))}</td><td class="v">${escapeHtml(r.reported === undefined ? '(same)' : hex(r.reported))}</td><td class="v">${escapeHtml(expectedOf(r.name))}</td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  // Layers: findings grouped by layer, lowest first; the first divergent record highlighted
  parts.push('<h2>Layers and findings</h2>');
  const head =
    '<tr><th>status</th><th>id</th><th>claim</th><th>expected</th><th>actual</th><th>where</th><th>message</th></tr>';
  for (const layer of LAYERS) {
    const inLayer = findings.filter((f) => f.where.layer === layer.id);
    const tenant = layer.id === 'tenant' ? (input.replay?.tenantEvents ?? []) : [];
    if (inLayer.length === 0 && tenant.length === 0) continue;
    parts.push(
      `<h3>${escapeHtml(layer.title)}</h3><table class="layer" data-layer="${layer.id}">${head}${inLayer.map((f) => findingRow(f, firstDiv)).join('')}</table>`,
    );
    if (tenant.length > 0) {
      parts.push(
        `<table class="tenant-events"><tr><th>#</th><th>vMR</th><th>event</th><th>state</th></tr>${tenant
          .slice(0, 500)
          .map(
            (e) =>
              `<tr><td>${e.record}</td><td>${escapeHtml(e.vmr)}</td><td class="v">${escapeHtml(`${e.domain} ${e.operation} ${e.content}`)}</td><td>${escapeHtml(e.state)}</td></tr>`,
          )
          .join(
            '',
          )}</table>${tenant.length > 500 ? `<p>… ${tenant.length - 500} more events</p>` : ''}`,
      );
    }
  }
  const ima = appraisal.ima;
  if (ima !== undefined) {
    parts.push(
      `<h2>IMA</h2><table id="ima"><tr><th>entries</th><th>matched</th><th>signed</th><th>excluded</th><th>unknown</th><th>digest mismatch</th><th>violations</th></tr>` +
        `<tr><td>${ima.entries}</td><td data-count="matched">${ima.matched}</td><td>${ima.signed}</td><td data-count="excluded">${ima.excluded}</td><td data-count="unknown">${ima.unknown}</td><td>${ima.mismatched}</td><td>${ima.violations}</td></tr></table>`,
    );
  }
  // EAR
  if (input.ear !== undefined) {
    parts.push('<h2>EAR (attestation result token)</h2>');
    if (ear !== undefined) {
      parts.push(
        `<table id="ear"><tr><th>profile</th><td class="v">${escapeHtml(ear.profile)}</td></tr><tr><th>issued</th><td>${escapeHtml(new Date(ear.iat * 1000).toISOString())}</td></tr>` +
          `<tr><th>expires</th><td>${ear.exp === undefined ? '-' : escapeHtml(new Date(ear.exp * 1000).toISOString())}</td></tr><tr><th>verifier</th><td>${escapeHtml(`${ear.verifierId.developer} (${ear.verifierId.build})`)}</td></tr>` +
          (ear.nonce === undefined
            ? ''
            : `<tr><th>eat_nonce</th><td class="v">${escapeHtml(ear.nonce)}</td></tr>`) +
          Object.entries(ear.submods)
            .map(
              ([name, a]) =>
                `<tr><th>submod ${escapeHtml(name)}</th><td>${escapeHtml(a.status)} · ${AR4SI_CLAIMS.map((c) => `${c} ${a.trustVector?.[c] ?? 0}`).join(' · ')} · policy ${escapeHtml(a.policyIds.join(', '))}</td></tr>`,
            )
            .join('') +
          '</table>',
      );
    } else parts.push(`<p class="failed">The EAR does not decode: ${escapeHtml(earError)}</p>`);
    parts.push(
      `<pre id="ear-claims">${escapeHtml(JSON.stringify(input.ear.claims, null, 2))}</pre>`,
    );
    if (input.ear.token !== undefined)
      parts.push(
        `<details><summary>token</summary><pre class="v">${escapeHtml(input.ear.token)}</pre></details>`,
      );
  }
  parts.push('</main>');
  const title = input.title ?? `mrstack result: ${status} (${appraisal.kind})`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>${parts.join('\n')}</body></html>\n`
  );
}
