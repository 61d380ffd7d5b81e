/**
 * EAR signing keys kept in the store, so that every process of a fleet signs with the same key
 * and publishes the same JWKS. The private key is sealed with AES-256-GCM under a
 * key-encryption key (KEK) that never enters the store: it comes from the environment
 * (`MRSTACK_VERIFIER_KEK`, 64 hex digits) or a file. `kid` is the RFC 7638 thumbprint. Rotation
 * adds a key and retires the others; retired keys stay in the JWKS for the EAR lifetime so that
 * tokens issued just before a rotation still verify.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MrstackError, UsageError, fromErrno } from '../../errors.js';
import {
  generateEarKey,
  loadSigningKey,
  type EarSignAlg,
  type EarSigningKey,
} from '../result/ear_keys.js';
import type { SigningKeyRecord, VerifierStore } from '../store/store.js';

const SEAL_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Reads the KEK: 32 bytes as 64 hex digits, from `MRSTACK_VERIFIER_KEK` or a file. */
export function loadKek(opts: { file?: string; env?: NodeJS.ProcessEnv }): Uint8Array {
  let text: string | undefined;
  let where = 'MRSTACK_VERIFIER_KEK';
  if (opts.file !== undefined) {
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw fromErrno(e, opts.file);
    }
    where = opts.file;
  } else {
    text = (opts.env ?? process.env)['MRSTACK_VERIFIER_KEK'];
  }
  if (text === undefined) {
    throw new UsageError(
      'ERR_USAGE',
      'the verifier needs a key-encryption key for its EAR signing keys: set MRSTACK_VERIFIER_KEK (64 hex digits) or pass --kek-file',
    );
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new UsageError('ERR_USAGE', `${where}: expected 64 hex digits (a 256-bit key)`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Seals `plain` under `kek`, binding `kid` as associated data (a sealed key can't be swapped). */
export function seal(kek: Uint8Array, kid: string, plain: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(Buffer.from(kid));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return new Uint8Array(Buffer.concat([Buffer.from([SEAL_VERSION]), iv, body, c.getAuthTag()]));
}

/** Opens a sealed key; ERR_STORE when the KEK is wrong or the bytes were altered. */
export function unseal(kek: Uint8Array, kid: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) {
    throw new MrstackError('ERR_STORE', `signing key ${kid}: not a sealed key this build reads`);
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES);
  try {
    const d = createDecipheriv('aes-256-gcm', kek, iv);
    d.setAAD(Buffer.from(kid));
    d.setAuthTag(tag);
    return new Uint8Array(Buffer.concat([d.update(body), d.final()]));
  } catch (e) {
    throw new MrstackError(
      'ERR_STORE',
      `signing key ${kid}: cannot unseal it (wrong key-encryption key, or the stored key was altered)`,
      { cause: e, details: { kid } },
    );
  }
}

async function storeKey(
  store: VerifierStore,
  kek: Uint8Array,
  key: EarSigningKey,
): Promise<SigningKeyRecord> {
  const pkcs8 = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  const kid = key.publicKey.thumbprint;
  return store.putSigningKey({
    kid,
    alg: key.alg,
    publicJwk: { ...key.publicKey.jwk, kid, alg: key.alg, use: 'sig' },
    sealedPrivate: seal(kek, kid, new Uint8Array(pkcs8)),
  });
}

async function openKey(kek: Uint8Array, rec: SigningKeyRecord): Promise<EarSigningKey> {
  const der = unseal(kek, rec.kid, rec.sealedPrivate);
  const pem = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  });
  return loadSigningKey(new Uint8Array(Buffer.from(pem)));
}

/**
 * The key this process signs with: the newest active key in the store. With `importPem`, that
 * key is stored (if new) and made the active one; with an empty store, a fresh key of `alg`.
 */
export async function activeSigningKey(
  store: VerifierStore,
  kek: Uint8Array,
  opts: { importPem?: Uint8Array; alg?: EarSignAlg } = {},
): Promise<EarSigningKey> {
  if (opts.importPem !== undefined) {
    const key = await loadSigningKey(opts.importPem);
    const existing = (await store.listSigningKeys()).find(
      (k) => k.kid === key.publicKey.thumbprint,
    );
    if (existing === undefined) await storeKey(store, kek, key);
    await store.retireSigningKeys(key.publicKey.thumbprint);
    return key;
  }
  const active = (await store.listSigningKeys()).find((k) => k.retiredAt === null);
  if (active !== undefined) return openKey(kek, active);
  const key = await loadSigningKey(
    new Uint8Array(
      Buffer.from(generateEarKey(opts.alg ?? 'ES256').export({ format: 'pem', type: 'pkcs8' })),
    ),
  );
  await storeKey(store, kek, key);
  // Two processes starting on an empty store may both have generated one: the newest wins and
  // the other is retired (it stays in the JWKS, so nothing it signed is lost).
  // Three at once can retire each other's choice and leave no key active (seen in CI: a
  // process crashed reading `.kid` of undefined): then the newest stored key is the one.
  const keys = await store.listSigningKeys();
  const newest = keys.find((k) => k.retiredAt === null) ?? keys[0]!;
  await store.retireSigningKeys(newest.kid);
  return newest.kid === key.publicKey.thumbprint ? key : openKey(kek, newest);
}

/** Rotation: a new key becomes active, the others are retired. Returns the new kid. */
export async function rotateSigningKey(
  store: VerifierStore,
  kek: Uint8Array,
  alg: EarSignAlg = 'ES256',
): Promise<string> {
  const key = await loadSigningKey(
    new Uint8Array(Buffer.from(generateEarKey(alg).export({ format: 'pem', type: 'pkcs8' }))),
  );
  await storeKey(store, kek, key);
  await store.retireSigningKeys(key.publicKey.thumbprint);
  return key.publicKey.thumbprint;
}

/** The JWKS: active keys and keys retired less than `keepSeconds` before `now`. */
export async function publishedJwks(
  store: VerifierStore,
  now: Date,
  keepSeconds: number,
): Promise<{ keys: Record<string, unknown>[] }> {
  const keys = (await store.listSigningKeys()).filter(
    (k) => k.retiredAt === null || now.getTime() - k.retiredAt.getTime() <= keepSeconds * 1000,
  );
  return { keys: keys.map((k) => k.publicJwk) };
}
