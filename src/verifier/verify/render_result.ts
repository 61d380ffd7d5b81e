/**
 * The result of `verifyEvidence` as lines for people: the verdict, failures first (with the
 * record or line they point at), then for an agent bundle one line per layer (report, binding,
 * physical, vMR, tenant — or, for the ima bundle, ima with its banks and the entries not yet
 * verified) and each tenant event as `[verified]` or `[pending]`; checks, skipped
 * and relaxed checks, warnings and the decoded claims follow. Fields a newer result carries
 * (`skipped`, `relaxed`, `trust.anchor` …) are shown when present. Every line is made printable
 * and, given a width, cut to it.
 *
 * @module
 */
import { fitText, printable, wrapText } from '../../bytes/printable.js';
import type { EvidenceResult } from './evidence_result.js';
import { imaEntryListOf } from '../replay/ima_layer.js';

/** Options of {@link renderEvidenceResult}. */
export interface RenderOptions {
  /** Cut every line to this many columns (a terminal's width); none when undefined. */
  readonly width?: number;
  /** Leave the decoded claims out (the layers already say what matters for a bundle). */
  readonly claims?: boolean;
}

type Rec = Readonly<Record<string, unknown>>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as short text: bytes as hex, objects as compact JSON. */
function text(v: unknown): string {
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined || v === null) return '-';
  return JSON.stringify(v, (_k, x: unknown) =>
    x instanceof Uint8Array
      ? Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')
      : typeof x === 'bigint'
        ? x.toString()
        : x,
  );
}

const short = (hex: unknown): string => {
  const s = text(hex);
  return s.length > 16 ? `${s.slice(0, 16)}…` : s;
};

/** Where an issue points: its record, line, check or layer, as the details name them. */
function pointer(e: Rec): string {
  const parts: string[] = [];
  if (typeof e['layer'] === 'string') parts.push(e['layer']);
  else if (typeof e['check'] === 'string') parts.push(e['check']);
  if (e['record'] !== undefined) parts.push(`record ${text(e['record'])}`);
  if (e['line'] !== undefined && typeof e['line'] !== 'object')
    parts.push(`line ${text(e['line'])}`);
  if (e['register'] !== undefined) parts.push(text(e['register']));
  return parts.join(', ');
}

const ok = (b: unknown): string => (b === true ? 'ok' : 'FAILED');

/** One line per layer of a bundle result (`claims.layers`), events indented below. */
function layerLines(r: EvidenceResult, layers: Rec): string[] {
  const failed = new Set(
    r.errors.map((e) => (typeof e['check'] === 'string' ? e['check'].split('.')[0]! : '')),
  );
  const state = (name: string): string => (failed.has(name) ? 'FAILED' : 'ok');
  const out: string[] = [];
  const rep = isRec(layers['report']) ? layers['report'] : {};
  out.push(
    `report    ${ok(rep['verified']).padEnd(6)}  ${text(rep['kind'])} report: signature and chain ${rep['verified'] === true ? 'verified' : 'not verified'}${rep['emulated'] === true ? ' (EMULATED root)' : ''}`,
  );
  const b = isRec(layers['binding']) ? layers['binding'] : {};
  out.push(
    `binding   ${ok(b['ok']).padEnd(6)}  tenant ${text(b['tenant'])}, nonce ${short(b['nonce'])}, leaf ${text(b['leaf_index'])} of ${text(b['tree_size'])}`,
  );
  const p = isRec(layers['physical']) ? layers['physical'] : {};
  // the firmware log is named when it decided the anchor (a warning says when it had no events)
  const fwUse = isRec(p['firmwareLog']) ? text(p['firmwareLog']['use']) : undefined;
  const fw =
    isRec(p['firmwareLog']) && (fwUse === 'anchor' || fwUse === 'mismatch')
      ? `, ${text(p['firmwareLog']['format'])} log ${fwUse === 'anchor' ? 'replayed' : 'MISMATCH'}`
      : '';
  out.push(
    `physical  ${state('physical').padEnd(6)}  ${text(p['register'])} anchored at ${text(p['anchor'])}, ${text(p['records'])} records, matched at ${text(p['position'])}, ${text(p['pending'])} pending${fw}`,
  );
  if (isRec(layers['ima'])) {
    out.push(...imaLines(r, layers['ima'], state('ima')));
    return out;
  }
  const v = isRec(layers['vmr']) ? layers['vmr'] : {};
  out.push(
    `vmr       ${state('vmr').padEnd(6)}  ${text(v['name'])} = ${short(v['value'])}, ${text(v['matched'])}/${text(v['observations'])} records matched`,
  );
  const t = isRec(layers['tenant']) ? layers['tenant'] : {};
  out.push(
    `tenant    ${state('tenant').padEnd(6)}  ${text(t['records'])} records: ${text(t['verified'])} verified, ${text(t['pending'])} pending`,
  );
  const events = r.claims['events'];
  if (Array.isArray(events)) {
    for (const e of events as Rec[]) {
      const tag = `[${text(e['state'])}]`.padEnd(10);
      out.push(
        `  ${tag} #${text(e['record'])} ${text(e['domain'])} ${text(e['operation'])} ${text(e['content'])}`,
      );
    }
  }
  return out;
}

/** At most this many IMA entries are listed by name; `--json` lists every one. */
const IMA_LISTED = 20;

/** The ima layer of an ima bundle: counts, banks, tokens, then the entries not verified. */
function imaLines(r: EvidenceResult, m: Rec, st: string): string[] {
  const banks = isRec(m['banks']) ? m['banks'] : {};
  const tokens = Array.isArray(m['tokens']) ? (m['tokens'] as Rec[]) : [];
  const out = [
    `ima       ${st.padEnd(6)}  ${text(m['vmr'])}: ${text(m['entries'])} entries: ${text(m['verified'])} verified, ${text(m['pending'])} pending; ${tokens.length} tokens`,
    ...Object.entries(banks).map(([a, v]) => `          ${a.padEnd(6)}  ${text(v)}`),
  ];
  // a million verified entries are not read on a screen: the ones not verified are (decoded
  // from the list when the result kept it, so the others are never built)
  const list = imaEntryListOf(r);
  let shown: readonly Rec[];
  let notVerified: number;
  if (list !== undefined) {
    shown = [...list.views(list.verified, list.verified + IMA_LISTED)] as unknown as Rec[];
    notVerified = list.length - list.verified;
  } else {
    const events = Array.isArray(r.claims['events']) ? (r.claims['events'] as Rec[]) : [];
    const all = events.filter((e) => e['state'] !== 'verified');
    shown = all.slice(0, IMA_LISTED);
    notVerified = all.length;
  }
  for (const e of shown) {
    out.push(
      `  ${`[${text(e['state'])}]`.padEnd(10)} #${text(e['index'])} ${text(e['template'])} ${text(e['path'])}`,
    );
  }
  if (notVerified > IMA_LISTED) out.push(`  … ${notVerified - IMA_LISTED} more not verified`);
  return out;
}

/** Lines for fields of a newer result schema: `skipped`/`relaxed` lists or maps, shown as given. */
function listLines(label: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v))
    return v.map(
      (x) =>
        `${label.padEnd(9)} ${isRec(x) ? text(x['check'] ?? x) : text(x)}${isRec(x) && x['reason'] !== undefined ? `: ${text(x['reason'])}` : ''}`,
    );
  if (isRec(v)) return Object.entries(v).map(([k, x]) => `${label.padEnd(9)} ${k}: ${text(x)}`);
  return [`${label.padEnd(9)} ${text(v)}`];
}

/**
 * The result as lines for people (no trailing newlines). Failures come first, each with what
 * it points at; a bundle's layers follow, one per line.
 */
export function renderEvidenceResult(r: EvidenceResult, opts: RenderOptions = {}): string[] {
  const extra = r as unknown as Rec;
  const lines: string[] = [];
  lines.push(
    `${r.verified ? 'VERIFIED' : 'NOT VERIFIED'}  ${r.kind}${r.kind === 'bundle' && isRec(r.claims['layers']) && isRec(r.claims['layers']['report']) ? ` (${text(r.claims['layers']['report']['kind'])} report)` : ''}, at ${r.at}`,
  );
  // The anchor by the head of its SPKI SHA-256 (what it is trusted by; full value in --json).
  const spki = r.trust.anchor === undefined ? '' : ` [spki ${r.trust.anchor.sha256.slice(0, 16)}]`;
  lines.push(`trust     ${r.trust.root ?? '-'}${spki}${r.trust.emulated ? ' (EMULATED)' : ''}`);
  if (r.tcbStatus !== undefined) {
    const adv =
      r.advisories !== undefined && r.advisories.length > 0 ? ` (${r.advisories.join(', ')})` : '';
    lines.push(`tcb       ${r.tcbStatus}${adv}`);
  }
  for (const e of r.errors) {
    const at = pointer(e);
    lines.push(`FAILED    ${at === '' ? '' : `${at}: `}${e.code}: ${e.message}`);
  }
  const layers = r.claims['layers'];
  if (r.kind === 'bundle' && isRec(layers)) lines.push(...layerLines(r, layers));
  else {
    for (const [k, v] of Object.entries(r.checks)) lines.push(`check     ${v.padEnd(7)} ${k}`);
  }
  lines.push(...listLines('skipped', extra['skipped']));
  lines.push(...listLines('relaxed', extra['relaxed']));
  for (const w of r.warnings) lines.push(`warning   ${w}`);
  if (opts.claims !== false && !(r.kind === 'bundle' && isRec(layers))) {
    const w = Math.max(0, ...Object.keys(r.claims).map((k) => k.length));
    for (const [k, v] of Object.entries(r.claims)) lines.push(`${k.padEnd(w)}  ${text(v)}`);
  }
  // failures and warnings are read in full: they wrap; the rest is cut to the width
  return lines.flatMap((l) =>
    /^(FAILED|warning) /.test(l)
      ? wrapText(printable(l), opts.width, 10)
      : [fitText(printable(l), opts.width)],
  );
}
