/**
 * A separate process driving a store, for the race and crash tests (spawned with node).
 *
 *   race  SPEC         for each index i read on stdin, consumes session race-i and prints
 *                      "W race-i" (won), "L race-i" (lost: reused) or "X race-i" (anything else)
 *   churn SPEC N TAG   runs up to N sessions: create, consume ("C <id>" once committed), record a
 *                      passed result, advance the shared checkpoint by CAS carrying a counter
 *                      ("A <version>"); meant to be SIGKILLed at any point
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { openStore } from '../../src/verifier/store/open_store.js';

const [mode, spec, countArg, tag] = process.argv.slice(2);
const count = Number(countArg);
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const store = await openStore(spec!);
out('ready');

if (mode === 'race') {
  // Lockstep: the parent sends each index to both racers at once and waits for both answers.
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'end') break;
    const o = await store.consumeSession(`race-${line}`);
    out(`${o.ok ? 'W' : o.reason === 'reused' ? 'L' : 'X'} race-${line}`);
  }
  out('done');
  await store.close();
  process.exit(0);
} else if (mode === 'churn') {
  const key = { attesterId: 'churn', register: 'pcr10', policyDigest: 'sha256:churn' };
  for (let i = 0; i < count; i++) {
    const id = `${tag}-${i}-${randomBytes(4).toString('hex')}`;
    await store.createSession({ id, nonce: randomBytes(32), attesterId: 'churn', ttlSeconds: 600 });
    const o = await store.consumeSession(id);
    if (!o.ok) throw new Error(`fresh session ${id} refused: ${o.reason}`);
    out(`C ${id}`);
    await store.putResult({
      id: `res-${id}`,
      sessionId: id,
      attesterId: 'churn',
      status: 'affirming',
      passed: true,
      relaxed: [],
      policyId: null,
      ear: null,
      findings: {},
    });
    // Read, then CAS: a process killed between the two leaves the checkpoint as it was.
    const cp = await store.getCheckpoint(key);
    const prev = cp === null ? 0 : (cp.value as { count: number }).count;
    const r = await store.advanceCheckpoint(key, cp?.version ?? null, {
      bootId: 'b',
      value: { count: prev + 1 },
      resultId: `res-${id}`,
    });
    if (r.ok) out(`A ${r.version}`);
  }
  out('done');
  await store.close();
  process.exit(0);
} else {
  throw new Error(`store_worker: unknown mode ${mode}`);
}
