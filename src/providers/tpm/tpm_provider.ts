/**
 * The `tpm` provider (DESIGN §2): PCR banks from GetCapability, reads per bank, extends per
 * DESIGN §7 (`pcrN:ALG` one bank with a digest; bare `pcrN` every allocated bank from event
 * data, one PCR_Extend carrying a digest per bank), and reports as TPM2_Quote by an AK, with the
 * AK public part, the signature and the quoted PCR values as parts the evidence layer verifies.
 *
 * @module
 */
import { hash } from '../../crypto/hash.js';
import { digestSize, hashAlgFromId, hashAlgId, type HashAlg } from '../../crypto/hash_alg.js';
import { bytesEqual } from '../../bytes/hex.js';
import { ProviderError } from '../../errors.js';
import { TPM_ALG, TPMA_OBJECT } from '../../formats/tpm2/constants.js';
import { TpmRcError } from '../../formats/tpm2/rc.js';
import {
  encodePcrSelectionList,
  type PcrSelection,
} from '../../formats/tpm2/marshal/pcr_selection.js';
import type { KeyAlg } from '../../formats/tpm2/templates.js';
import {
  selectMrs,
  type ExtendInput,
  type ExtendResult,
  type IoOptions,
  type MrInfo,
  type MrSelector,
  type MrValue,
  type Profile,
  type Provider,
  type RawReport,
  type ReportRequest,
} from '../provider.js';
import { DRTM_PCRS } from './agent_pcrs.js';
import { DeviceTransport } from './device_transport.js';
import { createAk, createEk, loadAk, readEkCertificateIfAny, type AkBlob } from './identity.js';
import { parseSocketAddress, SwtpmTransport } from './swtpm_transport.js';
import { Tpm, type LoadedKey } from './tpm.js';
import type { TpmTransport } from './transport.js';

/** Options of the tpm provider. */
export interface TpmProviderOptions {
  /** Key algorithm of the ephemeral AK made for reports when no `ak` is given (default ecc). */
  readonly akAlg?: KeyAlg;
  /** A persistent AK (from `mrstack tpm ak create`) to quote with. */
  readonly ak?: AkBlob;
  /**
   * An AK the TPM keeps at a persistent handle (0x81000000–0x81FFFFFF, e.g. made with
   * `tpm2_createak` + `tpm2_evictcontrol`) to quote with; it is used as it is and never flushed.
   * Wins over `ak`.
   */
  readonly akHandle?: number;
  /**
   * Add the EK of this algorithm to reports (`ek_public`, and `ek_certificate` when the TPM has
   * one in NV), so a verifier can bind the AK to the EK (MakeCredential) and the EK to its
   * manufacturer.
   */
  readonly ekBinding?: KeyAlg;
  /** Send TPM2_Startup(CLEAR) first (an already started TPM is fine). Default false. */
  readonly startup?: boolean;
}

const PCR_NAME = /^pcr(\d{1,2})$/;

/** Parses `pcrN` into N. */
function pcrIndex(name: string): number | undefined {
  const m = PCR_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** A provider over a TPM 2.0. */
export class TpmProvider implements Provider {
  readonly kind = 'tpm' as const;
  readonly profile: Profile | undefined = 'tpm';
  readonly tpm: Tpm;
  readonly #opts: TpmProviderOptions;
  #banks: PcrSelection[] | undefined;
  #ak: LoadedKey | undefined;
  /** True when #ak is a persistent object (`akHandle`): never flushed. */
  #akPersistent = false;
  #started = false;

  constructor(transport: TpmTransport, opts: TpmProviderOptions = {}) {
    this.tpm = new Tpm(transport);
    this.#opts = opts;
  }

  async #ready(): Promise<void> {
    if (this.#started) return;
    if (this.#opts.startup === true) await this.tpm.startup();
    this.#started = true;
  }

  /** The allocated banks (cached). */
  async banks(opts?: IoOptions): Promise<PcrSelection[]> {
    await this.#ready();
    this.#banks ??= (await this.tpm.pcrBanks(opts)).filter(
      (b) => hashAlgFromId(b.hashAlg) !== undefined,
    );
    return this.#banks;
  }

  async describe(opts?: IoOptions): Promise<readonly MrInfo[]> {
    const out: MrInfo[] = [];
    const banks = await this.banks(opts);
    const max = Math.max(0, ...banks.flatMap((b) => b.pcrs));
    for (let p = 0; p <= max; p++) {
      for (const b of banks) {
        if (!b.pcrs.includes(p)) continue;
        const alg = hashAlgFromId(b.hashAlg)!;
        const size = digestSize(alg);
        const extendable = !DRTM_PCRS.includes(p);
        out.push({
          name: `pcr${p}`,
          alg,
          size,
          kind: 'runtime',
          extendable,
          ...(extendable ? { extendInput: { min: size, max: size } } : {}),
        });
      }
    }
    return out;
  }

  async read(sel: MrSelector, opts?: IoOptions): Promise<readonly MrValue[]> {
    const mrs = selectMrs(await this.describe(opts), sel);
    const values = await this.#readPcr(
      pcrIndex(sel.name)!,
      mrs.map((m) => m.alg!),
      opts,
    );
    return mrs.map((m) => ({ name: m.name, alg: m.alg, value: values.get(m.alg!)! }));
  }

  async #readPcr(
    pcr: number,
    algs: readonly HashAlg[],
    opts?: IoOptions,
  ): Promise<Map<HashAlg, Uint8Array>> {
    const got = await this.tpm.pcrRead(
      algs.map((a) => ({ hashAlg: hashAlgId(a), pcrs: [pcr] })),
      opts,
    );
    return new Map(got.map((g) => [hashAlgFromId(g.hashAlg)!, g.value]));
  }

  async extend(
    sel: MrSelector,
    input: ExtendInput,
    opts?: IoOptions,
  ): Promise<readonly ExtendResult[]> {
    const mrs = selectMrs(await this.describe(opts), sel);
    const pcr = pcrIndex(sel.name)!;
    if (mrs.some((m) => !m.extendable)) {
      throw new ProviderError(
        'ERR_NOT_EXTENDABLE',
        `${sel.name} is a DRTM PCR: not extendable from locality 0`,
        {
          details: { mr: sel.name },
        },
      );
    }
    let digests: { hashAlg: number; digest: Uint8Array }[];
    if (input.kind === 'digest') {
      if (mrs.length !== 1) {
        throw new ProviderError(
          'ERR_EVENT_DATA_REQUIRED',
          `${sel.name} has ${mrs.length} banks: name one (${sel.name}:ALG) or give event data`,
          { details: { mr: sel.name } },
        );
      }
      const m = mrs[0]!;
      if (input.digest.length !== m.size) {
        throw new ProviderError(
          'ERR_DIGEST_SIZE',
          `${sel.name}:${m.alg} takes a ${m.size}-byte digest, got ${input.digest.length} bytes`,
          {
            details: { mr: `${sel.name}:${m.alg}`, expected: m.size, actual: input.digest.length },
          },
        );
      }
      digests = [{ hashAlg: hashAlgId(m.alg!), digest: input.digest }];
    } else {
      digests = mrs.map((m) => ({ hashAlg: hashAlgId(m.alg!), digest: hash(m.alg!, input.data) }));
    }
    const algs = mrs.map((m) => m.alg!);
    const before = await this.#readPcr(pcr, algs, opts);
    await this.tpm.pcrExtend(pcr, digests, opts);
    const after = await this.#readPcr(pcr, algs, opts);
    return mrs.map((m) => ({
      name: m.name,
      alg: m.alg,
      old: before.get(m.alg!)!,
      new: after.get(m.alg!)!,
    }));
  }

  /** The AK used for reports: the configured one, else an ephemeral one (created once). */
  async attestationKey(): Promise<LoadedKey> {
    await this.#ready();
    if (this.#ak === undefined && this.#opts.akHandle !== undefined) {
      this.#ak = await persistentAk(this.tpm, this.#opts.akHandle);
      this.#akPersistent = true;
    }
    if (this.#ak === undefined) {
      const blob = this.#opts.ak ?? (await createAk(this.tpm, this.#opts.akAlg ?? 'ecc', 'ecc'));
      this.#ak = await loadAk(this.tpm, blob);
    }
    return this.#ak;
  }

  async report(req: ReportRequest, opts?: IoOptions): Promise<RawReport> {
    if (req.reportData.length > 64) {
      throw new ProviderError(
        'ERR_USAGE',
        `TPM qualifying data is at most 64 bytes, got ${req.reportData.length}`,
      );
    }
    const banks = await this.banks(opts);
    let selection: PcrSelection[];
    if (req.pcrs !== undefined && req.pcrs.size > 0) {
      selection = [...req.pcrs].map(([alg, pcrs]) => ({
        hashAlg: hashAlgId(alg),
        pcrs: [...new Set(pcrs)].sort((a, b) => a - b),
      }));
    } else {
      const bank = banks.find((b) => b.hashAlg === TPM_ALG.SHA256) ?? banks[0];
      if (bank === undefined) throw new ProviderError('ERR_UNSUPPORTED', 'the TPM has no PCR bank');
      selection = [{ hashAlg: bank.hashAlg, pcrs: [...bank.pcrs] }];
    }
    const ak = await this.attestationKey();
    // Quote, then read the values; retry when an extend slipped in between.
    for (let attempt = 0; ; attempt++) {
      const q = await this.tpm.quote(ak.handle, req.reportData, selection, opts);
      const values = await this.tpm.pcrRead(selection, opts);
      const concat = Buffer.concat(values.map((v) => v.value));
      const sigHash =
        q.signature.kind === 'rsa' || q.signature.kind === 'ecc'
          ? hashAlgFromId(q.signature.hashAlg)
          : undefined;
      const digestOk =
        sigHash === undefined ||
        bytesEqual(hash(sigHash, concat), q.quoted.subarray(q.quoted.length - digestSize(sigHash)));
      if (digestOk || attempt >= 4) {
        const ek =
          this.#opts.ekBinding === undefined ? {} : await this.#ekParts(this.#opts.ekBinding);
        return {
          provider: 'tpm',
          format: 'tpm-quote',
          outblob: q.quoted,
          parts: {
            signature: q.signatureBytes,
            ak_public: ak.public.bytes,
            pcr_selection: encodePcrSelectionList(selection),
            pcr_values: new Uint8Array(concat),
            ...ek,
          },
          emulated: false,
        };
      }
    }
  }

  async #ekParts(alg: KeyAlg): Promise<Record<string, Uint8Array>> {
    const ek = await createEk(this.tpm, alg);
    await this.tpm.flush(ek.handle);
    const cert = await readEkCertificateIfAny(this.tpm, alg);
    return { ek_public: ek.public.bytes, ...(cert === undefined ? {} : { ek_certificate: cert }) };
  }

  async close(): Promise<void> {
    const ak = this.#ak;
    this.#ak = undefined;
    try {
      // A persistent AK stays in the TPM: flushing applies to the transient one made here.
      if (ak !== undefined && !this.#akPersistent)
        await this.tpm.flush(ak.handle).catch(() => undefined);
    } finally {
      await this.tpm.close();
    }
  }
}

/** Persistent object handles (TPM 2.0 Part 2, 7.2: handle type TPM_HT_PERSISTENT, 0x81). */
export const PERSISTENT_HANDLES = { first: 0x81000000, last: 0x81ffffff } as const;

/**
 * The AK at a persistent handle: its public area, checked to be a restricted signing key (what
 * TPM2_Quote needs for a quote a verifier can trust).
 * @throws ProviderError `ERR_USAGE` (not a persistent handle, or not an AK), `ERR_NOT_FOUND`
 * (nothing at that handle)
 */
async function persistentAk(tpm: Tpm, handle: number): Promise<LoadedKey> {
  const hex = `0x${handle.toString(16).padStart(8, '0')}`;
  if (handle < PERSISTENT_HANDLES.first || handle > PERSISTENT_HANDLES.last) {
    throw new ProviderError(
      'ERR_USAGE',
      `AK handle ${hex} is not a persistent handle (0x81000000-0x81ffffff)`,
      { details: { handle: hex } },
    );
  }
  let rp;
  try {
    rp = await tpm.readPublic(handle);
  } catch (e) {
    if (e instanceof TpmRcError && e.rcInfo.name === 'TPM_RC_HANDLE') {
      throw new ProviderError('ERR_NOT_FOUND', `the TPM holds no object at ${hex}`, {
        details: { handle: hex, tpm_rc: 'TPM_RC_HANDLE' },
      });
    }
    throw e;
  }
  const attrs = rp.outPublic.public.objectAttributes;
  const ak = TPMA_OBJECT.sign | TPMA_OBJECT.restricted;
  if ((attrs & ak) !== ak || (attrs & TPMA_OBJECT.decrypt) !== 0) {
    throw new ProviderError(
      'ERR_USAGE',
      `the key at ${hex} is not an attestation key (a restricted signing key): objectAttributes 0x${(attrs >>> 0).toString(16)}`,
      { details: { handle: hex, object_attributes: attrs >>> 0 } },
    );
  }
  return { handle, public: rp.outPublic, name: rp.name };
}

/** Where the TPM is: a device path, or a swtpm address (`HOST:PORT`, `unix:PATH`). */
export interface TpmLocation {
  readonly device?: string;
  readonly swtpm?: string;
}

/** The transport for a location: swtpm socket when given, else the device (default `/dev/tpmrm0`). */
export function openTpmTransport(loc: TpmLocation = {}): TpmTransport {
  return loc.swtpm !== undefined
    ? new SwtpmTransport(parseSocketAddress(loc.swtpm))
    : new DeviceTransport(loc.device);
}

/** Opens the tpm provider on a device (default `/dev/tpmrm0`) or a swtpm socket. */
export function openTpmProvider(loc: TpmLocation = {}, opts: TpmProviderOptions = {}): TpmProvider {
  return new TpmProvider(openTpmTransport(loc), opts);
}
