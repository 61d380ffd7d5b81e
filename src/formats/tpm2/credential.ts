/**
 * MakeCredential in software (Part 1, 24 "Credential Protection"; Part 3, 12.6), for the
 * verifier side: seals a secret to (EK, AK name) so that only a TPM holding that EK, with that
 * AK loaded, can recover it with ActivateCredential. RSA EKs (OAEP with label "IDENTITY") and
 * ECC EKs (one-pass ECDH with KDFe); AES-CFB with the EK's symmetric key size; KDFa per
 * SP 800-108 in counter mode with HMAC.
 *
 * @module
 */
import {
  constants as C,
  createCipheriv,
  createECDH,
  createHmac,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { ByteWriter } from '../../bytes/writer.js';
import { hash } from '../../crypto/hash.js';
import { digestSize, hashAlgFromId, hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { MrstackError } from '../../errors.js';
import { TPM_ALG, TPM_ECC } from './constants.js';
import type { TpmPublic } from './marshal/public.js';
import { writeTpm2b } from './marshal/tpm2b.js';
import { publicToKeyObject } from './public_key.js';

/** What ActivateCredential takes. */
export interface MadeCredential {
  /** TPM2B_ID_OBJECT body: TPM2B_DIGEST(outerHMAC) ‖ encIdentity. */
  readonly credentialBlob: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET body: the seed encrypted to the EK. */
  readonly secret: Uint8Array;
}

const u32 = (n: number): Uint8Array => new ByteWriter(4).u32be(n).finish();

/**
 * The counter-mode expansion both TPM KDFs share: blocks for i = 1, 2, … concatenated and cut
 * to `bits` (whole bytes; the TPM's KDF sizes are byte multiples).
 */
function expandCounter(bits: number, block: (counter: Uint8Array) => Uint8Array): Uint8Array {
  const bytes = Math.ceil(bits / 8);
  const out = new Uint8Array(bytes);
  let off = 0;
  for (let i = 1; off < bytes; i++) {
    const h = block(u32(i));
    out.set(h.subarray(0, Math.min(h.length, bytes - off)), off);
    off += h.length;
  }
  return out;
}

/** KDFa (Part 1, 11.4.10.2): SP 800-108 counter-mode HMAC; `label` without its NUL. */
export function kdfa(
  alg: HashAlg,
  key: Uint8Array,
  label: string,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Uint8Array {
  return expandCounter(bits, (counter) =>
    createHmac(hashInfo(alg).nodeName, key)
      .update(counter)
      .update(Buffer.from(`${label}\0`, 'latin1'))
      .update(contextU)
      .update(contextV)
      .update(u32(bits))
      .digest(),
  );
}

/** KDFe (Part 1, 11.4.10.3): SP 800-56A concatenation KDF; `label` without its NUL. */
export function kdfe(
  alg: HashAlg,
  z: Uint8Array,
  label: string,
  partyU: Uint8Array,
  partyV: Uint8Array,
  bits: number,
): Uint8Array {
  return expandCounter(bits, (counter) =>
    hash(
      alg,
      new ByteWriter(64)
        .bytes(counter)
        .bytes(z)
        .bytes(Buffer.from(`${label}\0`, 'latin1'))
        .bytes(partyU)
        .bytes(partyV)
        .finish(),
    ),
  );
}

/** Inputs that tests pin; random otherwise. */
export interface MakeCredentialOptions {
  /** The seed (RSA EK) — random by default. */
  readonly seed?: Uint8Array;
}

/**
 * Seals `credential` (≤ the EK name hash size) to the EK's public area and the AK's name.
 * @throws MrstackError `ERR_UNSUPPORTED` for EKs that are not RSA or ECC P-256/P-384 with AES
 */
export function makeCredential(
  ek: TpmPublic,
  akName: Uint8Array,
  credential: Uint8Array,
  opts: MakeCredentialOptions = {},
): MadeCredential {
  const nameAlg = hashAlgFromId(ek.nameAlg);
  if (nameAlg === undefined || ek.symmetric.algorithm !== TPM_ALG.AES) {
    throw new MrstackError('ERR_UNSUPPORTED', 'MakeCredential: EK needs a hash nameAlg and AES');
  }
  const hLen = digestSize(nameAlg);
  let seed: Uint8Array;
  let secret: Uint8Array;
  if (ek.type === 'rsa') {
    seed = opts.seed ?? new Uint8Array(randomBytes(hLen));
    secret = new Uint8Array(
      publicEncrypt(
        {
          key: publicToKeyObject(ek),
          padding: C.RSA_PKCS1_OAEP_PADDING,
          oaepHash: hashInfo(nameAlg).nodeName,
          oaepLabel: Buffer.from('IDENTITY\0', 'latin1'),
        },
        seed,
      ),
    );
  } else {
    const curve =
      ek.curveId === TPM_ECC.NIST_P256
        ? { name: 'prime256v1', size: 32 }
        : ek.curveId === TPM_ECC.NIST_P384
          ? { name: 'secp384r1', size: 48 }
          : undefined;
    if (curve === undefined) {
      throw new MrstackError('ERR_UNSUPPORTED', 'MakeCredential: EK curve not supported');
    }
    const ecdh = createECDH(curve.name);
    ecdh.generateKeys();
    const ekPoint = Buffer.concat([Buffer.from([4]), ek.x, ek.y]);
    const z = ecdh.computeSecret(ekPoint);
    const eph = ecdh.getPublicKey();
    const ex = eph.subarray(1, 1 + curve.size);
    const ey = eph.subarray(1 + curve.size);
    seed = kdfe(nameAlg, z, 'IDENTITY', ex, ek.x, hLen * 8);
    const w = new ByteWriter(2 * curve.size + 4);
    writeTpm2b(w, ex);
    writeTpm2b(w, ey);
    secret = w.finish();
  }
  const keyBits = ek.symmetric.keyBits ?? 128;
  const symKey = kdfa(nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), keyBits);
  const plain = new ByteWriter(credential.length + 2);
  writeTpm2b(plain, credential);
  const cipher = createCipheriv(`aes-${keyBits}-cfb`, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([cipher.update(plain.finish()), cipher.final()]);
  const hmacKey = kdfa(nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), hLen * 8);
  const outerHmac = createHmac(hashInfo(nameAlg).nodeName, hmacKey)
    .update(encIdentity)
    .update(akName)
    .digest();
  const blob = new ByteWriter(hLen + 2 + encIdentity.length);
  writeTpm2b(blob, outerHmac);
  blob.bytes(encIdentity);
  return { credentialBlob: blob.finish(), secret };
}
