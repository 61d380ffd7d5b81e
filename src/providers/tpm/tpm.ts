/**
 * A TPM 2.0 client: each method marshals one command with `formats/tpm2`, sends it over a
 * {@link TpmTransport} and decodes the response. Multi-step operations (reading every PCR of a
 * selection, EK certificate reads in chunks, the EK policy session for ActivateCredential) live
 * here too.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { TPM_CAP, TPM_PT, TPM_RH, TPM_SE, TPM_SU } from '../../formats/tpm2/constants.js';
import { passwordAuth, policyAuth } from '../../formats/tpm2/marshal/auth.js';
import type { TaggedDigest } from '../../formats/tpm2/marshal/digests.js';
import type { PcrSelection } from '../../formats/tpm2/marshal/pcr_selection.js';
import type { PublicArea, TpmPublic } from '../../formats/tpm2/marshal/public.js';
import type { TpmsContext } from '../../formats/tpm2/marshal/context.js';
import { TpmRcError } from '../../formats/tpm2/rc.js';
import { ProviderError } from '../../errors.js';
import {
  decodeActivateCredentialResponse,
  encodeActivateCredential,
} from '../../formats/tpm2/commands/activate_credential.js';
import {
  decodeContextSaveResponse,
  encodeContextSave,
} from '../../formats/tpm2/commands/context_save.js';
import {
  decodeCreateResponse,
  encodeCreate,
  type CreateResult,
} from '../../formats/tpm2/commands/create.js';
import {
  decodeCreatePrimaryResponse,
  encodeCreatePrimary,
  type CreatePrimaryResult,
} from '../../formats/tpm2/commands/create_primary.js';
import {
  decodeFlushContextResponse,
  encodeFlushContext,
} from '../../formats/tpm2/commands/flush_context.js';
import {
  decodeGetCapabilityResponse,
  encodeGetCapability,
} from '../../formats/tpm2/commands/get_capability.js';
import {
  decodeGetRandomResponse,
  encodeGetRandom,
} from '../../formats/tpm2/commands/get_random.js';
import {
  decodeLoadResponse,
  encodeLoad,
  type LoadResult,
} from '../../formats/tpm2/commands/load.js';
import { decodeNvReadResponse, encodeNvRead } from '../../formats/tpm2/commands/nv_read.js';
import {
  decodeNvReadPublicResponse,
  encodeNvReadPublic,
  TPMA_NV,
  type NvReadPublicResult,
} from '../../formats/tpm2/commands/nv_read_public.js';
import { decodePcrEventResponse, encodePcrEvent } from '../../formats/tpm2/commands/pcr_event.js';
import {
  decodePcrExtendResponse,
  encodePcrExtend,
} from '../../formats/tpm2/commands/pcr_extend.js';
import { decodePcrReadResponse, encodePcrRead } from '../../formats/tpm2/commands/pcr_read.js';
import {
  decodePolicySecretResponse,
  encodePolicySecret,
} from '../../formats/tpm2/commands/policy_secret.js';
import {
  decodeQuoteResponse,
  encodeQuote,
  type QuoteResult,
} from '../../formats/tpm2/commands/quote.js';
import {
  decodeReadPublicResponse,
  encodeReadPublic,
  type ReadPublicResult,
} from '../../formats/tpm2/commands/read_public.js';
import {
  decodeStartAuthSessionResponse,
  encodeStartAuthSession,
} from '../../formats/tpm2/commands/start_auth_session.js';
import { decodeStartupResponse, encodeStartup } from '../../formats/tpm2/commands/startup.js';
import type { IoOptions } from '../provider.js';
import type { TpmTransport } from './transport.js';

/** One PCR value read from one bank. */
export interface PcrReading {
  readonly hashAlg: number;
  readonly pcr: number;
  readonly value: Uint8Array;
}

/** A TPM 2.0 reached over a transport. */
export class Tpm {
  readonly transport: TpmTransport;

  constructor(transport: TpmTransport) {
    this.transport = transport;
  }

  /** Sends raw command bytes (for benches and tools); returns the raw response. */
  async raw(command: Uint8Array, opts?: IoOptions): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const resp = await this.transport.transmit(command, opts);
      // TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: the command may be sent again as is.
      const rc = resp.length === 10 ? new DataView(resp.buffer, resp.byteOffset).getUint32(6) : 0;
      if ((rc !== 0x922 && rc !== 0x908 && rc !== 0x90a) || attempt >= 20) return resp;
      await new Promise((r) => setTimeout(r, Math.min(50, 2 ** attempt)));
    }
  }

  /** TPM2_Startup; `TPM_RC_INITIALIZE` (already started) is not an error unless `strict`. */
  async startup(type: number = TPM_SU.CLEAR, strict = false): Promise<boolean> {
    try {
      decodeStartupResponse(await this.raw(encodeStartup(type)));
      return true;
    } catch (e) {
      if (!strict && e instanceof TpmRcError && e.rcName === 'TPM_RC_INITIALIZE') return false;
      throw e;
    }
  }

  /** The allocated PCR banks (TPM_CAP_PCRS): banks with at least one PCR selected. */
  async pcrBanks(opts?: IoOptions): Promise<PcrSelection[]> {
    const c = decodeGetCapabilityResponse(
      await this.raw(encodeGetCapability(TPM_CAP.PCRS, 0, 1), opts),
    );
    if (c.capability !== 'pcrs') return [];
    return c.banks.filter((b) => b.pcrs.length > 0);
  }

  /** TPM properties from `first`, up to `count` (TPM_CAP_TPM_PROPERTIES), as a map. */
  async properties(
    first: number = TPM_PT.FAMILY_INDICATOR,
    count = 64,
  ): Promise<Map<number, number>> {
    const c = decodeGetCapabilityResponse(
      await this.raw(encodeGetCapability(TPM_CAP.TPM_PROPERTIES, first, count)),
    );
    const out = new Map<number, number>();
    if (c.capability === 'properties') for (const p of c.properties) out.set(p.property, p.value);
    return out;
  }

  /**
   * Reads every PCR of the selection, looping because a TPM returns at most 8 digests per
   * PCR_Read. Values come back per bank in ascending PCR order.
   */
  async pcrRead(selection: readonly PcrSelection[], opts?: IoOptions): Promise<PcrReading[]> {
    const want = selection.map((s) => ({ hashAlg: s.hashAlg, pcrs: new Set(s.pcrs) }));
    const got: PcrReading[] = [];
    for (let guard = 0; want.some((w) => w.pcrs.size > 0); guard++) {
      if (guard > 64) {
        throw new ProviderError('ERR_TPM_TRANSPORT', 'TPM2_PCR_Read: the TPM returned no progress');
      }
      const req = want
        .filter((w) => w.pcrs.size > 0)
        .map((w) => ({ hashAlg: w.hashAlg, pcrs: [...w.pcrs].sort((a, b) => a - b) }));
      const res = decodePcrReadResponse(await this.raw(encodePcrRead(req), opts));
      let i = 0;
      let progressed = false;
      for (const s of res.pcrSelectionOut) {
        const w = want.find((x) => x.hashAlg === s.hashAlg);
        for (const p of s.pcrs) {
          const value = res.pcrValues[i++]!;
          if (w?.pcrs.delete(p) === true) {
            got.push({ hashAlg: s.hashAlg, pcr: p, value });
            progressed = true;
          }
        }
      }
      // A bank the TPM does not have comes back empty: stop asking for it.
      if (!progressed) for (const w of want) w.pcrs.clear();
    }
    const order = new Map(selection.map((s, i) => [s.hashAlg, i]));
    return got.sort((a, b) => order.get(a.hashAlg)! - order.get(b.hashAlg)! || a.pcr - b.pcr);
  }

  /** TPM2_PCR_Extend with one digest per bank, all in one command. */
  async pcrExtend(pcr: number, digests: readonly TaggedDigest[], opts?: IoOptions): Promise<void> {
    decodePcrExtendResponse(await this.raw(encodePcrExtend(pcr, digests), opts));
  }

  /** TPM2_PCR_Event: the TPM hashes the data in every bank and extends. */
  async pcrEvent(pcr: number, data: Uint8Array, opts?: IoOptions): Promise<TaggedDigest[]> {
    return decodePcrEventResponse(await this.raw(encodePcrEvent(pcr, data), opts));
  }

  /** TPM2_CreatePrimary under a hierarchy (TPM_RH_ENDORSEMENT, TPM_RH_OWNER …). */
  async createPrimary(hierarchy: number, template: TpmPublic): Promise<CreatePrimaryResult> {
    return decodeCreatePrimaryResponse(await this.raw(encodeCreatePrimary(hierarchy, template)));
  }

  /** TPM2_Create under a loaded parent. */
  async create(parent: number, template: TpmPublic): Promise<CreateResult> {
    return decodeCreateResponse(await this.raw(encodeCreate(parent, template)));
  }

  /** TPM2_Load. */
  async load(parent: number, outPrivate: Uint8Array, publicBytes: Uint8Array): Promise<LoadResult> {
    return decodeLoadResponse(await this.raw(encodeLoad(parent, outPrivate, publicBytes)));
  }

  /** TPM2_ReadPublic. */
  async readPublic(handle: number): Promise<ReadPublicResult> {
    return decodeReadPublicResponse(await this.raw(encodeReadPublic(handle)));
  }

  /** TPM2_Quote with the key's own scheme. */
  async quote(
    akHandle: number,
    qualifyingData: Uint8Array,
    selection: readonly PcrSelection[],
    opts?: IoOptions,
  ): Promise<QuoteResult> {
    return decodeQuoteResponse(
      await this.raw(encodeQuote(akHandle, qualifyingData, selection), opts),
    );
  }

  /** TPM2_FlushContext. */
  async flush(handle: number): Promise<void> {
    decodeFlushContextResponse(await this.raw(encodeFlushContext(handle)));
  }

  /** TPM2_ContextSave. */
  async contextSave(handle: number): Promise<TpmsContext> {
    return decodeContextSaveResponse(await this.raw(encodeContextSave(handle)));
  }

  /** TPM2_GetRandom, looping until `n` bytes. */
  async getRandom(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const b = decodeGetRandomResponse(await this.raw(encodeGetRandom(Math.min(32, n - off))));
      if (b.length === 0) break;
      out.set(b.subarray(0, n - off), off);
      off += b.length;
    }
    return out.subarray(0, Math.min(off, n));
  }

  /** TPM2_NV_ReadPublic. */
  async nvReadPublic(index: number): Promise<NvReadPublicResult> {
    return decodeNvReadPublicResponse(await this.raw(encodeNvReadPublic(index)));
  }

  /**
   * Reads a whole NV index in chunks, authorized by the index itself (AUTHREAD) or the owner
   * (OWNERREAD) with empty passwords, as EK certificate indexes allow.
   */
  async nvReadAll(index: number, chunk = 1024): Promise<Uint8Array> {
    const { nvPublic } = await this.nvReadPublic(index);
    const authHandle =
      (nvPublic.attributes & TPMA_NV.AUTHREAD) !== 0
        ? index
        : (nvPublic.attributes & TPMA_NV.OWNERREAD) !== 0
          ? TPM_RH.OWNER
          : index;
    const out = new Uint8Array(nvPublic.dataSize);
    for (let off = 0; off < nvPublic.dataSize;) {
      const n = Math.min(chunk, nvPublic.dataSize - off);
      const b = decodeNvReadResponse(await this.raw(encodeNvRead(authHandle, index, n, off)));
      if (b.length === 0) break;
      out.set(b.subarray(0, n), off);
      off += b.length;
    }
    return out;
  }

  /** StartAuthSession for an unbound, unsalted policy session (SHA-256). */
  async startPolicySession(): Promise<number> {
    const r = decodeStartAuthSessionResponse(
      await this.raw(encodeStartAuthSession(TPM_SE.POLICY, new Uint8Array(randomBytes(16)))),
    );
    return r.sessionHandle;
  }

  /**
   * ActivateCredential with the AK (password auth, empty) and the EK (a policy session
   * satisfying PolicySecret(TPM_RH_ENDORSEMENT), the EK template's policy).
   */
  async activateCredential(
    akHandle: number,
    ekHandle: number,
    credentialBlob: Uint8Array,
    secret: Uint8Array,
  ): Promise<Uint8Array> {
    const session = await this.startPolicySession();
    try {
      decodePolicySecretResponse(await this.raw(encodePolicySecret(TPM_RH.ENDORSEMENT, session)));
      const out = decodeActivateCredentialResponse(
        await this.raw(
          encodeActivateCredential(
            akHandle,
            ekHandle,
            credentialBlob,
            secret,
            passwordAuth(),
            policyAuth(session),
          ),
        ),
      );
      return out;
    } catch (e) {
      // On failure the session is still loaded: flush it, keep the first error.
      await this.flush(session).catch(() => undefined);
      throw e;
    }
  }

  /** Releases the transport. */
  close(): Promise<void> {
    return this.transport.close();
  }
}

/** A loaded key: its handle and public area. */
export interface LoadedKey {
  readonly handle: number;
  readonly public: PublicArea;
  readonly name: Uint8Array;
}
