/**
 * SEV-SNP TCB_VERSION decoding (AMD SEV-SNP ABI spec, "TCB_VERSION Structure").
 *
 * A TCB version is a little-endian u64 whose bytes are security patch levels (SPLs). Milan and
 * Genoa use byte 0 boot loader, 1 TEE, 6 SNP, 7 microcode (2–5 reserved); Turin (CPUID family
 * 0x1A) adds an FMC byte and moves the others: 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 7 microcode
 * (4–6 reserved).
 *
 * @module
 */

/** The two byte layouts of TCB_VERSION. */
export type SnpTcbLayout = 'milan-genoa' | 'turin';

/** The SEV-SNP product generations mrstack knows. */
export type SnpProduct = 'milan' | 'genoa' | 'turin';

/** A decoded TCB_VERSION. */
export interface SnpTcb {
  readonly raw: bigint;
  readonly layout: SnpTcbLayout;
  readonly bootloader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  /** Turin only. */
  readonly fmc?: number;
}

function byteOf(v: bigint, i: number): number {
  return Number((v >> BigInt(8 * i)) & 0xffn);
}

/** Decodes a TCB_VERSION in the given layout. */
export function decodeTcb(raw: bigint, layout: SnpTcbLayout): SnpTcb {
  if (layout === 'turin') {
    return {
      raw,
      layout,
      fmc: byteOf(raw, 0),
      bootloader: byteOf(raw, 1),
      tee: byteOf(raw, 2),
      snp: byteOf(raw, 3),
      microcode: byteOf(raw, 7),
    };
  }
  return {
    raw,
    layout,
    bootloader: byteOf(raw, 0),
    tee: byteOf(raw, 1),
    snp: byteOf(raw, 6),
    microcode: byteOf(raw, 7),
  };
}

/** Encodes SPLs into a TCB_VERSION (the inverse of {@link decodeTcb}). */
export function encodeTcb(
  spl: {
    readonly bootloader: number;
    readonly tee: number;
    readonly snp: number;
    readonly microcode: number;
    readonly fmc?: number;
  },
  layout: SnpTcbLayout,
): bigint {
  const b = new Array<number>(8).fill(0);
  if (layout === 'turin') {
    b[0] = spl.fmc ?? 0;
    b[1] = spl.bootloader;
    b[2] = spl.tee;
    b[3] = spl.snp;
  } else {
    b[0] = spl.bootloader;
    b[1] = spl.tee;
    b[6] = spl.snp;
  }
  b[7] = spl.microcode;
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt((b[i] ?? 0) & 0xff);
  return v;
}

/** The TCB layout for a CPUID family (Turin is family 0x1A). */
export function tcbLayoutForFamily(family: number | undefined): SnpTcbLayout {
  return family === 0x1a ? 'turin' : 'milan-genoa';
}

/** The layout a product uses. */
export function tcbLayoutForProduct(product: SnpProduct): SnpTcbLayout {
  return product === 'turin' ? 'turin' : 'milan-genoa';
}

/**
 * The product named by CPUID family/model (report v3+): family 0x19 models 0x00–0x0F are Milan,
 * other family 0x19 models Genoa (and its Bergamo/Siena variants), family 0x1A Turin.
 */
export function productFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19) return model < 0x10 ? 'milan' : 'genoa';
  if (family === 0x1a) return 'turin';
  return undefined;
}

/** The product named by a VCEK/VLEK productName extension ("Milan-B0", "Genoa", "Turin"). */
export function productFromName(name: string): SnpProduct | undefined {
  const n = name.toLowerCase();
  if (n.startsWith('milan')) return 'milan';
  if (n.startsWith('genoa')) return 'genoa';
  if (n.startsWith('turin')) return 'turin';
  return undefined;
}

/** KDS-style query parameters / readable form: `bl02_tee00_snp06_ucode21[_fmc05]`. */
export function formatTcb(t: SnpTcb): string {
  const h = (n: number): string => n.toString(10).padStart(2, '0');
  const base = `bl${h(t.bootloader)}_tee${h(t.tee)}_snp${h(t.snp)}_ucode${h(t.microcode)}`;
  return t.fmc === undefined ? base : `${base}_fmc${h(t.fmc)}`;
}
