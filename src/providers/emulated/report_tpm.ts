/**
 * The emulated TVM's `tpm` profile report: a real TPMS_ATTEST quote over the emulated PCRs,
 * signed by an emulated AK (ECC P-256, ECDSA-SHA256, restricted signing attributes) whose
 * private key lives under `<state>/keys/tpm/ak-key.pem`. The key is made on first use and
 * published atomically (written to a private temporary file, then hard-linked into place, which
 * fails if another process won the race — its key is then used), so concurrent first reports
 * agree on one AK. `qualifiedSigner` is the AK's qualified name under an emulated ECC SRK
 * (`srk-key.pem` beside it), as on a real TPM where mrstack's tpm provider creates its AK.
 *
 * The report carries the same parts the real tpm provider returns (`signature`, `ak_public`,
 * `pcr_selection`, `pcr_values`), so the verifier runs the same code on both, and the AK
 * certificate from the TVM's TPM CA (`ak_cert`, the CA in `ak_cert_chain`; `tpm_pki.ts`).
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hash } from '../../crypto/hash.js';
import { hashAlgFromId, hashAlgId } from '../../crypto/hash_alg.js';
import { fromErrno, ProviderError } from '../../errors.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_RH, TPM_ST } from '../../formats/tpm2/constants.js';
import { encodeAttest } from '../../formats/tpm2/marshal/attest.js';
import {
  encodePcrSelectionList,
  type PcrSelection,
} from '../../formats/tpm2/marshal/pcr_selection.js';
import { encodePublic, type TpmPublic } from '../../formats/tpm2/marshal/public.js';
import { encodeSignature } from '../../formats/tpm2/marshal/signature.js';
import {
  hierarchyQualifiedName,
  objectName,
  publicFromKeyObject,
  qualifiedName,
} from '../../formats/tpm2/public_key.js';
import { akTemplate, srkTemplate } from '../../formats/tpm2/templates.js';
import type { IoOptions, RawReport } from '../provider.js';
import { registerKey, type EmulatedReportContext } from './report_context.js';
import { EMULATED_TPM_FIRMWARE, emulatedAkCertificate } from './tpm_pki.js';

const AK_FILE = 'ak-key.pem';
const SRK_FILE = 'srk-key.pem';

/** Loads the emulated AK's private key, creating it atomically on first use. */
export function loadEmulatedAk(keysDir: string): KeyObject {
  return loadOrCreateP256(keysDir, AK_FILE);
}

/**
 * The emulated AK's qualified name, the quote's `qualifiedSigner`. The emulated TPM holds its AK
 * where mrstack's tpm provider puts it on a real TPM: under an ECC SRK (the Provisioning
 * Guidance template) in the owner hierarchy, so QN = H(H(TPM_RH_OWNER ‖ SRK name) ‖ AK name)
 * (TPM 2.0 Part 1 §16). A real TPM derives the SRK's point from the owner seed; the emulated
 * one keeps a P-256 key beside the AK's for it.
 */
export function emulatedAkQualifiedName(keysDir: string, akPublic: Uint8Array): Uint8Array {
  const srk = publicFromKeyObject(loadOrCreateP256(keysDir, SRK_FILE), srkTemplate('ecc'));
  const srkQn = qualifiedName(hierarchyQualifiedName(TPM_RH.OWNER), objectName(srk));
  return qualifiedName(srkQn, objectName(akPublic));
}

/** Loads a P-256 private key from `keysDir/file`, creating it atomically on first use. */
function loadOrCreateP256(keysDir: string, file: string): KeyObject {
  const path = join(keysDir, file);
  try {
    return createPrivateKey(readFileSync(path));
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw fromErrno(e, path);
  }
  try {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tmp = join(keysDir, `.${file}.${process.pid}.${randomBytes(6).toString('hex')}`);
    writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
    return createPrivateKey(readFileSync(path));
  } catch (e) {
    throw fromErrno(e, path);
  }
}

/** The emulated AK's TPMT_PUBLIC (the AK template with the key's point). */
export function emulatedAkPublic(key: KeyObject): TpmPublic {
  return publicFromKeyObject(key, akTemplate('ecc'));
}

/** Produces the `tpm` profile's quote. */
export function tpmEmulatedReport(ctx: EmulatedReportContext, opts: IoOptions): Promise<RawReport> {
  opts.signal?.throwIfAborted();
  const key = loadEmulatedAk(ctx.keysDir);
  const akPub = encodePublic(emulatedAkPublic(key));
  let selection: PcrSelection[];
  if (ctx.request.pcrs !== undefined && ctx.request.pcrs.size > 0) {
    selection = [...ctx.request.pcrs].map(([alg, pcrs]) => ({
      hashAlg: hashAlgId(alg),
      pcrs: [...new Set(pcrs)].sort((a, b) => a - b),
    }));
  } else {
    const pcrs = ctx.registers
      .filter((r) => r.alg === 'sha256' && /^pcr\d+$/.test(r.name))
      .map((r) => Number(r.name.slice(3)));
    selection = [{ hashAlg: TPM_ALG.SHA256, pcrs: pcrs.sort((a, b) => a - b) }];
  }
  const values: Uint8Array[] = [];
  for (const s of selection) {
    const alg = hashAlgFromId(s.hashAlg)!;
    for (const p of s.pcrs) {
      const v = ctx.values.get(registerKey(`pcr${p}`, alg));
      if (v === undefined) {
        return Promise.reject(
          new ProviderError('ERR_UNKNOWN_MR', `the emulated TPM has no pcr${p}:${alg}`),
        );
      }
      values.push(v);
    }
  }
  const concat = Buffer.concat(values);
  const attest = encodeAttest({
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: emulatedAkQualifiedName(ctx.keysDir, akPub),
    extraData: ctx.reportData,
    clockInfo: {
      clock: BigInt(Math.max(0, ctx.now.getTime() - ctx.config.created.getTime())),
      resetCount: 0,
      restartCount: 0,
      safe: true,
    },
    firmwareVersion:
      ctx.config.tcbStatus === 'OutOfDate'
        ? EMULATED_TPM_FIRMWARE.outOfDate
        : EMULATED_TPM_FIRMWARE.current,
    attested: { kind: 'quote', pcrSelect: selection, pcrDigest: hash('sha256', concat) },
  });
  const raw = sign('sha256', attest, { key, dsaEncoding: 'ieee-p1363' });
  const signature = encodeSignature({
    kind: 'ecc',
    sigAlg: TPM_ALG.ECDSA,
    hashAlg: TPM_ALG.SHA256,
    r: new Uint8Array(raw.subarray(0, 32)),
    s: new Uint8Array(raw.subarray(32)),
  });
  // What a real AK has beside it: a certificate from the TVM's TPM CA (and the CA itself), so
  // that a verifier trusting that CA — and only such a verifier — trusts the AK.
  const cert = emulatedAkCertificate(
    ctx.stateDir,
    ctx.config.created,
    createPublicKey(key),
    ctx.now,
  );
  return Promise.resolve({
    provider: 'tpm',
    format: 'tpm-quote',
    outblob: attest,
    parts: {
      signature,
      ak_public: akPub,
      ak_cert: cert.ak,
      ak_cert_chain: cert.ca,
      pcr_selection: encodePcrSelectionList(selection),
      pcr_values: new Uint8Array(concat),
    },
    emulated: true,
  });
}
