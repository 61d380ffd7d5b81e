/**
 * The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1; Intel "SGX PCK
 * Certificate and CRL Profile"): a DER SEQUENCE of `{OID, value}` pairs.
 *
 * | OID suffix | value |
 * |---|---|
 * | .1 | PPID, OCTET STRING (16) |
 * | .2 | TCB: SEQUENCE of {OID .2.1–.2.16, INTEGER} (SGX TCB components), .2.17 PCESVN INTEGER, .2.18 CPUSVN OCTET STRING (16) |
 * | .3 | PCE-ID, OCTET STRING (2) |
 * | .4 | FMSPC, OCTET STRING (6) |
 * | .5 | SGX type, ENUMERATED (0 standard, 1 scalable, 2 scalable with integrity) |
 * | .6 | platform instance ID, OCTET STRING (16), platform-CA leaves only |
 * | .7 | configuration: SEQUENCE of {OID .7.1 dynamic platform, .7.2 cached keys, .7.3 SMT enabled; BOOLEAN} |
 *
 * Read with the one DER reader (formats/x509/der_decode.ts); it reads exactly this structure.
 *
 * @module
 */
import * as asn1js from 'asn1js';
import { ParseError } from '../../errors.js';
import {
  childrenOf,
  contentsOf,
  derError,
  hasTag,
  oidOf,
  parseDer,
  smallIntOf,
  type DerNode,
} from '../x509/der_decode.js';

/** OID of the SGX extension. */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

/** The decoded SGX extension. */
export interface PckExtension {
  readonly ppid: Uint8Array;
  /** SGX TCB components 1..16 (index 0 = component 1). */
  readonly sgxTcbComponents: readonly number[];
  readonly pceSvn: number;
  readonly cpuSvn: Uint8Array;
  readonly pceId: Uint8Array;
  readonly fmspc: Uint8Array;
  readonly sgxType: number;
  readonly platformInstanceId?: Uint8Array;
  readonly configuration?: Readonly<Record<string, boolean>>;
}

function octets(n: DerNode | undefined, field: string): Uint8Array {
  if (n === undefined || !hasTag(n, 4)) throw derError('x509', field, 'OCTET STRING');
  return contentsOf(n);
}

function enumerated(n: DerNode | undefined, field: string): number {
  if (n === undefined || !hasTag(n, 10)) throw derError('x509', field, 'ENUMERATED');
  const b = contentsOf(n);
  if (b.length === 0 || b.length > 4) throw derError('x509', field, 'a small ENUMERATED');
  return b.reduce((v, x) => v * 256 + x, 0);
}

/** The `{OID, value}` pairs of a SEQUENCE OF SEQUENCE, with the OID's suffix below `base`. */
function pairs(n: DerNode, field: string, base: string): [string, DerNode | undefined][] {
  if (!hasTag(n, 16)) throw derError('x509', field, 'SEQUENCE');
  return childrenOf(n, field).map((item) => {
    if (!hasTag(item, 16)) throw derError('x509', `${field}.item`, 'SEQUENCE');
    const [id, value] = childrenOf(item, `${field}.item`);
    const oid = oidOf(id, `${field}.oid`);
    return [oid.startsWith(base) ? oid.slice(base.length) : oid, value];
  });
}

/**
 * Parses the SGX extension's value (the DER inside the extension's OCTET STRING).
 * @throws ParseError (`x509`) for malformed DER or missing required members
 */
export function parsePckExtension(der: Uint8Array): PckExtension {
  const base = `${SGX_EXTENSION_OID}.`;
  const out: {
    ppid?: Uint8Array;
    sgxTcbComponents: number[];
    pceSvn?: number;
    cpuSvn?: Uint8Array;
    pceId?: Uint8Array;
    fmspc?: Uint8Array;
    sgxType?: number;
    platformInstanceId?: Uint8Array;
    configuration?: Record<string, boolean>;
  } = { sgxTcbComponents: new Array<number>(16).fill(0) };
  for (const [key, value] of pairs(parseDer(der, 'sgx_extension'), 'sgx_extension', base)) {
    switch (key) {
      case '1':
        out.ppid = octets(value, 'ppid');
        break;
      case '2':
        for (const [cid, v] of pairs(value!, 'tcb', `${base}2.`)) {
          const n = Number(cid);
          if (n >= 1 && n <= 16) out.sgxTcbComponents[n - 1] = smallIntOf(v, `tcb.${cid}`);
          else if (n === 17) out.pceSvn = smallIntOf(v, 'pcesvn');
          else if (n === 18) out.cpuSvn = octets(v, 'cpusvn');
        }
        break;
      case '3':
        out.pceId = octets(value, 'pceid');
        break;
      case '4':
        out.fmspc = octets(value, 'fmspc');
        break;
      case '5':
        out.sgxType = enumerated(value, 'sgx_type');
        break;
      case '6':
        out.platformInstanceId = octets(value, 'platform_instance_id');
        break;
      case '7': {
        const names: Record<string, string> = {
          '1': 'dynamic_platform',
          '2': 'cached_keys',
          '3': 'smt_enabled',
        };
        const conf: Record<string, boolean> = {};
        for (const [cid, v] of pairs(value!, 'configuration', `${base}7.`)) {
          if (!(v instanceof asn1js.Boolean))
            throw derError('x509', `configuration.${cid}`, 'BOOLEAN');
          conf[names[cid] ?? cid] = v.getValue();
        }
        out.configuration = conf;
        break;
      }
      default:
        break;
    }
  }
  const need = (v: unknown, name: string): void => {
    if (v === undefined) {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'x509',
        offset: 0,
        field: `sgx_extension.${name}`,
        expected: 'present',
      });
    }
  };
  need(out.ppid, 'ppid');
  need(out.pceSvn, 'pcesvn');
  need(out.cpuSvn, 'cpusvn');
  need(out.pceId, 'pceid');
  need(out.fmspc, 'fmspc');
  need(out.sgxType, 'sgx_type');
  return {
    ppid: out.ppid!,
    sgxTcbComponents: out.sgxTcbComponents,
    pceSvn: out.pceSvn!,
    cpuSvn: out.cpuSvn!,
    pceId: out.pceId!,
    fmspc: out.fmspc!,
    sgxType: out.sgxType!,
    ...(out.platformInstanceId === undefined ? {} : { platformInstanceId: out.platformInstanceId }),
    ...(out.configuration === undefined ? {} : { configuration: out.configuration }),
  };
}

/** Encodes an SGX extension value (for emulated PCK certificates). */
export function encodePckExtension(e: PckExtension): Uint8Array {
  const enc = (tag: number, body: Uint8Array): Uint8Array => {
    const len =
      body.length < 0x80
        ? [body.length]
        : body.length < 0x100
          ? [0x81, body.length]
          : [0x82, body.length >> 8, body.length & 0xff];
    return Uint8Array.from([tag, ...len, ...body]);
  };
  const oidBytes = (dotted: string): Uint8Array => {
    const p = dotted.split('.').map(Number);
    const out = [p[0]! * 40 + p[1]!];
    for (const n of p.slice(2)) {
      const chunk: number[] = [n & 0x7f];
      let v = Math.floor(n / 128);
      while (v > 0) {
        chunk.unshift((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
      out.push(...chunk);
    }
    return enc(0x06, Uint8Array.from(out));
  };
  const int = (n: number): Uint8Array => {
    const b: number[] = [];
    let v = n;
    do {
      b.unshift(v & 0xff);
      v = Math.floor(v / 256);
    } while (v > 0);
    if (b[0]! & 0x80) b.unshift(0);
    return Uint8Array.from(b);
  };
  const cat = (...xs: Uint8Array[]): Uint8Array => Uint8Array.from(xs.flatMap((x) => [...x]));
  const pair = (id: string, v: Uint8Array): Uint8Array => enc(0x30, cat(oidBytes(id), v));
  const b = SGX_EXTENSION_OID;
  const tcbItems = e.sgxTcbComponents.map((c, i) => pair(`${b}.2.${i + 1}`, enc(0x02, int(c))));
  tcbItems.push(pair(`${b}.2.17`, enc(0x02, int(e.pceSvn))));
  tcbItems.push(pair(`${b}.2.18`, enc(0x04, e.cpuSvn)));
  return enc(
    0x30,
    cat(
      pair(`${b}.1`, enc(0x04, e.ppid)),
      pair(`${b}.2`, enc(0x30, cat(...tcbItems))),
      pair(`${b}.3`, enc(0x04, e.pceId)),
      pair(`${b}.4`, enc(0x04, e.fmspc)),
      pair(`${b}.5`, enc(0x0a, int(e.sgxType))),
    ),
  );
}
