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
import { createHash, createPublicKey } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import type { ImaEvent } from '../../eventlog/ima_format.js';
import { imaFileFields } from '../../formats/ima/ima_file_fields.js';
import { isAllZero, type ImaEntry } from '../../formats/ima/ima_template.js';
import type { ImaCounts, ImaInput, ImaRecord } from './appraisal_input.js';
import type { Finding, FindingId } from './finding.js';
import { findingIdInfo } from './finding.js';
import type { CompiledIma, CompiledPolicy } from './policy.js';
import {
  checkImaSignature,
  imaKeyidOfKey,
  imaSigningKeysOf,
  type ImaSigningKey,
} from '../verify/ima_signature.js';

/** The appraisal view of one IMA event (fields split once). */
export function imaRecordOf(e: ImaEvent): ImaRecord {
  return imaRecordOfEntry(e.entry, e.source.format === 'ima-ascii' ? 'ima-ascii' : 'ima-binary');
}

/** The appraisal view of one IMA entry of a list in `format` (fields split once). */
export function imaRecordOfEntry(e: ImaEntry, format: 'ima-binary' | 'ima-ascii'): ImaRecord {
  return {
    record: e.index,
    offset: e.offset,
    template: e.templateName,
    ...imaFileFields(e, format),
    violation: isAllZero(e.templateHash),
  };
}

/**
 * The ima-sig keys in key material — policy `ima.keys` strings (PEM, or base64 DER), `--ima-key`
 * files, an `ima-buf` keyring entry (a DER certificate): PEM public keys and certificates, DER
 * certificates, DER SubjectPublicKeyInfo. Key ids follow the kernel and evmctl
 * ({@link imaSigningKeysOf}): a certificate's subjectKeyIdentifier, else SHA-1 of the key.
 * @throws ParseError / a node:crypto error for material that holds no key
 */
export function imaKeysOf(material: string | Uint8Array, label: string): ImaSigningKey[] {
  const bytes =
    typeof material === 'string'
      ? Buffer.from(material, material.includes('-----BEGIN') ? 'utf8' : 'base64')
      : Buffer.from(material);
  if (bytes.toString('latin1', 0, Math.min(bytes.length, 4096)).includes('-----BEGIN'))
    return imaSigningKeysOf(bytes, label);
  try {
    return imaSigningKeysOf(bytes, label); // DER certificate(s)
  } catch (e) {
    if (!(e instanceof MrstackError)) throw e;
  }
  const key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  return [{ keyid: imaKeyidOfKey(key), key, label }];
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
 * @param onKeyLearned called with the buffer of each keyring entry the policy accepted
 */
export function judgeImaList(
  input: ImaInput,
  policy: CompiledPolicy,
  extraKeys: readonly ImaSigningKey[],
  onKeyLearned?: (buf: Uint8Array) => void,
): ImaJudgement {
  const ima: CompiledIma = policy.ima;
  const keys: ImaSigningKey[] = [
    ...ima.keys.flatMap((k, i) => imaKeysOf(k, `policy ima.keys[${i}]`)),
    ...extraKeys,
  ];
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
            onKeyLearned?.(r.buf);
            try {
              keys.push(...imaKeysOf(r.buf, `keyring ${r.path}`));
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
    // One checker for verify and appraisal: the key the header's key id names, as the kernel
    // (request_asymmetric_key by id), evmctl and keylime select it — no other key is tried.
    if (
      r.signature !== undefined &&
      keys.length > 0 &&
      checkImaSignature(r.signature, r.digestAlg, Buffer.from(r.digest, 'hex'), keys).status ===
        'verified'
    ) {
      signed++;
      continue;
    }
    // the common case answered in place (policy cache table), the list built only to report
    if (ima.digests.allows?.(r.path, r.digest) === true) {
      matched++;
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
