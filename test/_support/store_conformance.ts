/**
 * The store conformance suite: every behaviour the verifier service relies on, written once and
 * run on each adapter (embedded PGlite, PostgreSQL). Expected values come from the contract in
 * src/verifier/store/store.ts (DESIGN §6.5), never from what an adapter returned first.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { NewResult, VerifierStore } from '../../src/verifier/store/store.js';
import { MrstackError } from '../../src/errors.js';

/** Opens a fresh, empty store for one test; the suite closes it. */
export type StoreFactory = () => Promise<VerifierStore>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function result(id: string, attesterId: string, over: Partial<NewResult> = {}): NewResult {
  return {
    id,
    sessionId: null,
    attesterId,
    status: 'affirming',
    passed: true,
    relaxed: [],
    policyId: 'default@sha256:00',
    ear: 'eyJ.x.y',
    findings: { findings: [] },
    ...over,
  };
}

async function withStore(
  open: StoreFactory,
  fn: (s: VerifierStore) => Promise<void>,
): Promise<void> {
  const s = await open();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** Registers the conformance tests for one adapter. */
export function storeConformance(name: string, open: () => StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    test('a session keeps its nonce and expires ttl after the database clock', async () => {
      await withStore(open(), async (s) => {
        const nonce = randomBytes(32);
        const before = await s.now();
        const made = await s.createSession({ id: 's1', nonce, attesterId: 'a1', ttlSeconds: 90 });
        assert.deepEqual(made.nonce, new Uint8Array(nonce));
        assert.equal(made.expiresAt.getTime() - made.createdAt.getTime(), 90_000);
        assert.ok(made.createdAt.getTime() >= before.getTime());
        assert.equal(made.consumedAt, null);
        const got = await s.getSession('s1');
        assert.deepEqual(got, made);
        assert.equal(await s.getSession('nope'), null);
      });
    });

    test('a nonce is consumed once; reuse, expiry and unknown ids are told apart', async () => {
      await withStore(open(), async (s) => {
        await s.createSession({ id: 'a', nonce: randomBytes(32), ttlSeconds: 60 });
        await s.createSession({ id: 'short', nonce: randomBytes(32), ttlSeconds: 0.05 });
        const first = await s.consumeSession('a');
        assert.ok(first.ok);
        assert.notEqual(first.session.consumedAt, null);
        assert.deepEqual(await s.consumeSession('a'), { ok: false, reason: 'reused' });
        assert.deepEqual(await s.consumeSession('zzz'), { ok: false, reason: 'unknown' });
        await sleep(120);
        assert.deepEqual(await s.consumeSession('short'), { ok: false, reason: 'expired' });
        // An expired nonce stays unconsumed: expiry is not use.
        assert.equal((await s.getSession('short'))!.consumedAt, null);
      });
    });

    test('concurrent consumers of one nonce: exactly one wins', async () => {
      await withStore(open(), async (s) => {
        for (let round = 0; round < 5; round++) {
          await s.createSession({ id: `r${round}`, nonce: randomBytes(32), ttlSeconds: 60 });
          const outs = await Promise.all(
            Array.from({ length: 16 }, () => s.consumeSession(`r${round}`)),
          );
          assert.equal(outs.filter((o) => o.ok).length, 1);
          assert.ok(outs.every((o) => o.ok || o.reason === 'reused'));
        }
      });
    });

    test('evidence for a session: peeked without consuming, then consumed with its result in one commit', async () => {
      await withStore(open(), async (s) => {
        const nonce = randomBytes(32);
        await s.createSession({ id: 'e1', nonce, attesterId: 'a', ttlSeconds: 60 });
        await s.createSession({ id: 'short', nonce: randomBytes(32), ttlSeconds: 0.05 });
        const t0 = await s.now();
        const peek = await s.sessionForEvidence('e1');
        assert.ok(peek.ok);
        assert.deepEqual(peek.session.nonce, new Uint8Array(nonce));
        assert.equal(peek.session.attesterId, 'a');
        assert.ok(peek.at.getTime() >= t0.getTime(), 'at is the database clock');
        // Nothing registered yet, no checkpoint asked for.
        assert.equal(peek.attester, null);
        assert.equal(peek.checkpoint, null);
        // The same read brings the attester's record and its checkpoint under a register and
        // policy digest, exactly as getAttester and getCheckpoint return them.
        await s.putAttester({
          id: 'a',
          kind: 'cvm',
          ekCert: null,
          ekPublic: null,
          platformId: 'snp:ab',
          relaxed: [],
        });
        const key = { attesterId: 'a', register: 'rtmr3', policyDigest: 'sha256:44' };
        await s.putResult(result('cp-src', 'a'));
        await s.advanceCheckpoint(key, null, {
          bootId: 'b',
          value: { seq: 7 },
          resultId: 'cp-src',
        });
        const joined = await s.sessionForEvidence('e1', {
          register: 'rtmr3',
          policyDigest: 'sha256:44',
        });
        assert.ok(joined.ok);
        assert.deepEqual(joined.attester, await s.getAttester('a'));
        assert.deepEqual(joined.checkpoint, await s.getCheckpoint(key));
        assert.deepEqual(joined.session, peek.session);
        const other = await s.sessionForEvidence('e1', {
          register: 'rtmr2',
          policyDigest: 'sha256:44',
        });
        assert.ok(other.ok);
        assert.equal(other.checkpoint, null);
        // Peeking consumes nothing.
        assert.equal((await s.getSession('e1'))!.consumedAt, null);
        assert.deepEqual(await s.sessionForEvidence('nope'), { ok: false, reason: 'unknown' });

        const done = await s.finishSession('e1', result('res-e1', 'a', { sessionId: 'e1' }));
        assert.ok(done.ok);
        assert.equal(done.result.id, 'res-e1');
        assert.equal(done.checkpoint, undefined);
        const after = await s.getSession('e1');
        assert.notEqual(after!.consumedAt, null);
        assert.equal(after!.resultId, 'res-e1');
        assert.equal((await s.getResult('res-e1'))!.sessionId, 'e1');
        assert.deepEqual((await s.getResult('res-e1'))!.findings, { findings: [] });
        // Spent: a second result is refused and not written; so is a consume.
        assert.deepEqual(await s.sessionForEvidence('e1'), { ok: false, reason: 'reused' });
        assert.deepEqual(await s.finishSession('e1', result('res-e1b', 'a', { sessionId: 'e1' })), {
          ok: false,
          reason: 'reused',
        });
        assert.equal(await s.getResult('res-e1b'), null);
        assert.deepEqual(await s.consumeSession('e1'), { ok: false, reason: 'reused' });
        assert.deepEqual(await s.finishSession('zz', result('res-zz', 'a')), {
          ok: false,
          reason: 'unknown',
        });
        await sleep(120);
        assert.deepEqual(await s.sessionForEvidence('short'), { ok: false, reason: 'expired' });
        assert.deepEqual(await s.finishSession('short', result('res-s', 'a')), {
          ok: false,
          reason: 'expired',
        });
        assert.equal(await s.getResult('res-s'), null);
      });
    });

    test('concurrent results for one session: exactly one is recorded', async () => {
      await withStore(open(), async (s) => {
        for (let round = 0; round < 5; round++) {
          const id = `f${round}`;
          await s.createSession({ id, nonce: randomBytes(32), ttlSeconds: 60 });
          const outs = await Promise.all(
            Array.from({ length: 16 }, (_, i) =>
              s.finishSession(id, result(`${id}-${i}`, 'a', { sessionId: id })),
            ),
          );
          const won = outs.flatMap((o) => (o.ok ? [o.result.id] : []));
          assert.equal(won.length, 1);
          assert.ok(outs.every((o) => o.ok || o.reason === 'reused'));
          const stored = await s.listResults({ attesterId: 'a', limit: 1000 });
          assert.deepEqual(
            stored.filter((r) => r.sessionId === id).map((r) => r.id),
            won,
          );
        }
      });
    });

    test('a session result moves a checkpoint in the same commit, by compare-and-set and only when it passed unrelaxed', async () => {
      await withStore(open(), async (s) => {
        const key = { attesterId: 'a', register: 'rtmr3', policyDigest: 'sha256:33' };
        const move = (expectedVersion: number | null, n: number) => ({
          key,
          expectedVersion,
          bootId: 'b1',
          value: { seq: n },
        });
        for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) {
          await s.createSession({ id, nonce: randomBytes(32), ttlSeconds: 60 });
        }
        const first = await s.finishSession(
          'm1',
          result('r-m1', 'a', { sessionId: 'm1' }),
          move(null, 1),
        );
        assert.ok(first.ok);
        assert.deepEqual(first.checkpoint, { ok: true, version: 1 });
        assert.deepEqual((await s.getCheckpoint(key))!.value, { seq: 1 });
        assert.equal((await s.getCheckpoint(key))!.resultId, 'r-m1');
        // A relaxed result is recorded but moves nothing.
        const relaxed = await s.finishSession(
          'm2',
          result('r-m2', 'a', { sessionId: 'm2', relaxed: ['crl'] }),
          move(1, 2),
        );
        assert.ok(relaxed.ok);
        assert.deepEqual(relaxed.checkpoint, { ok: false, reason: 'not-trusted' });
        assert.notEqual(await s.getResult('r-m2'), null);
        // A stale version: the result stays, the checkpoint does not move.
        const stale = await s.finishSession(
          'm3',
          result('r-m3', 'a', { sessionId: 'm3' }),
          move(0, 3),
        );
        assert.ok(stale.ok);
        assert.deepEqual(stale.checkpoint, { ok: false, reason: 'stale' });
        const next = await s.finishSession(
          'm4',
          result('r-m4', 'a', { sessionId: 'm4' }),
          move(1, 4),
        );
        assert.ok(next.ok);
        assert.deepEqual(next.checkpoint, { ok: true, version: 2 });
        assert.deepEqual((await s.getCheckpoint(key))!.value, { seq: 4 });
        // A spent session writes nothing, the checkpoint included.
        assert.deepEqual(
          await s.finishSession('m4', result('r-m4b', 'a', { sessionId: 'm4' }), move(2, 9)),
          { ok: false, reason: 'reused' },
        );
        assert.equal((await s.getCheckpoint(key))!.version, 2);
        assert.equal(await s.getResult('r-m4b'), null);
      });
    });

    // The embedded store answers the evidence read from what it created and read (it is its
    // database's only writer: sole_writer_memo.ts); every write before a read must show in it.
    test('the evidence read sees every write made before it', async () => {
      await withStore(open(), async (s) => {
        const key = { attesterId: 'w', register: 'rtmr3', policyDigest: 'sha256:55' };
        const ask = { register: 'rtmr3', policyDigest: 'sha256:55' };
        const open1 = async (id: string) => {
          const c = await s.createSession({
            id,
            nonce: randomBytes(32),
            attesterId: 'w',
            ttlSeconds: 60,
            checkpointsUnder: 'sha256:55',
          });
          assert.deepEqual(
            c.checkpoints,
            (await s.listCheckpoints('w')).filter((x) => x.policyDigest === 'sha256:55'),
          );
          return c;
        };
        await open1('w1');
        const p1 = await s.sessionForEvidence('w1', ask);
        assert.ok(p1.ok);
        assert.equal(p1.attester, null);
        assert.equal(p1.checkpoint, null);
        // a checkpoint moved by another session's result after this session was opened
        await open1('w2');
        const moved = await s.finishSession('w1', result('r-w1', 'w', { sessionId: 'w1' }), {
          key,
          expectedVersion: null,
          bootId: 'b',
          value: { seq: 1 },
        });
        assert.deepEqual(moved.ok && moved.checkpoint, { ok: true, version: 1 });
        const p2 = await s.sessionForEvidence('w2', ask);
        assert.ok(p2.ok);
        assert.deepEqual(p2.checkpoint, await s.getCheckpoint(key));
        assert.equal(p2.checkpoint!.version, 1);
        // opened with checkpoint version 1, which then moves by advanceCheckpoint
        assert.equal((await open1('w3')).checkpoints![0]!.version, 1);
        // moved by advanceCheckpoint
        await s.putResult(result('r-adv', 'w'));
        await s.advanceCheckpoint(key, 1, { bootId: 'b', value: { seq: 2 }, resultId: 'r-adv' });
        const p3 = await s.sessionForEvidence('w3', ask);
        assert.ok(p3.ok);
        assert.equal(p3.checkpoint!.version, 2);
        assert.deepEqual(p3.checkpoint!.value, { seq: 2 });
        // an attester registered, then deleted (with its checkpoints)
        await s.putAttester({
          id: 'w',
          kind: 'cvm',
          ekCert: null,
          ekPublic: null,
          platformId: 'tdx:w',
          relaxed: [],
        });
        const p4 = await s.sessionForEvidence('w3', ask);
        assert.ok(p4.ok);
        assert.equal(p4.attester!.platformId, 'tdx:w');
        assert.equal(await s.deleteAttester('w'), true);
        const p5 = await s.sessionForEvidence('w3', ask);
        assert.ok(p5.ok);
        assert.equal(p5.attester, null);
        assert.equal(p5.checkpoint, null);
        // consumed, deleted, expired
        assert.deepEqual(await s.sessionForEvidence('w1', ask), { ok: false, reason: 'reused' });
        assert.ok((await s.consumeSession('w2')).ok);
        assert.deepEqual(await s.sessionForEvidence('w2', ask), { ok: false, reason: 'reused' });
        assert.equal(await s.deleteSession('w3'), true);
        assert.deepEqual(await s.sessionForEvidence('w3', ask), { ok: false, reason: 'unknown' });
        await s.createSession({
          id: 'w4',
          nonce: randomBytes(32),
          attesterId: 'w',
          ttlSeconds: 0.05,
        });
        await sleep(120);
        assert.deepEqual(await s.sessionForEvidence('w4', ask), { ok: false, reason: 'expired' });
      });
    });

    test('a session links to its result and can be deleted once', async () => {
      await withStore(open(), async (s) => {
        await s.createSession({ id: 'x', nonce: randomBytes(32), ttlSeconds: 60 });
        await s.setSessionResult('x', 'res-1');
        assert.equal((await s.getSession('x'))!.resultId, 'res-1');
        // Recording a session's result links the session to it in the same statement.
        await s.createSession({ id: 'y', nonce: randomBytes(32), ttlSeconds: 60 });
        await s.putResult(result('res-2', 'a', { sessionId: 'y' }));
        assert.equal((await s.getSession('y'))!.resultId, 'res-2');
        assert.equal((await s.getResult('res-2'))!.sessionId, 'y');
        assert.equal((await s.getSession('x'))!.resultId, 'res-1');
        assert.equal(await s.deleteSession('x'), true);
        assert.equal(await s.getSession('x'), null);
        assert.equal(await s.deleteSession('x'), false);
        assert.deepEqual(await s.consumeSession('x'), { ok: false, reason: 'unknown' });
      });
    });

    test('attesters: put, get, list, conflict, keys, cascade on delete', async () => {
      await withStore(open(), async (s) => {
        const ek = randomBytes(300);
        const a = await s.putAttester({
          id: 'tpm-1',
          kind: 'tpm',
          ekCert: ek,
          ekPublic: null,
          platformId: null,
          relaxed: [],
        });
        assert.deepEqual(a.ekCert, new Uint8Array(ek));
        await s.putAttester({
          id: 'cvm-1',
          kind: 'cvm',
          ekCert: null,
          ekPublic: null,
          platformId: 'chip:abcd',
          relaxed: ['unverified-ek'],
        });
        await assert.rejects(
          s.putAttester({
            id: 'tpm-1',
            kind: 'tpm',
            ekCert: null,
            ekPublic: null,
            platformId: null,
            relaxed: [],
          }),
          (e: unknown) => e instanceof MrstackError && e.code === 'ERR_CONFLICT',
        );
        assert.deepEqual(
          (await s.listAttesters()).map((x) => [x.id, x.kind, x.relaxed]),
          [
            ['cvm-1', 'cvm', ['unverified-ek']],
            ['tpm-1', 'tpm', []],
          ],
        );
        const name = randomBytes(34);
        const pub = randomBytes(90);
        await s.addAttesterKey({ attesterId: 'tpm-1', akName: name, akPublic: pub });
        await s.addAttesterKey({ attesterId: 'tpm-1', akName: name, akPublic: pub });
        assert.equal((await s.listAttesterKeys('tpm-1')).length, 1);
        const found = await s.findAttesterKey(name);
        assert.equal(found!.attesterId, 'tpm-1');
        assert.deepEqual(found!.akPublic, new Uint8Array(pub));
        assert.equal(await s.findAttesterKey(randomBytes(34)), null);

        await s.putResult(result('r1', 'tpm-1'));
        const key = { attesterId: 'tpm-1', register: 'pcr10', policyDigest: 'sha256:aa' };
        assert.equal(
          (await s.advanceCheckpoint(key, null, { bootId: 'b', value: {}, resultId: 'r1' })).ok,
          true,
        );
        assert.equal(await s.deleteAttester('tpm-1'), true);
        assert.equal(await s.getAttester('tpm-1'), null);
        assert.equal(await s.findAttesterKey(name), null);
        assert.equal(await s.getCheckpoint(key), null);
        assert.equal(await s.deleteAttester('tpm-1'), false);
      });
    });

    test('the EK trust reason of an attester and of a challenge round-trips (migration 3)', async () => {
      await withStore(open(), async (s) => {
        const a = await s.putAttester({
          id: 'svsm-1',
          kind: 'tpm',
          ekCert: null,
          ekPublic: randomBytes(60),
          platformId: null,
          relaxed: [],
          ekTrust: 'svsm_report',
        });
        assert.equal(a.ekTrust, 'svsm_report');
        assert.equal((await s.getAttester('svsm-1'))!.ekTrust, 'svsm_report');
        // Written without a reason (a CVM attester): null.
        await s.putAttester({
          id: 'cvm-2',
          kind: 'cvm',
          ekCert: null,
          ekPublic: null,
          platformId: 'snp:00',
          relaxed: [],
        });
        assert.equal((await s.getAttester('cvm-2'))!.ekTrust, null);
        const r = await s.createRegistration({
          id: 'reg-svsm',
          attesterId: 'svsm-1',
          secretDigest: randomBytes(32),
          ekCert: null,
          ekPublic: randomBytes(60),
          akPublic: randomBytes(60),
          akName: randomBytes(34),
          relaxed: [],
          ekTrust: 'svsm_report',
          ttlSeconds: 60,
        });
        assert.equal(r.ekTrust, 'svsm_report');
        const got = await s.consumeRegistration('reg-svsm');
        assert.ok(got.ok);
        assert.equal(got.registration.ekTrust, 'svsm_report');
        // The column takes the three reasons only.
        await assert.rejects(
          s.putAttester({
            id: 'bad',
            kind: 'tpm',
            ekCert: null,
            ekPublic: null,
            platformId: null,
            relaxed: [],
            ekTrust: 'self-declared' as 'allowlist',
          }),
        );
      });
    });

    test('registration challenges are single-use and expire', async () => {
      await withStore(open(), async (s) => {
        const base = {
          attesterId: 't',
          secretDigest: randomBytes(32),
          ekCert: null,
          ekPublic: randomBytes(60),
          akPublic: randomBytes(60),
          akName: randomBytes(34),
          relaxed: ['unverified-ek'],
        };
        assert.equal(await s.pendingRegistration('t'), null);
        const r = await s.createRegistration({ ...base, id: 'reg1', ttlSeconds: 60 });
        assert.deepEqual(r.relaxed, ['unverified-ek']);
        assert.equal(await s.pendingRegistration('t'), 'reg1');
        // The newest pending challenge of the attester; another attester's is not it.
        await s.createRegistration({ ...base, id: 'reg0', ttlSeconds: 60 });
        assert.equal(await s.pendingRegistration('t'), 'reg0');
        assert.equal(await s.pendingRegistration('other'), null);
        assert.ok((await s.consumeRegistration('reg0')).ok);
        await s.createRegistration({ ...base, id: 'reg2', ttlSeconds: 0.05 });
        const got = await s.consumeRegistration('reg1');
        assert.ok(got.ok);
        assert.deepEqual(got.registration.secretDigest, new Uint8Array(base.secretDigest));
        assert.deepEqual(await s.consumeRegistration('reg1'), { ok: false, reason: 'reused' });
        await sleep(120);
        // reg1 consumed and reg2 expired: nothing pending any more.
        assert.equal(await s.pendingRegistration('t'), null);
        assert.deepEqual(await s.consumeRegistration('reg2'), { ok: false, reason: 'expired' });
        assert.deepEqual(await s.consumeRegistration('reg3'), { ok: false, reason: 'unknown' });
      });
    });

    test('results: newest first per attester, limit, latest per attester', async () => {
      await withStore(open(), async (s) => {
        await s.putResult(result('a-1', 'a', { status: 'contraindicated', passed: false }));
        await sleep(5);
        await s.putResult(result('b-1', 'b'));
        await sleep(5);
        await s.putResult(result('a-2', 'a', { relaxed: ['collateral'], findings: { n: 2 } }));
        const a = await s.listResults({ attesterId: 'a', limit: 10 });
        assert.deepEqual(
          a.map((r) => r.id),
          ['a-2', 'a-1'],
        );
        assert.deepEqual(a[0]!.relaxed, ['collateral']);
        assert.deepEqual(a[0]!.findings, { n: 2 });
        assert.equal(a[1]!.passed, false);
        assert.equal(a[1]!.status, 'contraindicated');
        assert.deepEqual(
          (await s.listResults({ limit: 2 })).map((r) => r.id),
          ['a-2', 'b-1'],
        );
        assert.deepEqual((await s.latestResults()).map((r) => r.id).sort(), ['a-2', 'b-1']);
        assert.equal((await s.getResult('b-1'))!.ear, 'eyJ.x.y');
        assert.equal(await s.getResult('c'), null);
      });
    });

    test('checkpoints advance by compare-and-set from passed, unrelaxed results only', async () => {
      await withStore(open(), async (s) => {
        const key = { attesterId: 'a', register: 'rtmr3', policyDigest: 'sha256:11' };
        await s.putResult(result('ok1', 'a'));
        await s.putResult(result('ok2', 'a'));
        await s.putResult(result('failed', 'a', { status: 'contraindicated', passed: false }));
        await s.putResult(result('relaxed', 'a', { relaxed: ['crl'] }));
        await s.putResult(result('other', 'b'));
        const v = { offset: 10, value: 'ab' };
        for (const rid of ['failed', 'relaxed', 'other', 'missing']) {
          assert.deepEqual(
            await s.advanceCheckpoint(key, null, { bootId: 'b1', value: v, resultId: rid }),
            { ok: false, reason: 'not-trusted' },
            rid,
          );
        }
        assert.equal(await s.getCheckpoint(key), null);
        assert.deepEqual(
          await s.advanceCheckpoint(key, null, { bootId: 'b1', value: v, resultId: 'ok1' }),
          {
            ok: true,
            version: 1,
          },
        );
        // A second "first" checkpoint loses: the slot is taken.
        assert.deepEqual(
          await s.advanceCheckpoint(key, null, { bootId: 'b1', value: v, resultId: 'ok2' }),
          {
            ok: false,
            reason: 'stale',
          },
        );
        const cp = await s.getCheckpoint(key);
        assert.deepEqual(
          { version: cp!.version, bootId: cp!.bootId, value: cp!.value, resultId: cp!.resultId },
          { version: 1, bootId: 'b1', value: v, resultId: 'ok1' },
        );
        const v2 = { offset: 20, value: 'cd' };
        assert.deepEqual(
          await s.advanceCheckpoint(key, 1, { bootId: 'b1', value: v2, resultId: 'failed' }),
          { ok: false, reason: 'not-trusted' },
        );
        assert.deepEqual(
          await s.advanceCheckpoint(key, 1, { bootId: 'b1', value: v2, resultId: 'ok2' }),
          {
            ok: true,
            version: 2,
          },
        );
        assert.deepEqual(
          await s.advanceCheckpoint(key, 1, { bootId: 'b1', value: v, resultId: 'ok1' }),
          {
            ok: false,
            reason: 'stale',
          },
        );
        assert.deepEqual((await s.getCheckpoint(key))!.value, v2);
        // Another policy digest or register is another checkpoint.
        assert.equal(await s.getCheckpoint({ ...key, policyDigest: 'sha256:22' }), null);
        assert.equal(await s.getCheckpoint({ ...key, register: 'rtmr2' }), null);
        // Listed per attester, newest update first; another attester's are not listed.
        assert.deepEqual(await s.listCheckpoints('b'), []);
        const k2 = { ...key, register: 'rtmr2' };
        await s.advanceCheckpoint(k2, null, { bootId: 'b1', value: v, resultId: 'ok1' });
        assert.deepEqual(
          (await s.listCheckpoints('a')).map((c) => [c.register, c.version]),
          [
            ['rtmr2', 1],
            ['rtmr3', 2],
          ],
        );
        // A session opened for the attester brings its checkpoints under a digest along.
        const listed = await s.listCheckpoints('a');
        const opened = await s.createSession({
          id: 'cp-s',
          nonce: randomBytes(32),
          attesterId: 'a',
          ttlSeconds: 60,
          checkpointsUnder: 'sha256:11',
        });
        const strip = (c: { updatedAt: Date }): unknown => ({ ...c, updatedAt: undefined });
        assert.deepEqual(opened.checkpoints?.map(strip), listed.map(strip));
        opened.checkpoints.forEach((c, i) => {
          assert.ok(Math.abs(c.updatedAt.getTime() - listed[i]!.updatedAt.getTime()) <= 1);
        });
        assert.equal((await s.getSession('cp-s'))!.attesterId, 'a');
        const none = await s.createSession({
          id: 'cp-s2',
          nonce: randomBytes(32),
          attesterId: 'a',
          ttlSeconds: 60,
          checkpointsUnder: 'sha256:99',
        });
        assert.deepEqual(none.checkpoints, []);
      });
    });

    test('concurrent advances from one version: exactly one wins', async () => {
      await withStore(open(), async (s) => {
        const key = { attesterId: 'a', register: 'pcr10', policyDigest: 'sha256:33' };
        for (let i = 0; i < 8; i++) await s.putResult(result(`r${i}`, 'a'));
        await s.advanceCheckpoint(key, null, { bootId: null, value: 0, resultId: 'r0' });
        const outs = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            s.advanceCheckpoint(key, 1, { bootId: null, value: i, resultId: `r${i}` }),
          ),
        );
        assert.equal(outs.filter((o) => o.ok).length, 1);
        assert.equal((await s.getCheckpoint(key))!.version, 2);
      });
    });

    test('policies are immutable versions addressed by digest', async () => {
      await withStore(open(), async (s) => {
        const p1 = { id: 'prod', digest: 'sha256:01', body: { version: 1, mrtd: ['aa'] } };
        const p2 = { id: 'prod', digest: 'sha256:02', body: { version: 1, mrtd: ['bb'] } };
        assert.equal((await s.putPolicy(p1)).created, true);
        const again = await s.putPolicy({ ...p1, body: { tampered: true } });
        assert.equal(again.created, false);
        assert.deepEqual((await s.getPolicy('prod', 'sha256:01'))!.body, p1.body);
        await sleep(5);
        assert.equal((await s.putPolicy(p2)).created, true);
        assert.deepEqual((await s.getPolicy('prod', 'sha256:01'))!.body, p1.body);
        assert.equal((await s.getPolicy('prod'))!.digest, 'sha256:02');
        assert.equal(await s.getPolicy('dev'), null);
      });
    });

    test('signing keys: stored sealed, listed newest first, rotation retires the others', async () => {
      await withStore(open(), async (s) => {
        const sealed = randomBytes(100);
        await s.putSigningKey({
          kid: 'k1',
          alg: 'ES256',
          publicJwk: { kty: 'EC', crv: 'P-256' },
          sealedPrivate: sealed,
        });
        await sleep(5);
        await s.putSigningKey({
          kid: 'k2',
          alg: 'ES256',
          publicJwk: { kty: 'EC' },
          sealedPrivate: randomBytes(100),
        });
        assert.equal(await s.retireSigningKeys('k2'), 1);
        const keys = await s.listSigningKeys();
        assert.deepEqual(
          keys.map((k) => [k.kid, k.retiredAt === null]),
          [
            ['k2', true],
            ['k1', false],
          ],
        );
        assert.deepEqual(keys[1]!.sealedPrivate, new Uint8Array(sealed));
        assert.deepEqual(keys[1]!.publicJwk, { kty: 'EC', crv: 'P-256' });
        assert.equal(await s.retireSigningKeys('k2'), 0);
      });
    });

    test('the clock is the database clock and readiness answers', async () => {
      await withStore(open(), async (s) => {
        const now = await s.now();
        // Same machine: the database clock and this process agree to well within a minute.
        assert.ok(Math.abs(now.getTime() - Date.now()) < 60_000);
        assert.equal(await s.ping(), true);
      });
    });
  });
}
