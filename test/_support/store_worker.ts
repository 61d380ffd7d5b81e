/**
 * A separate process driving a store, for the race and crash tests (spawned with node).
 *
 *   race  SPEC         for each index i read on stdin, consumes session race-i and prints
 *                      "W race-i" (won), "L race-i" (lost: reused) or "X race-i" (anything else)
 *   race-finish SPEC   the same through finishSession (consume + result in one statement, the
 *                      service's evidence path), each racer with its own result id
 *   churn SPEC N TAG   runs up to N sessions as the service does: create, peek, then consume +
 *                      a passed result + a CAS of the shared checkpoint carrying a counter in
 *                      one commit ("C <id>" once committed, "A <version>" when it moved);
 *                      meant to be SIGKILLed at any point
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

if (mode === 'race' || mode === 'race-finish') {
  // Lockstep: the parent sends each index to both racers at once and waits for both answers.
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'end') break;
    const o =
      mode === 'race'
        ? await store.consumeSession(`race-${line}`)
        : await store.finishSession(`race-${line}`, {
            id: `res-race-${line}-${process.pid}`,
            sessionId: `race-${line}`,
            attesterId: 'race',
            status: 'affirming',
            passed: true,
            relaxed: [],
            policyId: null,
            ear: null,
            findings: {},
          });
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
    // The service's evidence path: peek, read the checkpoint, then consume + result +
    // checkpoint CAS in one commit; a process killed anywhere leaves all three or none.
    const peek = await store.sessionForEvidence(id);
    if (!peek.ok) throw new Error(`fresh session ${id} refused: ${peek.reason}`);
    const cp = await store.getCheckpoint(key);
    const prev = cp === null ? 0 : (cp.value as { count: number }).count;
    const f = await store.finishSession(
      id,
      {
        id: `res-${id}`,
        sessionId: id,
        attesterId: 'churn',
        status: 'affirming',
        passed: true,
        relaxed: [],
        policyId: null,
        ear: null,
        findings: {},
      },
      { key, expectedVersion: cp?.version ?? null, bootId: 'b', value: { count: prev + 1 } },
    );
    if (!f.ok) throw new Error(`fresh session ${id} refused: ${f.reason}`);
    out(`C ${id}`);
    if (f.checkpoint?.ok === true) out(`A ${f.checkpoint.version}`);
  }
  out('done');
  await store.close();
  process.exit(0);
} else {
  throw new Error(`store_worker: unknown mode ${mode}`);
}
