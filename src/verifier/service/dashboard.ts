/**
 * The verifier service's dashboard (`GET /`): one self-contained HTML page — no script, no
 * external asset — listing the registered attesters with their latest verdict, and the most
 * recent results with their verdict and the findings that were not affirming, each linking to
 * that result's own page (`/results/{id}`, the appraisal result page of result_html.ts).
 *
 * @module
 */
import type { Finding } from '../appraise/finding.js';
import { escapeHtml } from '../result/result_html.js';
import type { AttesterRecord, ResultRecord } from '../store/store.js';

/** What the dashboard shows. */
export interface DashboardInput {
  readonly attesters: readonly (AttesterRecord & { readonly keys: number })[];
  /** Newest first. */
  readonly results: readonly ResultRecord[];
  /** The newest result of each attester that has one. */
  readonly latest: readonly ResultRecord[];
  /** When the page was made (the database's clock). */
  readonly at: Date;
}

/** The findings of a stored result (`findings.appraisal.findings`), [] when absent. */
export function storedFindings(r: ResultRecord): readonly Finding[] {
  const a = (r.findings as { appraisal?: { findings?: unknown } } | null)?.appraisal;
  return Array.isArray(a?.findings) ? (a.findings as Finding[]) : [];
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{padding:12px 20px;background:#24292f;color:#fff}header h1{margin:0;font-size:20px}
header .sub{color:#c9d1d9;font-size:12px}main{padding:8px 20px 24px}
h2{font-size:16px;margin:18px 0 6px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}td.status{font-weight:600;text-transform:uppercase}
.affirming{color:#116329}.warning{color:#9a6700}.contraindicated{color:#cf222e}.none{color:#57606a}
code{font:12px ui-monospace,monospace}ul{margin:0;padding-left:16px}.empty{color:#57606a}
`;

const statusCell = (status: string): string =>
  `<td class="status ${escapeHtml(status)}" data-col="status">${escapeHtml(status)}</td>`;

function findingsCell(r: ResultRecord): string {
  const bad = storedFindings(r).filter((f) => f.status !== 'affirming');
  if (bad.length === 0) return '<td data-col="findings" class="empty">none</td>';
  const items = bad
    .map(
      (f) =>
        `<li class="${escapeHtml(f.status)}"><code>${escapeHtml(f.id)}</code> ${escapeHtml(f.claim)}</li>`,
    )
    .join('');
  return `<td data-col="findings"><ul>${items}</ul></td>`;
}

// `name@sha256:<64 hex>` shortened to 12 hex digits (the full id is the cell's title).
const shortPolicy = (id: string | null): string =>
  id === null ? '-' : id.replace(/(@sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…');

const resultLink = (r: ResultRecord): string =>
  `<a href="/results/${encodeURIComponent(r.id)}">${escapeHtml(r.id)}</a>`;

/** Renders the dashboard page. */
export function renderDashboard(input: DashboardInput): string {
  const latest = new Map(input.latest.map((r) => [r.attesterId, r]));
  const attesterRows = input.attesters.map((a) => {
    const r = latest.get(a.id);
    return (
      `<tr data-attester="${escapeHtml(a.id)}"><td data-col="id">${escapeHtml(a.id)}</td>` +
      `<td data-col="kind">${escapeHtml(a.kind)}</td><td data-col="keys">${a.keys}</td>` +
      `<td data-col="relaxed">${escapeHtml(a.relaxed.join(', ') || '-')}</td>` +
      (r === undefined
        ? '<td data-col="status" class="status none">no result</td><td></td><td></td>'
        : `${statusCell(r.status)}<td data-col="time">${escapeHtml(r.createdAt.toISOString())}</td><td>${resultLink(r)}</td>`) +
      '</tr>'
    );
  });
  // Attesters named by sessions without a registration (CVMs by id) have results too.
  const registered = new Set(input.attesters.map((a) => a.id));
  for (const r of input.latest) {
    if (r.attesterId === null || registered.has(r.attesterId)) continue;
    attesterRows.push(
      `<tr data-attester="${escapeHtml(r.attesterId)}"><td data-col="id">${escapeHtml(r.attesterId)}</td>` +
        '<td data-col="kind">not registered</td><td data-col="keys">0</td><td data-col="relaxed">-</td>' +
        `${statusCell(r.status)}<td data-col="time">${escapeHtml(r.createdAt.toISOString())}</td><td>${resultLink(r)}</td></tr>`,
    );
  }
  const resultRows = input.results.map(
    (r) =>
      `<tr data-result="${escapeHtml(r.id)}"><td data-col="time">${escapeHtml(r.createdAt.toISOString())}</td>` +
      `<td data-col="attester">${escapeHtml(r.attesterId ?? '-')}</td>${statusCell(r.status)}` +
      `<td data-col="passed">${r.passed ? 'yes' : 'no'}</td>` +
      `<td data-col="relaxed">${escapeHtml(r.relaxed.join(', ') || '-')}</td>` +
      `<td data-col="policy" title="${escapeHtml(r.policyId ?? '')}"><code>${escapeHtml(shortPolicy(r.policyId))}</code></td>` +
      `${findingsCell(r)}<td data-col="link">${resultLink(r)}</td></tr>`,
  );
  const table = (head: string[], rows: string[], id: string, empty: string): string =>
    rows.length === 0
      ? `<p class="empty" id="${id}">${empty}</p>`
      : `<table id="${id}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>mrstack verifier</title><style>${CSS}</style></head><body>` +
    `<header><h1>mrstack verifier</h1><div class="sub">${attesterRows.length} attesters · ${input.results.length} recent results · ${escapeHtml(input.at.toISOString())}</div></header><main>` +
    '<h2>Attesters</h2>' +
    table(
      ['attester', 'kind', 'AKs', 'relaxed', 'latest verdict', 'at', 'result'],
      attesterRows,
      'attesters',
      'No attester is registered.',
    ) +
    '<h2>Recent results</h2>' +
    table(
      [
        'time',
        'attester',
        'verdict',
        'passed',
        'relaxed',
        'policy',
        'findings not affirming',
        'result',
      ],
      resultRows,
      'results',
      'No result yet.',
    ) +
    '</main></body></html>\n'
  );
}
