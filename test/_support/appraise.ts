/**
 * Shared set-up of the `mrstack appraise` end-to-end tests: an emulated TVM (optionally with an
 * agent and its tenants), `mrstack report` or agent evidence, `policy generate --from-evidence`,
 * and one appraise run that also writes and verifies an EAR and an HTML page, so each case can
 * assert the finding id, the AR4SI claim and tier, the exit code and the page in one place.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { cliAppend, cliEvidence, initTvmWithAgent, type CliEvent } from './agent_harness.js';
import { runCli, runCliJson } from './cli.js';

/** One finding as `appraise --json` prints it. */
export interface AppraiseFinding {
  readonly id: string;
  readonly status: string;
  readonly claim: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
  readonly where: { readonly layer: string; readonly log?: string; readonly record?: number };
}

/** `appraise --json`'s document (the fields the tests read). */
export interface AppraisalJson {
  readonly status: string;
  readonly policy_id: string;
  readonly kind: string;
  readonly findings: readonly AppraiseFinding[];
  readonly ima?: Readonly<Record<string, number>>;
}

/** The ids of an appraisal's findings, optionally only those with one status. */
export const findingIds = (a: AppraisalJson, status?: string): string[] =>
  a.findings.filter((f) => status === undefined || f.status === status).map((f) => f.id);

/** An ES256 EAR signing key pair written as PEM files. */
export function earKeyPair(dir: string): { key: string; pub: string } {
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = join(dir, 'ear-key.pem');
  const pub = join(dir, 'ear-pub.pem');
  writeFileSync(key, kp.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(pub, kp.publicKey.export({ format: 'pem', type: 'spki' }));
  return { key, pub };
}

/** What one `appraise` run gave: exit code, JSON, and (when it wrote them) the EAR and page. */
export interface Judged {
  readonly code: number | null;
  readonly json: AppraisalJson;
  /** The verified EAR's submodule: its status and trustworthiness vector. */
  readonly ear?: { readonly status: string; readonly vector: Readonly<Record<string, number>> };
  /** The HTML page's text. */
  readonly html?: string;
}

/**
 * `mrstack appraise ARGS --json`; with `keys`, also `--ear-out/--ear-key/--html`, and the EAR is
 * verified with `mrstack ear verify --key` (its submodule `kind` read back).
 */
export async function appraiseCli(
  args: readonly string[],
  out?: {
    readonly dir: string;
    readonly keys: { key: string; pub: string };
    readonly kind: string;
    /** `ear verify --at` (the appraisal's pinned `--at`: an EAR lives 300 s from it). */
    readonly at?: string;
  },
): Promise<Judged> {
  const tag = randomBytes(4).toString('hex');
  const ear = out === undefined ? undefined : join(out.dir, `ear-${tag}.jwt`);
  const html = out === undefined ? undefined : join(out.dir, `page-${tag}.html`);
  const extra =
    out === undefined ? [] : ['--ear-out', ear!, '--ear-key', out.keys.key, '--html', html!];
  const { result, json } = await runCliJson(['appraise', ...args, ...extra, '--json']);
  assert.ok(
    result.code === 0 || result.code === 1,
    `${result.code}: ${result.stdout}${result.stderr}`,
  );
  if (out === undefined) return { code: result.code, json: json as AppraisalJson };
  const v = await runCliJson([
    'ear',
    'verify',
    ear!,
    '--key',
    out.keys.pub,
    ...(out.at === undefined ? [] : ['--at', out.at]),
    '--json',
  ]);
  assert.equal(v.result.code, 0, v.result.stdout + v.result.stderr);
  const sub = (
    v.json as {
      ear: { submods: Record<string, { status: string; trustVector: Record<string, number> }> };
    }
  ).ear.submods[out.kind];
  assert.ok(sub !== undefined, `EAR submodule ${out.kind}`);
  return {
    code: result.code,
    json: json as AppraisalJson,
    ear: { status: sub.status, vector: sub.trustVector },
    html: readFileSync(html!, 'utf8'),
  };
}

/** An emulated TVM with an agent started through the CLI (stopped after the test). */
export interface AgentTvm {
  readonly tvm: string;
  /** A tenant's socket. */
  readonly sock: (tenant: string) => string;
  /** Appends one event for a tenant through `mrstack event append`. */
  append(tenant: string, ev: CliEvent): Promise<void>;
  /** `evidence get` for a tenant with a fresh nonce: the bundle's path and the nonce. */
  bundle(tenant: string, name: string): Promise<{ file: string; nonce: string }>;
}

/**
 * `emulate init --profile PROFILE INITARGS` in `dir/name` and `agent start` on it with one vMR
 * per tenant (each named after its tenant), on the profile's default register.
 */
export async function agentTvm(
  t: TestContext,
  dir: string,
  name: string,
  profile: 'tdx' | 'tpm' | 'cca',
  tenants: readonly string[],
  initArgs: readonly string[] = [],
): Promise<AgentTvm> {
  const tvm = join(dir, name);
  const run = join(dir, `${name}-run`);
  const tenantsFile = join(dir, `${name}-tenants.json`);
  await initTvmWithAgent(t, { tvm, run, tenantsFile }, { profile, tenants, initArgs });
  const sock = (n: string): string => join(run, 'tenants', `${n}.sock`);
  return {
    tvm,
    sock,
    async append(tenant, ev) {
      const r = await cliAppend(sock(tenant), ev);
      assert.equal(r.code, 0, r.stderr);
    },
    async bundle(tenant, file) {
      const nonce = randomBytes(32).toString('hex');
      const path = join(dir, file);
      assert.equal(await cliEvidence(sock(tenant), nonce, path), 0);
      return { file: path, nonce };
    },
  };
}

/** `mrstack policy generate --from-evidence FILE --nonce N --trust-emulated --tvm-state TVM`. */
export async function generatePolicyCli(
  evidence: string,
  nonce: string,
  tvm: string,
  out: string,
  extra: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const gen = await runCli([
    'policy',
    'generate',
    '--from-evidence',
    evidence,
    '--nonce',
    nonce,
    '--trust-emulated',
    '--tvm-state',
    tvm,
    ...extra,
    '--out',
    out,
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
}

/** Writes a policy object to a fresh file in `dir` and returns its path. */
export function writePolicy(dir: string, policy: unknown): string {
  const f = join(dir, `policy-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(f, JSON.stringify(policy));
  return f;
}
