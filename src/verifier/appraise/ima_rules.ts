/**
 * keylime's IMA semantics over a measurement list (DESIGN §6.3): an entry passes when its path
 * is excluded, its file digest is allowed for its path, or its `ima-sig` signature verifies
 * with a trusted key; `ima-buf` entries are judged against keyrings and `ima_buf` rules. Unlike
 * keylime with no policy at all, an entry nothing vouches for always fails (`ima.file.unknown`):
 * with neither allowlist nor keys every file is unknown.
 *
 * Entries come from the one IMA engine in `src/eventlog/ima_format.ts` ({@link imaRecordOf}).
 *
 * @module
 */
import { createHash, createPublicKey, publicDecrypt, constants, type KeyObject } from 'node:crypto';
import { toHex } from '../../bytes/hex.js';
import type { ImaEvent } from '../../eventlog/ima_format.js';
import { imaFileFields } from '../../formats/ima/ima_file_fields.js';
import type { ImaCounts, ImaInput, ImaRecord } from './appraisal_input.js';
import type { Finding, FindingId } from './finding.js';
import { findingIdInfo } from './finding.js';
import type { CompiledIma, CompiledPolicy } from './policy.js';

/** The appraisal view of one IMA event (fields split once). */
export function imaRecordOf(e: ImaEvent): ImaRecord {
  const fmt = e.source.format === 'ima-ascii' ? 'ima-ascii' : 'ima-binary';
  return {
    record: e.index,
    offset: e.source.offset,
    template: e.entry.templateName,
    ...imaFileFields(e.entry, fmt),
    violation: e.violation,
  };
}

const DIGEST_INFO_PREFIX: Readonly<Record<string, string>> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};
// IMA's hash_algo numbering (linux/hash_info.h) for the ones a signature v2 header names.
const IMA_HASH_ALGO: Readonly<Record<number, string>> = {
  2: 'sha1',
  4: 'sha256',
  5: 'sha384',
  6: 'sha512',
};

/** An ima-sig key with its IMA key id (the last 4 bytes of SHA-1 of the SPKI public key bits). */
export interface ImaKey {
  readonly key: KeyObject;
  readonly keyid: string;
}

/** Reads a key from PEM or base64 SPKI DER (or raw DER bytes). */
export function imaKeyOf(material: string | Uint8Array): ImaKey {
  const key =
    typeof material === 'string'
      ? material.includes('-----BEGIN')
        ? createPublicKey(material)
        : createPublicKey({ key: Buffer.from(material, 'base64'), format: 'der', type: 'spki' })
      : Buffer.from(material).toString('latin1').includes('-----BEGIN')
        ? createPublicKey(Buffer.from(material))
        : createPublicKey({ key: Buffer.from(material), format: 'der', type: 'spki' });
  // evmctl's key id: SHA-1 over the DER public key (PKCS#1 RSAPublicKey for RSA), last 4 bytes
  const der =
    key.asymmetricKeyType === 'rsa'
      ? key.export({ format: 'der', type: 'pkcs1' })
      : key.export({ format: 'der', type: 'spki' });
  const id = createHash('sha1').update(der).digest('hex').slice(-8);
  return { key, keyid: id };
}

/**
 * Verifies an IMA signature v2 (`03 02 <hash_algo> <keyid:4> <len:2> <sig>`) over the file
 * digest. RSA PKCS#1 v1.5 is checked (the digest is signed as is, so the DigestInfo is compared
 * after the public-key operation); other key types give false.
 */
export function verifyImaSignature(
  sig: Uint8Array,
  digestHex: string,
  keys: readonly ImaKey[],
): boolean {
  if (sig.length < 9 || sig[0] !== 3 || sig[1] !== 2) return false;
  const alg = IMA_HASH_ALGO[sig[2]!];
  const keyid = toHex(sig.subarray(3, 7));
  // the key named by the header first; then the others (key ids are computed differently by
  // evmctl versions and the kernel's certificate SKID)
  const ordered = [...keys].sort((a, b) => Number(b.keyid === keyid) - Number(a.keyid === keyid));
  const len = (sig[7]! << 8) | sig[8]!;
  if (alg === undefined || sig.length !== 9 + len) return false;
  const want = DIGEST_INFO_PREFIX[alg]! + digestHex;
  for (const k of ordered) {
    if (k.key.asymmetricKeyType !== 'rsa') continue;
    try {
      const out = publicDecrypt(
        { key: k.key, padding: constants.RSA_PKCS1_PADDING },
        sig.subarray(9),
      );
      if (out.toString('hex') === want) return true;
    } catch {
      // a signature that does not decrypt under this key: try the next one
    }
  }
  return false;
}

function fail(
  policy: CompiledPolicy,
  id: FindingId,
  input: ImaInput,
  r: ImaRecord,
  expected: unknown,
  message: string,
): Finding {
  return {
    id,
    status: policy.status(id, findingIdInfo(id).status),
    claim: r.path,
    ...(expected === undefined ? {} : { expected }),
    actual: `${r.digestAlg}:${r.digest}`,
    where: { layer: 'ima', log: input.log, record: r.record, offset: r.offset },
    message,
  };
}

/** A list's verdict counts and failing findings. */
export interface ImaJudgement {
  readonly counts: ImaCounts;
  readonly failures: Finding[];
}

/**
 * Judges every entry of one list.
 * @param extraKeys keys given by the caller (`--ima-key`)
 */
export function judgeImaList(
  input: ImaInput,
  policy: CompiledPolicy,
  extraKeys: readonly ImaKey[],
): ImaJudgement {
  const ima: CompiledIma = policy.ima;
  const keys: ImaKey[] = [...ima.keys.map((k) => imaKeyOf(k)), ...extraKeys];
  const failures: Finding[] = [];
  let entries = 0;
  let matched = 0;
  let signed = 0;
  let excluded = 0;
  let unknown = 0;
  let mismatched = 0;
  let violations = 0;
  const allIgnored = ima.ignoredKeyrings.has('*');
  for (const r of input.entries) {
    entries++;
    if (r.violation) {
      violations++;
      failures.push(
        fail(policy, 'ima.violation', input, r, undefined, `measurement violation for ${r.path}`),
      );
      continue;
    }
    if (ima.excluded(r.path)) {
      excluded++;
      continue;
    }
    if (r.template === 'ima-buf') {
      const ring = ima.keyrings.get(r.path);
      if (ring !== undefined || ima.ignoredKeyrings.has(r.path) || allIgnored) {
        if (allIgnored || ima.ignoredKeyrings.has(r.path)) {
          excluded++;
          continue;
        }
        const h =
          r.digestAlg === 'sha256' || r.buf === undefined
            ? r.digest
            : createHash('sha256').update(r.buf).digest('hex');
        if (ring!.has(h)) {
          matched++;
          // a key accepted on a keyring vouches for later ima-sig signatures (keylime)
          if (r.buf !== undefined) {
            try {
              keys.push(imaKeyOf(r.buf));
            } catch {
              // not a key this runtime reads (an X.509 certificate, say): nothing to add
            }
          }
          continue;
        }
        unknown++;
        failures.push(
          fail(
            policy,
            'ima.buf.unknown',
            input,
            r,
            [...ring!].slice(0, 8),
            `key on keyring ${r.path} is not allowed`,
          ),
        );
        continue;
      }
      const bufs = ima.imaBuf.get(r.path);
      if (bufs?.has(r.digest) === true) {
        matched++;
        continue;
      }
      unknown++;
      failures.push(
        fail(
          policy,
          'ima.buf.unknown',
          input,
          r,
          bufs === undefined ? undefined : [...bufs].slice(0, 8),
          `ima-buf ${r.path} is not allowed`,
        ),
      );
      continue;
    }
    if (
      r.signature !== undefined &&
      keys.length > 0 &&
      verifyImaSignature(r.signature, r.digest, keys)
    ) {
      signed++;
      continue;
    }
    const allowed = ima.digests.get(r.path);
    if (allowed === undefined) {
      unknown++;
      failures.push(
        fail(
          policy,
          r.signature !== undefined && keys.length > 0
            ? 'ima.file.signature-invalid'
            : 'ima.file.unknown',
          input,
          r,
          undefined,
          `${r.path} is not in the allowlist`,
        ),
      );
    } else if (allowed.includes(r.digest)) {
      matched++;
    } else {
      mismatched++;
      failures.push(
        fail(
          policy,
          'ima.file.digest-mismatch',
          input,
          r,
          allowed.slice(0, 8),
          `${r.path} has a digest the allowlist does not list`,
        ),
      );
    }
  }
  return {
    counts: { entries, matched, signed, excluded, unknown, mismatched, violations },
    failures,
  };
}
