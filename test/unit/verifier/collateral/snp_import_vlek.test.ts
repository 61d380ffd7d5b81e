// `collateral import` of a VLEK (issue 18): KDS serves no VLEK (the host gets it from AMD), so its
// entry is named by the VLEK's fingerprint and the TCB its own extensions carry; the roles stay
// pinned — the same key under the VCEK's name below an ASVK is refused, as it is for a report.
// The chain is a test PKI with AMD's names (snp_pki.ts), trusted as a caller's anchor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { CollateralCache } from '../../../../src/verifier/collateral/cache.js';
import { importSnpCollateral } from '../../../../src/verifier/collateral/import.js';
import {
  MILAN_VLEK_EXTENSIONS,
  milanVlekTestChain,
  snpTestCert,
} from '../../../_support/snp_pki.js';
import { tempDir } from '../../../_support/tmp.js';

const spl = MILAN_VLEK_EXTENSIONS;
const chain = milanVlekTestChain();
const pem = (ders: readonly Uint8Array[]): Uint8Array =>
  new Uint8Array(Buffer.from(ders.map((d) => toPem(d)).join('')));
const NOW = new Date('2026-01-01T00:00:00Z');

test('a VLEK with its ASVK and ARK: an entry named by its fingerprint and TCB', (t) => {
  const root = tempDir(t, 'mrstack-vlek-');
  const r = importSnpCollateral(
    new Map([
      ['vlek.der', chain.leafDer],
      ['cert_chain.pem', pem([chain.askDer, chain.arkDer])],
    ]),
    { cache: new CollateralCache(root), now: NOW, source: 'test', trustAnchors: [chain.arkDer] },
  );
  const fp = createHash('sha256').update(chain.leafDer).digest('hex');
  assert.equal(r.kind, 'snp');
  assert.equal(r.key, `milan/vlek-${fp.slice(0, 16)}_bl03_tee00_snp08_ucode115`);
  assert.deepEqual(r.imported, ['vlek', 'cert_chain']);
  assert.deepEqual(new Uint8Array(readFileSync(join(r.dir, 'vlek.der'))), chain.leafDer);
  // cert_chain.pem is the ASVK then the ARK, as KDS serves a chain.
  assert.equal(
    readFileSync(join(r.dir, 'cert_chain.pem'), 'utf8'),
    toPem(chain.askDer) + toPem(chain.arkDer),
  );
});

test("the VLEK's key under the VCEK's name below the ASVK is refused; nothing is written", (t) => {
  const root = tempDir(t, 'mrstack-vlek-bad-');
  const vcekLike = snpTestCert({
    issuer: 'SEV-VLEK-Milan',
    subject: 'SEV-VCEK',
    serial: 2,
    subjectKey: chain.leaf.publicKey,
    issuerKey: chain.ask.privateKey,
    extensions: [...spl],
  });
  assert.throws(
    () =>
      importSnpCollateral(
        new Map([
          ['vcek.der', vcekLike],
          ['cert_chain.pem', pem([chain.askDer, chain.arkDer])],
        ]),
        {
          cache: new CollateralCache(root),
          now: NOW,
          source: 'test',
          trustAnchors: [chain.arkDer],
        },
      ),
    // A VCEK's issuer must be an ASK (named SEV-<Product>), not the ASVK (SEV-VLEK-<Product>).
    { code: 'ERR_CERT_PROFILE', message: /the ASK must be named/ },
  );
  assert.deepEqual(readdirSync(root), []);
});
