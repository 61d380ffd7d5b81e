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
 * A small DER reader over {@link ByteReader}; it reads exactly this structure.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';

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

interface Tlv {
  readonly tag: number;
  readonly body: ByteReader;
}

function tlv(r: ByteReader, field: string): Tlv {
  const tag = r.u8(`${field}.tag`);
  let len = r.u8(`${field}.length`);
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) {
      throw r.error('ERR_BAD_ENCODING', `${field}.length`, { expected: 'DER length of 1-3 bytes' });
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8(`${field}.length`);
  }
  return { tag, body: r.take(len, field) };
}

function expectTag(t: Tlv, tag: number, field: string): ByteReader {
  if (t.tag !== tag) {
    throw t.body.errorAt(t.body.offset - 2, 'ERR_BAD_ENCODING', field, {
      expected: `DER tag 0x${tag.toString(16)}`,
      actual: `0x${t.tag.toString(16)}`,
    });
  }
  return t.body;
}

function oid(r: ByteReader): string {
  const b = r.rest();
  if (b.length === 0) return '';
  const parts: number[] = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function integer(r: ByteReader, field: string): number {
  const b = r.rest();
  if (b.length === 0 || b.length > 6) {
    throw r.error('ERR_BAD_ENCODING', field, { expected: 'a small DER INTEGER' });
  }
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/**
 * Parses the SGX extension's value (the DER inside the extension's OCTET STRING).
 * @throws ParseError (`x509`) for malformed DER or missing required members
 */
export function parsePckExtension(der: Uint8Array): PckExtension {
  const top = new ByteReader(der, { format: 'x509' });
  const seq = expectTag(tlv(top, 'sgx_extension'), 0x30, 'sgx_extension');
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
  const base = `${SGX_EXTENSION_OID}.`;
  while (seq.remaining > 0) {
    const item = expectTag(tlv(seq, 'sgx_extension.item'), 0x30, 'sgx_extension.item');
    const id = oid(expectTag(tlv(item, 'item.oid'), 0x06, 'item.oid'));
    const value = tlv(item, `item[${id}]`);
    const key = id.startsWith(base) ? id.slice(base.length) : id;
    switch (key) {
      case '1':
        out.ppid = new Uint8Array(expectTag(value, 0x04, 'ppid').rest());
        break;
      case '2': {
        const tcb = expectTag(value, 0x30, 'tcb');
        while (tcb.remaining > 0) {
          const c = expectTag(tlv(tcb, 'tcb.item'), 0x30, 'tcb.item');
          const cid = oid(expectTag(tlv(c, 'tcb.oid'), 0x06, 'tcb.oid'));
          const n = Number(cid.slice(`${base}2.`.length));
          const v = tlv(c, `tcb[${cid}]`);
          if (n >= 1 && n <= 16)
            out.sgxTcbComponents[n - 1] = integer(expectTag(v, 0x02, cid), cid);
          else if (n === 17) out.pceSvn = integer(expectTag(v, 0x02, 'pcesvn'), 'pcesvn');
          else if (n === 18) out.cpuSvn = new Uint8Array(expectTag(v, 0x04, 'cpusvn').rest());
        }
        break;
      }
      case '3':
        out.pceId = new Uint8Array(expectTag(value, 0x04, 'pceid').rest());
        break;
      case '4':
        out.fmspc = new Uint8Array(expectTag(value, 0x04, 'fmspc').rest());
        break;
      case '5':
        out.sgxType = integer(expectTag(value, 0x0a, 'sgx_type'), 'sgx_type');
        break;
      case '6':
        out.platformInstanceId = new Uint8Array(
          expectTag(value, 0x04, 'platform_instance_id').rest(),
        );
        break;
      case '7': {
        const cfg = expectTag(value, 0x30, 'configuration');
        const names: Record<string, string> = {
          '1': 'dynamic_platform',
          '2': 'cached_keys',
          '3': 'smt_enabled',
        };
        const conf: Record<string, boolean> = {};
        while (cfg.remaining > 0) {
          const c = expectTag(tlv(cfg, 'configuration.item'), 0x30, 'configuration.item');
          const cid = oid(expectTag(tlv(c, 'configuration.oid'), 0x06, 'configuration.oid'));
          const v = expectTag(tlv(c, cid), 0x01, cid).rest();
          conf[names[cid.slice(`${base}7.`.length)] ?? cid] = v[0] !== 0;
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
      throw top.errorAt(0, 'ERR_BAD_VALUE', `sgx_extension.${name}`, { expected: 'present' });
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
