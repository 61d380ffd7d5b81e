/**
 * TDX collateral from files: a directory of Intel PCS responses (TCB info JSON, QE identity
 * JSON, PCK and root CA CRLs, issuer chains) or one JSON file in dcap-qvl's `QuoteCollateralV3`
 * layout. Files are recognised by content, not by name:
 *
 * - JSON with a `tcbInfo` member → TCB info (`{"tcbInfo":{…},"signature":"<hex r‖s>"}`);
 * - JSON with an `enclaveIdentity` member → QE identity;
 * - JSON with `tcb_info` and `qe_identity` strings → QuoteCollateralV3 (`*_signature` hex,
 *   `*_issuer_chain` PEM, `pck_crl` / `root_ca_crl` hex DER);
 * - a CRL (DER, PEM or hex) → the PCK CRL or the root CA CRL, by its issuer's name;
 * - PEM certificates → an issuer chain, by its first certificate: "Intel SGX TCB Signing" (or
 *   any TCB-signing certificate) for TCB info / QE identity, a PCK CA for the PCK CRL.
 *
 * Signatures cover the exact bytes of the `tcbInfo` / `enclaveIdentity` member as served, so the
 * raw member text is kept next to the parsed object.
 *
 * @module
 */
import { fieldErrors } from '../../errors.js';
import { fromHex } from '../../bytes/hex.js';
import { parsePemText } from '../../formats/tdx/pem_chain.js';
import { parseCrl, type Crl } from '../verify/x509/crl.js';
import { jsonMemberSpans, parseJsonText } from '../../formats/json/json_text.js';

/** One TCB level of a TCB info. */
export interface TdxTcbLevel {
  readonly sgxTcbComponents: readonly number[];
  readonly pceSvn: number;
  readonly tdxTcbComponents: readonly number[];
  readonly tcbDate: string;
  readonly tcbStatus: string;
  readonly advisoryIds: readonly string[];
}

/** A TCB level of an identity (QE or TDX module): only an ISV SVN. */
export interface IsvTcbLevel {
  readonly isvSvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: string;
  readonly advisoryIds: readonly string[];
}

/** A TDX module identity (`tdxModuleIdentities[]`, or `tdxModule` with id undefined). */
export interface TdxModuleIdentity {
  readonly id: string | undefined;
  readonly mrSigner: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

/** A parsed TDX TCB info (version 3). */
export interface TdxTcbInfo {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: string;
  readonly pceId: string;
  readonly tcbEvaluationDataNumber: number;
  readonly tdxModule: TdxModuleIdentity | undefined;
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TdxTcbLevel[];
}

/** A parsed QE identity (version 2). */
export interface QeIdentity {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly miscSelect: number;
  readonly miscSelectMask: number;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

/** A signed collateral document: the raw signed text, its signature and parsed form. */
export interface SignedJson<T> {
  readonly raw: Uint8Array;
  readonly signature: Uint8Array;
  readonly value: T;
}

/** Everything TDX verification needs besides the quote. */
export interface TdxCollateral {
  readonly tcbInfo: SignedJson<TdxTcbInfo>;
  readonly qeIdentity: SignedJson<QeIdentity>;
  /** TCB signing chain for the TCB info (DER, leaf first). */
  readonly tcbInfoIssuerChain: readonly Uint8Array[];
  readonly qeIdentityIssuerChain: readonly Uint8Array[];
  readonly pckCrl: Crl | undefined;
  readonly pckCrlIssuerChain: readonly Uint8Array[];
  readonly rootCaCrl: Crl | undefined;
}

const bad = fieldErrors({ code: 'ERR_BAD_JSON', format: 'tdx-collateral' });

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Obj, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw bad(`${path}.${k}`, 'a string', typeof v);
  return v;
}
function num(o: Obj, k: string, path: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw bad(`${path}.${k}`, 'an integer', typeof v);
  return v;
}
function date(o: Obj, k: string, path: string): Date {
  const d = new Date(str(o, k, path));
  if (Number.isNaN(d.getTime())) throw bad(`${path}.${k}`, 'an ISO-8601 date');
  return d;
}
function hexOf(o: Obj, k: string, path: string): Uint8Array {
  try {
    return fromHex(str(o, k, path), `${path}.${k}`);
  } catch (e) {
    throw bad(`${path}.${k}`, 'hex', undefined, e);
  }
}
function arr(o: Obj, k: string, path: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(`${path}.${k}`, 'an array', typeof v);
  return v;
}
function advisories(o: Obj): string[] {
  const v = o['advisoryIDs'];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function svns(list: unknown[], path: string): number[] {
  return list.map((c, i) => {
    if (!isObj(c)) throw bad(`${path}[${i}]`, 'an object');
    return num(c, 'svn', `${path}[${i}]`);
  });
}

function isvLevels(o: Obj, path: string): IsvTcbLevel[] {
  return arr(o, 'tcbLevels', path).map((l, i) => {
    const p = `${path}.tcbLevels[${i}]`;
    if (!isObj(l) || !isObj(l['tcb'])) throw bad(p, 'a TCB level object');
    return {
      isvSvn: num(l['tcb'], 'isvsvn', `${p}.tcb`),
      tcbDate: str(l, 'tcbDate', p),
      tcbStatus: str(l, 'tcbStatus', p),
      advisoryIds: advisories(l),
    };
  });
}

function moduleIdentity(o: Obj, path: string, withId: boolean): TdxModuleIdentity {
  return {
    id: withId ? str(o, 'id', path) : undefined,
    mrSigner: hexOf(o, 'mrsigner', path),
    attributes: hexOf(o, 'attributes', path),
    attributesMask: hexOf(o, 'attributesMask', path),
    tcbLevels: Array.isArray(o['tcbLevels']) ? isvLevels(o, path) : [],
  };
}

/** Parses the `tcbInfo` object of a TDX TCB info. */
export function parseTdxTcbInfo(v: unknown): TdxTcbInfo {
  const p = 'tcbInfo';
  if (!isObj(v)) throw bad(p, 'an object');
  const levels = arr(v, 'tcbLevels', p).map((l, i): TdxTcbLevel => {
    const lp = `${p}.tcbLevels[${i}]`;
    if (!isObj(l) || !isObj(l['tcb'])) throw bad(lp, 'a TCB level object');
    const t = l['tcb'];
    const sgx = svns(arr(t, 'sgxtcbcomponents', `${lp}.tcb`), `${lp}.tcb.sgxtcbcomponents`);
    const tdx = svns(arr(t, 'tdxtcbcomponents', `${lp}.tcb`), `${lp}.tcb.tdxtcbcomponents`);
    if (sgx.length !== 16)
      throw bad(`${lp}.tcb.sgxtcbcomponents`, '16 SGX components', String(sgx.length));
    if (tdx.length !== 16)
      throw bad(`${lp}.tcb.tdxtcbcomponents`, '16 TDX components', String(tdx.length));
    return {
      sgxTcbComponents: sgx,
      pceSvn: num(t, 'pcesvn', `${lp}.tcb`),
      tdxTcbComponents: tdx,
      tcbDate: str(l, 'tcbDate', lp),
      tcbStatus: str(l, 'tcbStatus', lp),
      advisoryIds: advisories(l),
    };
  });
  const mods = Array.isArray(v['tdxModuleIdentities'])
    ? arr(v, 'tdxModuleIdentities', p).map((m, i) => {
        if (!isObj(m)) throw bad(`${p}.tdxModuleIdentities[${i}]`, 'an object');
        return moduleIdentity(m, `${p}.tdxModuleIdentities[${i}]`, true);
      })
    : [];
  return {
    id: str(v, 'id', p),
    version: num(v, 'version', p),
    issueDate: date(v, 'issueDate', p),
    nextUpdate: date(v, 'nextUpdate', p),
    fmspc: str(v, 'fmspc', p).toLowerCase(),
    pceId: str(v, 'pceId', p).toLowerCase(),
    tcbEvaluationDataNumber: num(v, 'tcbEvaluationDataNumber', p),
    tdxModule: isObj(v['tdxModule'])
      ? moduleIdentity(v['tdxModule'], `${p}.tdxModule`, false)
      : undefined,
    tdxModuleIdentities: mods,
    tcbLevels: levels,
  };
}

/** Parses the `enclaveIdentity` object of a QE identity. */
export function parseQeIdentity(v: unknown): QeIdentity {
  const p = 'enclaveIdentity';
  if (!isObj(v)) throw bad(p, 'an object');
  const u32 = (k: string): number => {
    const b = hexOf(v, k, p);
    if (b.length !== 4) throw bad(`${p}.${k}`, '4 bytes of hex');
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  };
  return {
    id: str(v, 'id', p),
    version: num(v, 'version', p),
    issueDate: date(v, 'issueDate', p),
    nextUpdate: date(v, 'nextUpdate', p),
    tcbEvaluationDataNumber: num(v, 'tcbEvaluationDataNumber', p),
    miscSelect: u32('miscselect'),
    miscSelectMask: u32('miscselectMask'),
    attributes: hexOf(v, 'attributes', p),
    attributesMask: hexOf(v, 'attributesMask', p),
    mrSigner: hexOf(v, 'mrsigner', p),
    isvProdId: num(v, 'isvprodid', p),
    tcbLevels: isvLevels(v, p),
  };
}

function parseJson(text: string, field: string): unknown {
  return parseJsonText(text, field, { format: 'tdx-collateral', expected: 'JSON' });
}

/**
 * A signed member of a PCS response (`{"tcbInfo":{…},"signature":"…"}`): the member's exact
 * text is what the signature covers, and the value is parsed from that same text, so what is
 * verified is what is used. (The whole document was parsed first, which refuses a duplicate
 * member name anywhere, so there is exactly one such member.)
 */
function signedMember<T>(
  text: string,
  whole: Obj,
  key: string,
  parse: (v: unknown) => T,
): SignedJson<T> {
  const span = jsonMemberSpans(text).get(key);
  const sig = whole['signature'];
  if (span === undefined) throw bad(key, `a "${key}" object`);
  if (typeof sig !== 'string') throw bad('signature', 'a hex signature');
  const raw = text.slice(span.start, span.end);
  return {
    raw: new Uint8Array(Buffer.from(raw, 'utf8')),
    signature: fromHex(sig, 'signature'),
    value: parse(parseJson(raw, key)),
  };
}

function crlFrom(data: Uint8Array, field: string): Crl {
  const text = Buffer.from(data).toString('latin1').trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0)
    return parseCrl(fromHex(text, field), field);
  return parseCrl(data, field);
}

function crlIssuerIsRoot(crl: Crl): boolean {
  return crl.issuerCn.endsWith('Root CA');
}

/** Parses a QuoteCollateralV3 JSON object (dcap-qvl's layout). */
export function parseQuoteCollateralV3(j: Obj): TdxCollateral {
  const p = 'collateral';
  const tcbText = str(j, 'tcb_info', p);
  const qeText = str(j, 'qe_identity', p);
  const tcbInfo: SignedJson<TdxTcbInfo> = {
    raw: new Uint8Array(Buffer.from(tcbText, 'utf8')),
    signature: hexOf(j, 'tcb_info_signature', p),
    value: parseTdxTcbInfo(parseJson(tcbText, 'tcb_info')),
  };
  const qeIdentity: SignedJson<QeIdentity> = {
    raw: new Uint8Array(Buffer.from(qeText, 'utf8')),
    signature: hexOf(j, 'qe_identity_signature', p),
    value: parseQeIdentity(parseJson(qeText, 'qe_identity')),
  };
  const chain = (k: string): readonly Uint8Array[] =>
    typeof j[k] === 'string' ? parsePemText(j[k], k) : [];
  return {
    tcbInfo,
    qeIdentity,
    tcbInfoIssuerChain: chain('tcb_info_issuer_chain'),
    qeIdentityIssuerChain: chain('qe_identity_issuer_chain'),
    pckCrl:
      typeof j['pck_crl'] === 'string' ? parseCrl(hexOf(j, 'pck_crl', p), 'pck_crl') : undefined,
    pckCrlIssuerChain: chain('pck_crl_issuer_chain'),
    rootCaCrl:
      typeof j['root_ca_crl'] === 'string'
        ? parseCrl(hexOf(j, 'root_ca_crl', p), 'root_ca_crl')
        : undefined,
  };
}

/** Serialises collateral back to the QuoteCollateralV3 JSON layout (for emulated evidence). */
export interface QuoteCollateralV3Json {
  readonly tcb_info: string;
  readonly tcb_info_signature: string;
  readonly tcb_info_issuer_chain: string;
  readonly qe_identity: string;
  readonly qe_identity_signature: string;
  readonly qe_identity_issuer_chain: string;
  readonly pck_crl: string;
  readonly pck_crl_issuer_chain: string;
  readonly root_ca_crl: string;
}

/**
 * Parses TDX collateral from files (name → bytes): one QuoteCollateralV3 JSON, or PCS responses
 * recognised by content.
 * @throws ParseError (`tdx-collateral`) for malformed files or when TCB info or QE identity is
 *   missing
 */
export function parseTdxCollateralFiles(files: ReadonlyMap<string, Uint8Array>): TdxCollateral {
  let tcbInfo: SignedJson<TdxTcbInfo> | undefined;
  let qeIdentity: SignedJson<QeIdentity> | undefined;
  let tcbChain: readonly Uint8Array[] = [];
  let pckCrlChain: readonly Uint8Array[] = [];
  let pckCrl: Crl | undefined;
  let rootCaCrl: Crl | undefined;
  for (const [name, data] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const text = Buffer.from(data).toString('utf8').trim();
    if (text.startsWith('{')) {
      const j = parseJson(text, name);
      if (!isObj(j)) continue;
      if (typeof j['tcb_info'] === 'string' && typeof j['qe_identity'] === 'string') {
        if (files.size === 1) return parseQuoteCollateralV3(j);
        const c = parseQuoteCollateralV3(j);
        tcbInfo = c.tcbInfo;
        qeIdentity = c.qeIdentity;
        tcbChain = c.tcbInfoIssuerChain;
        pckCrl = c.pckCrl ?? pckCrl;
        pckCrlChain = c.pckCrlIssuerChain.length > 0 ? c.pckCrlIssuerChain : pckCrlChain;
        rootCaCrl = c.rootCaCrl ?? rootCaCrl;
      } else if ('tcbInfo' in j) {
        tcbInfo = signedMember(text, j, 'tcbInfo', parseTdxTcbInfo);
      } else if ('enclaveIdentity' in j) {
        qeIdentity = signedMember(text, j, 'enclaveIdentity', parseQeIdentity);
      }
    } else if (text.startsWith('-----BEGIN CERTIFICATE-----')) {
      const certs = parsePemText(text, name);
      const first = Buffer.from(certs[0]!).toString('latin1');
      if (first.includes('TCB Signing')) tcbChain = certs;
      else pckCrlChain = certs;
    } else if (text.includes('X509 CRL') || data[0] === 0x30 || /^[0-9a-fA-F]+$/.test(text)) {
      const crl = crlFrom(data, name);
      if (crlIssuerIsRoot(crl)) rootCaCrl = crl;
      else pckCrl = crl;
    }
  }
  if (tcbInfo === undefined) throw bad('tcbInfo', 'a TCB info file among the collateral');
  if (qeIdentity === undefined)
    throw bad('enclaveIdentity', 'a QE identity file among the collateral');
  return {
    tcbInfo,
    qeIdentity,
    tcbInfoIssuerChain: tcbChain,
    qeIdentityIssuerChain: tcbChain,
    pckCrl,
    pckCrlIssuerChain: pckCrlChain,
    rootCaCrl,
  };
}
