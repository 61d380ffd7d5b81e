// The package's public surface: one subpath per layer resolved through the `exports` map
// (self-reference by name), deep imports blocked, test hooks kept out, TSDoc on every export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../_support/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  license: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

const LAYERS = ['formats', 'eventlog', 'verifier', 'providers', 'emulate', 'agent'] as const;

test('package.json declares Apache-2.0, the mrstack bin and one subpath per layer', () => {
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.bin['mrstack'], './dist/src/cli/main.js');
  assert.deepEqual(
    Object.keys(pkg.exports).sort(),
    ['.', './package.json', './verifier-service', ...LAYERS.map((l) => `./${l}`)].sort(),
  );
  // The HTTP verifier service has its own subpath, apart from mrstack/verifier.
  assert.deepEqual(pkg.exports['./verifier-service'], {
    types: './dist/src/verifier/service/index.d.ts',
    default: './dist/src/verifier/service/index.js',
  });
  assert.match(pkg.scripts['prepack'] ?? '', /build/);
  assert.match(pkg.scripts['lint:package'] ?? '', /publint/);
  assert.match(pkg.scripts['lint:package'] ?? '', /attw --pack \. --profile esm-only/);
});

test('each layer entry resolves by package name and exposes its layer', async () => {
  const expect: Record<(typeof LAYERS)[number], string[]> = {
    formats: ['ByteReader', 'ByteWriter', 'ParseError', 'extend', 'parseHashAlg', 'parseTdxQuote'],
    eventlog: ['openLogFile', 'replayLogs', 'Replay', 'detectLogFormat', 'ParseError'],
    verifier: ['verifyEvidence', 'replayBundle', 'CollateralCache', 'VerifyError'],
    providers: ['openEmulatedProvider', 'openTpmProvider', 'ProviderError'],
    emulate: ['mountEmulatedTvm'],
    agent: ['Agent', 'AgentServer', 'TenantClient', 'AgentError'],
  };
  for (const layer of LAYERS) {
    const api = (await import(`mrstack/${layer}`)) as Record<string, unknown>;
    for (const name of expect[layer]) assert.ok(name in api, `mrstack/${layer} exports ${name}`);
  }
  const root = (await import('mrstack')) as Record<string, unknown>;
  for (const name of ['verifyEvidence', 'Agent', 'openLogFile', 'ERROR_CODES']) {
    assert.ok(name in root, `the root entry still re-exports ${name}`);
  }
});

test('test hooks are not part of any public entry', async () => {
  for (const entry of ['mrstack', ...LAYERS.map((l) => `mrstack/${l}`)]) {
    const api = (await import(entry)) as Record<string, unknown>;
    for (const hook of ['FAULT_STEPS', 'agentRegisterReset']) {
      assert.ok(!(hook in api), `${entry} exports the test hook ${hook}`);
    }
  }
});

test('deep imports are blocked by the exports map', async () => {
  for (const spec of [
    'mrstack/dist/src/errors.js',
    'mrstack/dist/src/verifier/service/server.js',
  ]) {
    await assert.rejects(import(spec), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, spec);
  }
});

test('mrstack/verifier-service resolves and exposes the service and the store', async () => {
  const api = (await import('mrstack/verifier-service')) as Record<string, unknown>;
  for (const name of ['serveVerifier', 'buildVerifierService', 'openStore', 'rotateSigningKey']) {
    assert.ok(name in api, `mrstack/verifier-service exports ${name}`);
  }
});

test('every public export carries TSDoc at its declaration', () => {
  const entries = [
    ...LAYERS.map((l) => join(REPO_ROOT, 'src', l, 'index.ts')),
    join(REPO_ROOT, 'src', 'verifier', 'service', 'index.ts'),
  ];
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  let seen = 0;
  for (const entry of entries) {
    const sf = program.getSourceFile(entry);
    assert.ok(sf, entry);
    const mod = checker.getSymbolAtLocation(sf);
    assert.ok(mod, entry);
    for (const exp of checker.getExportsOfModule(mod)) {
      seen++;
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      const documented = (sym.getDeclarations() ?? []).some((d) => {
        const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
        return ts.getJSDocCommentsAndTags(node).length > 0;
      });
      if (!documented) missing.push(`${exp.name} (${relative(REPO_ROOT, entry)})`);
    }
  }
  assert.ok(seen > 600, `only ${seen} exports seen`);
  assert.deepEqual(missing, []);
});
