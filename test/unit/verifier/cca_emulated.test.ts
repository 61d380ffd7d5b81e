// Emulated CCA tokens round-trip: generate → verify passes with the emulated root trusted;
// flipping any byte of either signed payload fails; the realm key is bound to the platform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ParseError } from '../../../src/errors.js';
import { makeEmulatedCcaToken } from '../../../src/providers/emulated/report_cca.js';
import type { EmulatedReportContext } from '../../../src/providers/emulated/report_context.js';
import { verifyCcaToken } from '../../../src/verifier/verify/cca.js';
import { parseCcaToken } from '../../../src/formats/cca/token.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-emu-cca-'));
const RIM = new Uint8Array(32).fill(0x21);
const REM2 = new Uint8Array(32).fill(0x33);
const NONCE = new Uint8Array(32).fill(0x99);

function ctx(reportData: Uint8Array): EmulatedReportContext {
  return {
    stateDir: dir,
    keysDir: join(dir, 'keys', 'cca'),
    profile: 'cca',
    config: {
      profile: 'cca',
      created: new Date('2026-01-01T00:00:00Z'),
      hashAlg: 'sha256',
      staticValues: new Map([['rim', RIM]]),
    },
    registers: [],
    values: new Map([['rem2', REM2]]),
    request: { reportData },
    reportData,
    now: new Date('2026-02-01T00:00:00Z'),
  };
}

const AT = new Date('2026-06-01T00:00:00Z');
const raw = makeEmulatedCcaToken(ctx(NONCE));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the emulated token (tag 907) carries RIM, REMs, the challenge and a bound RAK', () => {
  const t = parseCcaToken(raw.outblob);
  assert.equal(t.tag, 907);
  assert.deepEqual(t.realmClaims.rim, RIM);
  assert.deepEqual(t.realmClaims.rem[2], REM2);
  assert.deepEqual(t.realmClaims.rem[0], new Uint8Array(32));
  const ch = new Uint8Array(64);
  ch.set(NONCE);
  assert.deepEqual(t.realmClaims.challenge, ch);
  assert.deepEqual(
    Buffer.from(t.platformClaims.challenge),
    createHash('sha256').update(t.realmClaims.public_key).digest(),
  );
});

test('verifies with --trust-emulated or the emulated root as anchor; refused otherwise', () => {
  const ok = verifyCcaToken(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'cca', 'root.pem'))],
    nonce: NONCE,
  });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.verified, true);
  assert.equal(ok.trust.emulated, true);
  const anchored = verifyCcaToken(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [readFileSync(join(dir, 'keys', 'cca', 'root.pem'))],
  });
  assert.equal(anchored.verified, true);
  const refused = verifyCcaToken(raw.outblob, { policy: RELAX_NONCE_CRL, at: AT });
  assert.equal(refused.verified, false);
  assert.deepEqual([...new Set(refused.errors.map((e) => e.code))], ['ERR_UNTRUSTED_ROOT']);
  const early = verifyCcaToken(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: new Date('2020-01-01T00:00:00Z'),
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'cca', 'root.pem'))],
  });
  assert.ok(early.errors.some((e) => e.code === 'ERR_CERT_NOT_YET_VALID'));
});

test('flipping bytes across both signed payloads fails verification', () => {
  const t = parseCcaToken(raw.outblob);
  const whole = Buffer.from(raw.outblob);
  for (const s of [t.platform, t.realm]) {
    const at = whole.indexOf(Buffer.from(s.payload));
    assert.ok(at > 0);
    // Every byte would take ~20 s; every 5th byte plus both ends covers each claim.
    const offsets = [...Array(s.payload.length).keys()].filter(
      (i) => i % 5 === 0 || i < 8 || i >= s.payload.length - 8,
    );
    for (const i of offsets) {
      const b = Uint8Array.from(whole);
      b[at + i]! ^= 0x01;
      try {
        const r = verifyCcaToken(b, {
          policy: RELAX_NONCE_CRL,
          at: AT,
          emulatedAnchors: [readFileSync(join(dir, 'keys', 'cca', 'root.pem'))],
        });
        assert.equal(r.verified, false, `offset ${at + i}`);
      } catch (e) {
        assert.ok(e instanceof ParseError, `offset ${at + i}: ${String(e)}`);
      }
    }
  }
});
