/**
 * IMA list entries built for tests, and PCR 10 folded over them with node:crypto alone (bank ←
 * H(bank ‖ H(template data)), from zeros), so an expected register value never comes from
 * mrstack's own fold. The template-hash column is SHA-1 of the template data, as the kernel
 * writes it for an ima-ng list.
 */
import { createHash } from 'node:crypto';
import {
  encodeImaTemplateData,
  type ImaEntry,
  type ImaField,
} from '../../src/formats/ima/ima_template.js';

const enc = new TextEncoder();

/** An `n-ng` field's data: the name's bytes and a NUL. */
export function ngName(name: string): Uint8Array {
  return new Uint8Array([...enc.encode(name), 0]);
}

/** A `d-ng` field's data for a SHA-256 digest: `sha256:`, a NUL, the digest. */
export function ngSha256(digest: Uint8Array): Uint8Array {
  return new Uint8Array([...enc.encode('sha256:'), 0, ...digest]);
}

/** An entry of template `templateName` with `fields`, at list position `index`, for PCR 10. */
export function imaEntry(templateName: string, fields: readonly ImaField[], index = 0): ImaEntry {
  const templateData = encodeImaTemplateData(templateName, fields);
  return {
    index,
    offset: 0,
    pcr: 10,
    templateHash: new Uint8Array(createHash('sha1').update(templateData).digest()),
    templateName,
    templateData,
    littleEndian: true,
  };
}

/** An ima-ng entry measuring `path` whose file content is `content` (SHA-256 of it). */
export function imaNgEntry(index: number, path: string, content: string = path): ImaEntry {
  const digest = createHash('sha256').update(content).digest();
  return imaEntry(
    'ima-ng',
    [
      { id: 'd-ng', data: ngSha256(digest) },
      { id: 'n-ng', data: ngName(path) },
    ],
    index,
  );
}

/** A file `path` measured with `content`: its ima-ng entry, and the hex SHA-256 a policy lists. */
export function measuredFile(path: string, content: string): { e: ImaEntry; digest: string } {
  return {
    e: imaNgEntry(0, path, content),
    digest: createHash('sha256').update(content).digest('hex'),
  };
}

/** PCR 10 in bank `alg` after `entries`, from `start` (default zeros), by node:crypto. */
export function pcr10Fold(entries: readonly ImaEntry[], alg: string, start?: Buffer): Buffer {
  let v = start ?? Buffer.alloc(createHash(alg).digest().length);
  for (const e of entries)
    v = createHash(alg).update(v).update(createHash(alg).update(e.templateData).digest()).digest();
  return v;
}
