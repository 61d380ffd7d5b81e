// Every route the verifier service serves is described in docs/openapi/verifier.yaml (the
// document it also serves at /openapi.json), with the same methods; and the document names no
// route the service lacks. The routes are read from fastify's own route table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { buildVerifierService, openApiDocument } from '../../../../src/verifier/service/server.js';
import type { VerifierStore } from '../../../../src/verifier/store/store.js';
import type { EarSigningKey } from '../../../../src/verifier/result/ear_keys.js';

test('every service route is in the OpenAPI document, and every documented route is served', async () => {
  // Building the app touches the store only to record the default policy.
  const store = { putPolicy: () => Promise.resolve({ created: true }) } as unknown as VerifierStore;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const app = await buildVerifierService({
    store,
    signingKey: { privateKey } as unknown as EarSigningKey,
    logger: false,
  });
  const served = new Map<string, Set<string>>();
  await app.ready();
  // The tree fastify prints: "├── /v1/sessions (POST)", children indented 4 columns per level
  // with the rest of their path ("│   └── /:id (GET, HEAD, DELETE)").
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    if (m[3] === undefined) continue;
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    const methods = m[3]
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter((x) => x !== 'head');
    const set = served.get(path) ?? new Set<string>();
    for (const x of methods) set.add(x);
    served.set(path, set);
  }
  await app.close();
  assert.ok(served.size >= 10, `routes found: ${[...served.keys()].join(' ')}`);
  const doc = (await openApiDocument()) as { paths: Record<string, Record<string, unknown>> };
  const documented = new Map<string, Set<string>>();
  for (const [p, item] of Object.entries(doc.paths)) {
    const methods = Object.keys(item).filter((k) =>
      ['get', 'put', 'post', 'delete', 'patch'].includes(k),
    );
    documented.set(p, new Set(methods));
  }
  const show = (m: Map<string, Set<string>>): string[] =>
    [...m].flatMap(([p, ms]) => [...ms].map((x) => `${x.toUpperCase()} ${p}`)).sort();
  assert.deepEqual(show(served), show(documented));
});
