// DESIGN §1's import rule, checked mechanically: each src/ folder imports only from the layers
// it may use, and the verifier never pulls in the agent, providers, the FUSE mount or services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { REPO_ROOT } from '../../_support/paths.js';

const SRC = join(REPO_ROOT, 'src');
const BASE = ['errors', 'limits', 'bytes'];
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  limits: [],
  bytes: ['errors', 'limits', 'bytes'],
  crypto: [...BASE, 'crypto'],
  formats: [...BASE, 'crypto', 'formats'],
  eventlog: [...BASE, 'crypto', 'formats', 'eventlog'],
  verifier: [...BASE, 'crypto', 'formats', 'eventlog', 'verifier'],
  providers: [...BASE, 'crypto', 'formats', 'eventlog', 'providers'],
  agent: [...BASE, 'crypto', 'formats', 'eventlog', 'providers', 'agent'],
  emulate: [...BASE, 'crypto', 'formats', 'eventlog', 'providers', 'emulate'],
  cli: ['*'],
  index: ['*'],
};
// Packages that must never load on the verifier side (services, databases, native addons).
const VERIFIER_FORBIDDEN_PACKAGES = ['fastify', 'pino', 'fuse-native', '@cocalc/fuse-native'];
// Database clients: only the store adapters use them, and only through a dynamic import(), so
// that a verifier-only user never loads one.
const DATABASE_PACKAGES = ['pg', '@electric-sql/pglite'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

const IMPORT_RE =
  /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

test('every src import respects the layer rule', () => {
  const violations: string[] = [];
  for (const file of walk(SRC)) {
    const layer = layerOf(file);
    const allowed = ALLOWED[layer];
    assert.ok(allowed, `no layer rule for ${relative(REPO_ROOT, file)} (add it to ALLOWED)`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) {
        const target = layerOf(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
        if (!allowed.includes('*') && !allowed.includes(target)) {
          violations.push(`${relative(REPO_ROOT, file)} (${layer}) imports ${spec} (${target})`);
        }
      } else if (layer === 'verifier' || layer === 'formats' || layer === 'eventlog') {
        const rel = relative(SRC, file).split(sep).join('/');
        const isDb = DATABASE_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));
        if (isDb && !(rel.startsWith('verifier/store/') && m[2] !== undefined)) {
          violations.push(`${relative(REPO_ROOT, file)} (${layer}) imports ${spec} statically`);
        }
        // The HTTP service (verifier/service/) is the one verifier folder that runs fastify and
        // pino; nothing reachable from the verifier's entry points imports it.
        if (rel.startsWith('verifier/service/')) continue;
        if (VERIFIER_FORBIDDEN_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) {
          violations.push(`${relative(REPO_ROOT, file)} (${layer}) imports package ${spec}`);
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});

// Static (non-dynamic) imports only: what loading a module loads at once.
const STATIC_IMPORT_RE =
  /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm;

test('the library entry points never load the HTTP service or a database client', () => {
  // The root and every per-layer barrel (package subpaths); the service has its own subpath.
  const entries = [
    join(SRC, 'index.ts'),
    ...readdirSync(SRC)
      .map((d) => join(SRC, d, 'index.ts'))
      .filter((f) => existsSync(f)),
  ];
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(STATIC_IMPORT_RE)) {
      const whole = m[0];
      if (/^(?:import|export)\s+type\s/.test(whole)) continue;
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      else packages.add(spec);
    }
  }
  const service = [...seen].filter((f) =>
    relative(SRC, f).split(sep).join('/').startsWith('verifier/service/'),
  );
  assert.deepEqual(service, []);
  assert.deepEqual(
    [...packages].filter((p) => ['fastify', 'pino', ...DATABASE_PACKAGES].includes(p)),
    [],
  );
});

// Runtime import edges between src files: `import type` / `export type` statements are erased by
// the compiler and load nothing, so they are left out (an inline `{ type X }` still loads).
const RUNTIME_IMPORT_RE =
  /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;

/** The runtime import graph of src: file → files it imports. */
function importGraph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8');
    const out: string[] = [];
    for (const m of text.matchAll(RUNTIME_IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      out.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
    }
    edges.set(
      relative(SRC, file),
      out.map((f) => relative(SRC, f)),
    );
  }
  return edges;
}

/** Every cycle of a graph (its strongly connected components of two or more nodes), sorted. */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const files = [...edges.keys()];
  // Tarjan's strongly connected components: every component of more than one file is a cycle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

// None allowed: the verifier's bundle ↔ evidence cycle was the last one (#12 removed it).
const ALLOWED_CYCLES: readonly string[][] = [];

test('no import cycles among src files (runtime imports)', () => {
  const cycles = findCycles(importGraph());
  const unexpected = cycles.filter(
    (c) => !ALLOWED_CYCLES.some((a) => JSON.stringify(a) === JSON.stringify(c)),
  );
  assert.deepEqual(unexpected, []);
  // An allowance outliving its cycle would hide the next one: drop it once #12 has landed.
  const stale = ALLOWED_CYCLES.filter(
    (a) => !cycles.some((c) => JSON.stringify(a) === JSON.stringify(c)),
  );
  assert.deepEqual(stale, [], 'the allowed cycle is gone: remove it from ALLOWED_CYCLES');
});

test('the cycle finder finds a two-file and a three-file cycle, and nothing in a tree', () => {
  const g = new Map<string, string[]>([
    ['a', ['b']],
    ['b', ['a', 'c']],
    ['c', []],
    ['d', ['e']],
    ['e', ['f']],
    ['f', ['d', 'c']],
  ]);
  assert.deepEqual(findCycles(g).sort(), [
    ['a', 'b'],
    ['d', 'e', 'f'],
  ]);
  assert.deepEqual(
    findCycles(
      new Map([
        ['x', ['y']],
        ['y', []],
      ]),
    ),
    [],
  );
  // report.ts imports every report module and none imports it back (report_context.ts holds
  // what they share): the cycle this test was written for stays fixed.
  const reportTpm = importGraph().get(join('providers', 'emulated', 'report_tpm.ts'));
  assert.ok(reportTpm && !reportTpm.includes(join('providers', 'emulated', 'report.ts')));
});
