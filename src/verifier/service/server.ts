/**
 * The verifier service (DESIGN §6.5, docs/verifier.md): fastify over HTTPS, plain HTTP on
 * loopback, or a unix socket; pino logs. It holds no state of its own — sessions, results,
 * policies and signing keys live in the store — so any number of processes on one PostgreSQL
 * act as one verifier.
 *
 * Routes: challenge sessions (`POST /v1/sessions`, `GET|DELETE /v1/sessions/{id}`,
 * `POST /v1/sessions/{id}/evidence`), the stateless `POST /v1/verify`, `GET /v1/results`,
 * `PUT|GET /v1/policies/{id}`, `/.well-known/jwks.json`, `/healthz`, `/readyz`, `/openapi.json`.
 * Evidence is what `mrstack appraise` takes (a bundle, a report envelope, raw report bytes),
 * sent as the request body; it runs the same verify → appraise → EAR path as that command.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { MrstackError } from '../../errors.js';
import { appraiseEvidence } from '../appraise/appraise_evidence.js';
import {
  compilePolicy,
  defaultPolicy,
  validatePolicy,
  type CompiledPolicy,
  type LoadedPolicy,
} from '../appraise/policy.js';
import { provenClaimsOf } from '../appraise/proven_claims.js';
import { issueEar, DEFAULT_EAR_LIFETIME_SECONDS } from '../result/ear_issue.js';
import type { EarSigningKey } from '../result/ear_keys.js';
import { decodeEvidenceInput, type ReportEnvelope } from '../verify/evidence_input.js';
import { verifyEvidence } from '../verify/evidence_dispatch.js';
import { VerifierCache } from '../verify/verifier_cache.js';
import { resolveTrustPolicy, type TrustPolicy } from '../verify/trust_policy.js';
import type { EvidenceResult, VerifyEvidenceOptions } from '../verify/evidence_result.js';
import type {
  AttesterRecord,
  CheckpointRecord,
  NewResult,
  NonceRefusal,
  ResultRecord,
  ResultStatus,
  VerifierStore,
} from '../store/store.js';
import { publishedJwks } from './key_vault.js';
import { renderDashboard } from './dashboard.js';
import { parsePlatformId, platformIdOf } from './platform_identity.js';
import { renderResultHtml, type ResultPageInput } from '../result/result_html.js';
import {
  checkRegistrableAk,
  credentialChallenge,
  sameEk,
  secretMatches,
  trustEk,
  type RegistrationTrust,
  type TrustedEk,
} from './attester_registration.js';
import { trustSvsmEk } from './svsm_registration.js';
import { objectName } from '../../formats/tpm2/public_key.js';
import {
  decideRegisteredAk,
  refusalJson,
  refuseEvidence,
  akRefusal,
  unregisteredAfterVerify,
  type AkPin,
  type AkRefusal,
} from './registered_ak.js';
import { TdxCollateralCache } from './collateral_cache.js';
import {
  readBundleOnce,
  type BundleRead,
  planAdvance,
  policyDigestOf,
  sinceHintOf,
  tenantSinceHintOf,
  trustedCheckpointOf,
  trustedTenantCheckpointOf,
  type AdvanceReport,
  type BundleWindow,
} from './incremental.js';
import {
  imaCheckpointOf,
  imaSinceHintOf,
  planImaAdvance,
  TPM_IMA_REGISTER,
  unquotedOf,
} from './incremental_ima.js';
import { MR_IMA_VMR } from '../../formats/mrlog/record.js';
import { withUnverifiedImaEvents } from '../replay/ima_layer.js';

/**
 * The verify result as a result row keeps it: the events that verified are not listed one by
 * one (`claims.events` holds the others, `events_listed: "unverified"` says so; the counts stay
 * in `claims.layers`). An ima bundle's million entries are ~300 MB of JSON; a bundle's 100
 * tenant events were ~70 % of a session's 21 KB row and ~0.25 ms of its CPU on the embedded
 * store (bench/verifier, session 8). The verified events are the attester's log, which the
 * stored checkpoint's values vouch for.
 */
function storedVerifyResult(v: EvidenceResult): EvidenceResult {
  const ima = withUnverifiedImaEvents(v);
  if (ima !== v) return ima;
  // a tenant bundle's events (other evidence's claims.events, if any, stay as they are)
  const events = v.kind === 'bundle' ? v.claims['events'] : undefined;
  if (!Array.isArray(events)) return v;
  const claims: Record<string, unknown> = {};
  // own keys, not a spread: `events` is a getter
  for (const k of Object.keys(v.claims)) {
    claims[k] =
      k === 'events'
        ? events.filter((e) => (e as { state?: unknown } | null)?.state !== 'verified')
        : v.claims[k];
  }
  claims['events_listed'] = 'unverified';
  return { ...v, claims };
}

/** Options of {@link buildVerifierService}. */
export interface VerifierServiceOptions {
  readonly store: VerifierStore;
  /** The key EARs are signed with (see key_vault.ts: it lives in the store, sealed). */
  readonly signingKey: EarSigningKey;
  /** Policies given at start (`--policy`); the first is the default. Default: the built-in one. */
  readonly policies?: readonly LoadedPolicy[];
  /** Trust options every verification uses (`--trust-anchor`, `--relax` …). */
  readonly verify?: Pick<
    VerifyEvidenceOptions,
    'trustAnchors' | 'emulatedAnchors' | 'relax' | 'allowMissingCollateral' | 'certs' | 'collateral'
  >;
  /**
   * Verify options made per request from the service's configuration, given the verification
   * time and the evidence's envelope (the CLI's flag builder: emulated collateral is issued for
   * `at`). Its fields override `verify`'s; it alone decides whether the envelope's collateral
   * is used. Its result is reused for up to a minute for the same envelope kind and collateral
   * (what it issues for `at` must stay valid that long).
   */
  readonly verifyFor?: (ctx: {
    readonly at: Date;
    readonly envelope?: ReportEnvelope;
  }) => VerifyEvidenceOptions | Promise<VerifyEvidenceOptions>;
  /**
   * What EKs registration trusts (`--tpm-ca`, `--ek-allowlist`); without it every EK
   * certificate is refused for want of an anchor and no bare EK is accepted.
   */
  readonly registration?: RegistrationTrust;
  /** Lifetime of a credential-activation challenge, seconds (default 300). */
  readonly registrationTtlSeconds?: number;
  /** Bearer token for admin routes (policies, results); without one they are refused. */
  readonly adminToken?: string;
  /** Nonce lifetime, seconds (default 120). */
  readonly sessionTtlSeconds?: number;
  /** EAR lifetime, seconds (default 300); retired keys stay in the JWKS this long. */
  readonly earLifetimeSeconds?: number;
  /** Largest request body, bytes (default 16 MiB). */
  readonly bodyLimit?: number;
  /** Requests per client address per window (default 600 per 10 s); 0 disables. */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  /** pino logging (default: info level to stdout); false for none. */
  readonly logger?: boolean | { level: string; stream?: NodeJS.WritableStream };
  /** TLS key and certificate (PEM); without them the server speaks plain HTTP. */
  readonly tls?: { readonly key: Uint8Array; readonly cert: Uint8Array };
}

/** HTTP status of each error code the service returns. */
const HTTP_STATUS: Partial<Record<string, number>> = {
  ERR_NONCE_UNKNOWN: 404,
  ERR_NOT_FOUND: 404,
  ERR_NONCE_REUSED: 409,
  ERR_CONFLICT: 409,
  ERR_NONCE_EXPIRED: 410,
  ERR_FORBIDDEN: 403,
  ERR_RATE_LIMITED: 429,
  ERR_STORE: 503,
  ERR_INTERNAL: 500,
};

function httpStatusOf(e: MrstackError): number {
  return HTTP_STATUS[e.code] ?? (e.exitCode === 2 ? 400 : e.exitCode === 1 ? 422 : 500);
}

/** The error of a session whose nonce cannot be used. */
function nonceError(session: string, reason: NonceRefusal): MrstackError {
  const code =
    reason === 'reused'
      ? 'ERR_NONCE_REUSED'
      : reason === 'expired'
        ? 'ERR_NONCE_EXPIRED'
        : 'ERR_NONCE_UNKNOWN';
  return new MrstackError(code, `session ${session}: nonce ${reason}`, {
    details: { session, reason },
  });
}

/**
 * A fresh id: 128 random bits in hex. Not base64url: an id beginning with '-' is read as an
 * option by a command line (`verifier submit --session -V…` printed the version).
 */
function newId(): string {
  return randomBytes(16).toString('hex');
}

function bodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body));
  throw new MrstackError('ERR_USAGE', 'the request body must be the evidence bytes');
}

/** docs/openapi/verifier.yaml, which ships in the package beside dist/ (package.json "files"). */
export async function openApiDocument(): Promise<unknown> {
  const path = fileURLToPath(new URL('../../../../docs/openapi/verifier.yaml', import.meta.url));
  const { parse } = await import('yaml');
  return parse(readFileSync(path, 'utf8')) as unknown;
}

interface Evaluation {
  readonly result: ResultRecord;
  readonly verified: boolean;
  readonly findings: unknown;
  readonly ak?: AkPin;
  /** Why the quote's AK was refused (then `verified` is false). */
  readonly akRefused?: AkRefusal;
  /** The verifier's failed checks, by code. */
  readonly errors: readonly { readonly code: string; readonly message: string }[];
  /** The attester's trusted checkpoint after this result. */
  readonly checkpoint?: AdvanceReport;
  /** The stored checkpoint the bundle was replayed from (it was sent `--since` it). */
  readonly since?: number;
  /** The line the tenant log was sent since, continued from the stored tenant checkpoint. */
  readonly tenantSince?: number;
  /** The attester's IMA checkpoint: where the list was sent from, and where it stands after. */
  readonly ima?: {
    readonly register: string;
    readonly since: number;
    readonly offset: number | null;
    readonly advanced: boolean;
    /** Entries sent past the prefix the quote covers (TPM lists): not judged, sent next time. */
    readonly unquoted?: number;
  };
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** A hex field of a JSON body as bytes. */
function hexField(body: Record<string, unknown>, name: string, required: true): Uint8Array;
function hexField(
  body: Record<string, unknown>,
  name: string,
  required?: false,
): Uint8Array | undefined;
function hexField(
  body: Record<string, unknown>,
  name: string,
  required = false,
): Uint8Array | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw new MrstackError('ERR_USAGE', `the body needs ${name} (hex)`);
    return undefined;
  }
  if (typeof v !== 'string' || !HEX.test(v) || v.length === 0) {
    throw new MrstackError('ERR_BAD_HEX', `${name}: expected non-empty hex`, {
      details: { field: name },
    });
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function jsonBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MrstackError('ERR_USAGE', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

const hexOf = (v: string | Uint8Array): string =>
  typeof v === 'string' ? v : Buffer.from(v).toString('hex');

const ATTESTER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const NO_OPTIONS: object = Object.freeze({});

/** How long verifyFor's options are reused for the same envelope kind and collateral. */
const VERIFY_FOR_REUSE_MS = 60_000;

/** Builds the fastify app (not listening yet). */
export async function buildVerifierService(opts: VerifierServiceOptions): Promise<FastifyInstance> {
  const store = opts.store;
  const collateralCache = new TdxCollateralCache();
  // Validated chains shared between requests, keyed by the anchors they were validated under.
  const verifierCache = new VerifierCache();
  const ttl = opts.sessionTtlSeconds ?? 120;
  const earLifetime = opts.earLifetimeSeconds ?? DEFAULT_EAR_LIFETIME_SECONDS;
  const loaded =
    opts.policies && opts.policies.length > 0 ? opts.policies : [await defaultPolicy()];
  const compiled = new Map<string, CompiledPolicy>();
  for (const p of loaded) {
    compiled.set(p.id, compilePolicy(p));
    const [name, digest] = p.id.split('@') as [string, string];
    await store.putPolicy({ id: name, digest, body: p.policy });
  }
  const defaultPolicyId = loaded[0]!.id;
  const openapi = await openApiDocument();

  const app = Fastify({
    logger: opts.logger ?? { level: 'info' },
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    ...(opts.tls === undefined
      ? {}
      : { https: { key: Buffer.from(opts.tls.key), cert: Buffer.from(opts.tls.cert) } }),
  });
  // Evidence arrives as raw bytes whatever its encoding (binary, hex, base64, JSON bundle).
  app.addContentTypeParser(
    ['application/octet-stream', 'application/evidence'],
    { parseAs: 'buffer' },
    (_req, body, done) => {
      done(null, body);
    },
  );

  // A fixed-window limit per client address: enough to stop one client starving the rest.
  const rate = opts.rateLimit ?? { max: 600, windowMs: 10_000 };
  const windows = new Map<string, { start: number; n: number }>();
  app.addHook('onRequest', async (req, reply) => {
    if (rate.max <= 0) return;
    const now = Date.now();
    const key = req.ip;
    let w = windows.get(key);
    if (w === undefined || now - w.start >= rate.windowMs) {
      if (windows.size > 10_000) windows.clear();
      w = { start: now, n: 0 };
      windows.set(key, w);
    }
    if (++w.n > rate.max) {
      await reply
        .code(429)
        .header('retry-after', Math.ceil((w.start + rate.windowMs - now) / 1000))
        .send({ error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' } });
    }
  });

  app.setErrorHandler(async (err: unknown, req, reply) => {
    if (err instanceof MrstackError) {
      const status = httpStatusOf(err);
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: err.toJSON() });
    }
    const fe = err as { statusCode?: number; message?: string; code?: string };
    if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
      const code = fe.statusCode === 413 ? 'ERR_LENGTH_LIMIT' : 'ERR_USAGE';
      return reply
        .code(fe.statusCode)
        .send({ error: { code, message: fe.message ?? 'bad request' } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
  });

  const requireAdmin = (req: FastifyRequest): void => {
    const want = opts.adminToken;
    const got = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const ok =
      want !== undefined &&
      got?.length === want.length &&
      timingSafeEqual(Buffer.from(got), Buffer.from(want));
    if (!ok) throw new MrstackError('ERR_FORBIDDEN', 'this route needs the admin bearer token');
  };

  async function policyFor(
    ref: string | undefined,
  ): Promise<{ id: string; policy: CompiledPolicy }> {
    if (ref === undefined) return { id: defaultPolicyId, policy: compiled.get(defaultPolicyId)! };
    const [name, digest] = ref.split('@') as [string, string | undefined];
    const hit = digest === undefined ? undefined : compiled.get(ref);
    if (hit !== undefined) return { id: ref, policy: hit };
    const rec = await store.getPolicy(name, digest);
    if (rec === null) {
      throw new MrstackError('ERR_NOT_FOUND', `no policy ${ref}`, { details: { policy: ref } });
    }
    const p = await validatePolicy(rec.body);
    const c = compilePolicy(p);
    compiled.set(p.id, c);
    return { id: p.id, policy: c };
  }

  // verifyFor's options for the same envelope kind and collateral, reused for up to a minute:
  // building them reads the emulated TVM and issues its collateral (TCB info, CRLs), which
  // stays valid for days, so re-issuing it for every request only burns CPU.
  const verifyForMemo = new Map<string, { at: number; opts: VerifyEvidenceOptions }>();
  async function verifyForCached(
    at: Date,
    env: ReportEnvelope | undefined,
  ): Promise<VerifyEvidenceOptions> {
    const collateral = env?.collateral === undefined ? '' : JSON.stringify(env.collateral);
    const key = `${env?.kind ?? '-'}|${createHash('sha256').update(collateral).digest('hex')}`;
    const hit = verifyForMemo.get(key);
    const t = at.getTime();
    if (hit !== undefined && t >= hit.at && t - hit.at < VERIFY_FOR_REUSE_MS) return hit.opts;
    const made = await opts.verifyFor!({ at, ...(env === undefined ? {} : { envelope: env }) });
    if (verifyForMemo.size >= 64) verifyForMemo.clear();
    verifyForMemo.set(key, { at: t, opts: made });
    return made;
  }

  // The trust policy of the configured options, resolved once per options object (the service's
  // own, or verifyFor's, reused for a minute): resolving parses every emulated root certificate
  // and was ~20 % of a session's CPU when done per request. `--trust-anchor` files stay raw (the
  // CCA verifier also reads bare keys from them) and are parsed per request.
  const trustMemo = new WeakMap<object, TrustPolicy>();
  function withResolvedTrust(v: VerifyEvidenceOptions, key: object): VerifyEvidenceOptions {
    let policy = trustMemo.get(key);
    if (policy === undefined) {
      policy = resolveTrustPolicy({
        ...(v.policy === undefined ? {} : { policy: v.policy }),
        ...(v.emulatedAnchors === undefined ? {} : { emulatedAnchors: v.emulatedAnchors }),
        ...(v.relax === undefined ? {} : { relax: v.relax }),
        ...(v.allowMissingCollateral === undefined
          ? {}
          : { allowMissingCollateral: v.allowMissingCollateral }),
      });
      trustMemo.set(key, policy);
    }
    const rest: Record<string, unknown> = { ...v };
    delete rest['emulatedAnchors'];
    delete rest['relax'];
    delete rest['allowMissingCollateral'];
    return { ...(rest as VerifyEvidenceOptions), policy };
  }

  /** verify → appraise → EAR on the evidence bytes; records the result. */
  async function evaluate(
    bytes: Uint8Array,
    ctx: {
      nonce?: Uint8Array;
      /** The verification time when the caller has the database's clock already. */
      at?: Date;
      sessionId: string | null;
      attesterId: string | null;
      policy?: string;
      /**
       * What the session's read brought already: the attester's record, and its checkpoint
       * under `window`'s register and `policyDigest` (null: none stored).
       */
      prefetched?: {
        readonly attester: AttesterRecord | null;
        /** The bytes `bundle` was read from (used only when they are the evidence itself). */
        readonly bytes?: Uint8Array;
        readonly bundle?: BundleRead;
        readonly window?: BundleWindow;
        readonly policyDigest?: string;
        readonly checkpoint?: CheckpointRecord | null;
      };
    },
  ): Promise<Evaluation> {
    const at = ctx.at ?? (await store.now());
    const { id: policyId, policy } = await policyFor(ctx.policy);
    const decoded = decodeEvidenceInput(bytes);
    const env = decoded.envelope;
    const parts = env?.parts;
    const tpm = env?.kind === 'tpm' || parts?.['ak_public'] !== undefined;
    const decision = tpm ? await decideRegisteredAk(store, parts, ctx.attesterId) : undefined;
    const reg = decision?.kind === 'pinned' ? decision : undefined;
    const attesterId = ctx.attesterId ?? reg?.pin.attesterId ?? null;
    const policyDigest = policyDigestOf(policyId);
    // A bundle sent --since the attester's stored checkpoint is replayed from that checkpoint;
    // the record read here is also the compare-and-set base for moving it afterwards.
    const pre = ctx.prefetched;
    // the bundle read once: in the route from the same bytes, else here
    const read =
      pre?.bundle !== undefined && pre.bytes === decoded.data
        ? pre.bundle
        : readBundleOnce(decoded.data);
    const window = attesterId === null ? undefined : (pre?.window ?? read.window);
    const cpKey =
      window === undefined || attesterId === null
        ? undefined
        : { attesterId, register: window.register, policyDigest };
    const cpRecord: CheckpointRecord | null =
      cpKey === undefined
        ? null
        : pre?.checkpoint !== undefined &&
            pre.window === window &&
            pre.policyDigest === policyDigest &&
            attesterId === ctx.attesterId
          ? pre.checkpoint
          : await store.getCheckpoint(cpKey);
    const trustedCheckpoint =
      window === undefined ? undefined : trustedCheckpointOf(cpRecord, window);
    // a tenant log sent since a position continues from the tenant's entry in that record
    const trustedTenantCheckpoint =
      window === undefined ? undefined : trustedTenantCheckpointOf(cpRecord, window);
    // Incremental IMA: the attester's trusted IMA checkpoint under this policy — for an ima
    // bundle (`mr_ima`) or a TPM quote sent with its IMA list (`pcr10`).
    const imaRegister =
      attesterId === null
        ? undefined
        : window?.ima !== undefined
          ? MR_IMA_VMR
          : env?.imaLog !== undefined
            ? TPM_IMA_REGISTER
            : undefined;
    const imaKey =
      imaRegister === undefined || attesterId === null
        ? undefined
        : { attesterId, register: imaRegister, policyDigest };
    const imaRecord = imaKey === undefined ? null : await store.getCheckpoint(imaKey);
    const imaCp = imaCheckpointOf(imaRecord);
    const imaSince = window?.ima?.since ?? env?.imaLog?.since ?? 0;
    const learned: Uint8Array[] = [];
    const made = opts.verifyFor === undefined ? undefined : await verifyForCached(at, env);
    const merged: VerifyEvidenceOptions = {
      ...opts.verify,
      at,
      ...(trustedCheckpoint === undefined ? {} : { trustedCheckpoint }),
      ...(trustedTenantCheckpoint === undefined ? {} : { trustedTenantCheckpoint }),
      ...(imaCp === undefined || imaRegister !== MR_IMA_VMR ? {} : { trustedImaCheckpoint: imaCp }),
      // The registered AK is the trust input, exactly as a caller's --ak pin.
      ...(reg === undefined ? {} : { ak: reg.akPublic, akRegistered: true }),
      ...(ctx.nonce === undefined ? {} : { nonce: ctx.nonce }),
      ...(env === undefined ? {} : { kind: env.kind }),
      ...(env?.auxblob === undefined ? {} : { auxblob: env.auxblob }),
      ...(env?.parts === undefined ? {} : { parts: env.parts }),
      // With a verifyFor, it decides about the envelope's collateral (a relaxation drops it).
      ...(env?.collateral === undefined || opts.verifyFor !== undefined
        ? {}
        : {
            collateral: {
              files: new Map([
                [
                  'envelope-collateral.json',
                  new Uint8Array(Buffer.from(JSON.stringify(env.collateral))),
                ],
              ]),
            },
          }),
      ...made,
      verifierCache,
      ...(read.parsed === undefined ? {} : { parsedBundle: read.parsed }),
    };
    const verify = withResolvedTrust(merged, made ?? opts.verify ?? NO_OPTIONS);
    // TDX collateral parsed once per content (TDX envelopes, and bundles or raw quotes: other
    // kinds' collateral does not parse as TDX's and is left to their verifiers).
    const tdx = env === undefined || env.kind === 'tdx';
    const verifyOpts: VerifyEvidenceOptions =
      tdx && verify.collateral !== undefined
        ? { ...verify, collateral: collateralCache.resolve(verify.collateral) }
        : verify;
    const tpmIma = env?.imaLog;
    const appraised = await appraiseEvidence(decoded.data, policy, {
      verify: verifyOpts,
      at,
      // a TPM quote's IMA list, replayed against PCR 10 (from the IMA checkpoint when sent
      // from it); without an attester there is no checkpoint, and a list sent from an entry
      // does not continue from anything
      ...(tpmIma === undefined
        ? {}
        : {
            eventlogs: [{ name: 'ima-log', bytes: tpmIma.data, format: tpmIma.format }],
            imaCheckpoint: {
              since: tpmIma.since,
              ...(imaCp === undefined ? {} : { checkpoint: imaCp }),
              bootId: imaRecord?.bootId ?? null,
            },
          }),
      ...(imaCp === undefined ? {} : { imaLearnedKeys: imaCp.keys }),
      ...(imaKey === undefined ? {} : { onImaKeyLearned: (b: Uint8Array) => learned.push(b) }),
    });
    // A refused AK fails the evidence whatever its signature says (registered_ak.ts).
    const akRefused =
      decision?.kind === 'refused'
        ? decision.refusal
        : decision?.kind === 'unknown'
          ? unregisteredAfterVerify(appraised.verify, ctx.attesterId, decision.akName)
          : undefined;
    // A CVM attester registered its platform: evidence from any other platform is refused.
    const cvm =
      akRefused === undefined && ctx.attesterId !== null
        ? pre !== undefined
          ? pre.attester
          : await store.getAttester(ctx.attesterId)
        : null;
    const platform =
      cvm?.kind === 'cvm' && cvm.platformId !== null
        ? { expected: cvm.platformId, actual: platformIdOf(appraised.verify) }
        : undefined;
    const refusal =
      akRefused !== undefined
        ? akRefusal(akRefused)
        : platform !== undefined && platform.actual !== platform.expected
          ? ({
              code: 'ERR_PLATFORM_MISMATCH',
              check: 'platform_identity',
              findingId: 'platform.identity.mismatch',
              claim: 'platform_id',
              message: `the evidence comes from ${platform.actual ?? 'a platform it does not identify'}, not from the platform attester ${ctx.attesterId ?? ''} registered`,
              expected: platform.expected,
              ...(platform.actual === undefined ? {} : { actual: platform.actual }),
            } as const)
          : undefined;
    const ea =
      refusal === undefined
        ? appraised
        : refuseEvidence(appraised, policy, refusal, {
            at,
            nonceGiven: ctx.nonce !== undefined,
          });
    const provenOwn = provenClaimsOf(ea.verify, { nonceGiven: ctx.nonce !== undefined });
    // The attester's own relaxations (an allowlisted bare EK) hold for every result of it.
    const proven =
      reg === undefined || reg.relaxed.length === 0
        ? provenOwn
        : { ...provenOwn, relaxed: [...new Set([...provenOwn.relaxed, ...reg.relaxed])] };
    const issued = await issueEar([{ appraisal: ea.appraisal, proven }], opts.signingKey, {
      at,
      lifetimeSeconds: earLifetime,
      ...(ctx.nonce === undefined ? {} : { nonce: ctx.nonce }),
    });
    const statuses = Object.values(issued.ear.submods).map((s) => s.status);
    const status: ResultStatus = statuses[0] ?? 'none';
    const passed = ea.verify.verified && status === 'affirming';
    const findings = { appraisal: ea.appraisal, verify: storedVerifyResult(ea.verify) };
    const newResult: NewResult = {
      id: newId(),
      sessionId: ctx.sessionId,
      attesterId,
      status,
      passed,
      relaxed: proven.relaxed,
      policyId,
      ear: issued.token,
      findings:
        reg !== undefined
          ? { ...findings, ak: akJson(reg.pin) }
          : akRefused !== undefined
            ? { ...findings, ak: refusalJson(akRefused) }
            : findings,
    };
    // Only a passed, unrelaxed result of a bundle can vouch for a checkpoint (the store checks
    // that again in the statement that moves it).
    const plan =
      cpKey !== undefined && passed && proven.relaxed.length === 0
        ? planAdvance(cpRecord, ea.verify)
        : undefined;
    const move =
      plan?.move !== undefined && plan.register === cpKey?.register
        ? { key: cpKey, ...plan.move }
        : undefined;
    let result: ResultRecord;
    let moved: boolean | undefined;
    if (ctx.sessionId !== null) {
      // The session's nonce is consumed with its result (and the checkpoint move) in one
      // commit: a racing second evidence for the session finds it spent and writes nothing.
      const done = await store.finishSession(ctx.sessionId, newResult, move);
      if (!done.ok) throw nonceError(ctx.sessionId, done.reason);
      result = done.result;
      moved = done.checkpoint?.ok;
    } else {
      result = await store.putResult(newResult);
      moved =
        move === undefined
          ? undefined
          : (
              await store.advanceCheckpoint(move.key, move.expectedVersion, {
                bootId: move.bootId,
                value: move.value,
                resultId: result.id,
              })
            ).ok;
    }
    const checkpoint: AdvanceReport | undefined =
      plan === undefined
        ? undefined
        : {
            register: plan.register,
            seq: moved === true ? plan.move!.seq : plan.currentSeq,
            advanced: moved === true && plan.move!.physical,
            ...(moved === true && plan.move!.tenant !== undefined
              ? { tenant: plan.move!.tenant }
              : {}),
          };
    // The IMA checkpoint moves by its own compare-and-set from the result just recorded (the
    // store re-checks that it passed with nothing relaxed). Killed before this statement, the
    // checkpoint stays where it was: the next attestation sends more entries, nothing is lost.
    let ima: Evaluation['ima'];
    if (imaKey !== undefined) {
      const imaPlan =
        passed && proven.relaxed.length === 0 && refusal === undefined
          ? planImaAdvance(imaKey.register, imaRecord, appraised, learned)
          : undefined;
      const imaMoved =
        imaPlan === undefined
          ? false
          : (
              await store.advanceCheckpoint(imaKey, imaRecord?.version ?? null, {
                bootId: imaPlan.bootId,
                value: imaPlan.value,
                resultId: result.id,
              })
            ).ok;
      ima = {
        register: imaKey.register,
        since: imaSince,
        offset: imaMoved ? imaPlan!.offset : (imaCp?.offset ?? null),
        advanced: imaMoved,
        ...unquotedOf(appraised.replay.ima),
      };
    }
    return {
      result,
      verified: ea.verify.verified,
      findings: ea.appraisal,
      ...(reg === undefined ? {} : { ak: reg.pin }),
      ...(akRefused === undefined ? {} : { akRefused }),
      errors: [
        ...ea.verify.errors.map((x) => ({ code: x.code, message: x.message })),
        // a TPM quote's IMA list is replayed beside verification: its checkpoint breaks
        ...(tpmIma === undefined || refusal !== undefined
          ? []
          : (appraised.replay.imaCheckpoint ?? []).map((b) => ({
              code: b.kind === 'mismatch' ? 'ERR_IMA_CHECKPOINT_MISMATCH' : 'ERR_IMA_DISCONTINUOUS',
              message: b.message,
            }))),
      ],
      ...(checkpoint === undefined ? {} : { checkpoint }),
      ...(trustedCheckpoint === undefined ? {} : { since: trustedCheckpoint.seq }),
      ...(typeof trustedTenantCheckpoint === 'object'
        ? { tenantSince: trustedTenantCheckpoint.line }
        : {}),
      ...(ima === undefined ? {} : { ima }),
    };
  }

  const akJson = (p: AkPin): Record<string, unknown> => ({
    reason: p.reason,
    attester_id: p.attesterId,
    ak_name: Buffer.from(p.akName).toString('hex'),
    matches_evidence: p.matchesEvidence,
    ...(p.ekTrust == null ? {} : { ek_trust: p.ekTrust }),
  });

  const resultBody = (e: Evaluation): Record<string, unknown> => ({
    result_id: e.result.id,
    status: e.result.status,
    verified: e.verified,
    passed: e.result.passed,
    relaxed: e.result.relaxed,
    policy_id: e.result.policyId,
    ear: e.result.ear,
    ...(e.result.attesterId === null ? {} : { attester_id: e.result.attesterId }),
    ...(e.ak === undefined ? {} : { ak: akJson(e.ak) }),
    ...(e.akRefused === undefined ? {} : { ak: refusalJson(e.akRefused) }),
    errors: e.errors,
    ...(e.since === undefined ? {} : { replayed_since: e.since }),
    ...(e.tenantSince === undefined ? {} : { replayed_tenant_since: e.tenantSince }),
    ...(e.checkpoint === undefined ? {} : { checkpoint: e.checkpoint }),
    ...(e.ima === undefined ? {} : { ima_checkpoint: e.ima }),
    appraisal: e.findings,
  });

  const sessionBody = (s: {
    id: string;
    nonce: Uint8Array;
    expiresAt: Date;
    consumedAt?: Date | null;
    resultId?: string | null;
    attesterId?: string | null;
  }): Record<string, unknown> => ({
    id: s.id,
    nonce: Buffer.from(s.nonce).toString('hex'),
    expires_at: s.expiresAt.toISOString(),
    ...(s.attesterId == null ? {} : { attester_id: s.attesterId }),
    ...(s.consumedAt === undefined
      ? {}
      : { consumed_at: s.consumedAt === null ? null : s.consumedAt.toISOString() }),
    ...(s.resultId == null ? {} : { result_id: s.resultId }),
  });

  app.post('/v1/sessions', async (req, reply) => {
    const body = (req.body ?? {}) as { attester_id?: unknown; policy?: unknown; tenant?: unknown };
    const attesterId = typeof body.attester_id === 'string' ? body.attester_id : null;
    // Which checkpoint the attester should send its log since (under the policy it will be
    // appraised with), so that only the records after it travel and are replayed; the
    // attester's checkpoints are read by the statement that opens the session.
    const digest = policyDigestOf(typeof body.policy === 'string' ? body.policy : defaultPolicyId);
    const s = await store.createSession({
      id: newId(),
      nonce: randomBytes(32),
      attesterId,
      ttlSeconds: ttl,
      ...(attesterId === null ? {} : { checkpointsUnder: digest }),
    });
    const since = s.checkpoints === undefined ? undefined : sinceHintOf(s.checkpoints, digest);
    const imaSince =
      s.checkpoints === undefined ? undefined : imaSinceHintOf(s.checkpoints, digest);
    // the tenant that will attest (optional): where its log continues from
    const tenantSince =
      s.checkpoints === undefined || since === undefined || typeof body.tenant !== 'string'
        ? undefined
        : tenantSinceHintOf(s.checkpoints, digest, body.tenant);
    return reply.code(201).send({
      ...sessionBody(s),
      ...(since === undefined ? {} : { since }),
      ...(tenantSince === undefined ? {} : { tenant_since: tenantSince }),
      ...(imaSince === undefined ? {} : { ima_since: imaSince }),
    });
  });

  app.get<{ Params: { id: string } }>('/v1/sessions/:id', async (req) => {
    const s = await store.getSession(req.params.id);
    if (s === null) {
      throw new MrstackError('ERR_NONCE_UNKNOWN', `no session ${req.params.id}`);
    }
    return sessionBody(s);
  });

  app.delete<{ Params: { id: string } }>('/v1/sessions/:id', async (req, reply) => {
    if (!(await store.deleteSession(req.params.id))) {
      throw new MrstackError('ERR_NONCE_UNKNOWN', `no session ${req.params.id}`);
    }
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string }; Querystring: { policy?: string } }>(
    '/v1/sessions/:id/evidence',
    async (req) => {
      const bytes = bodyBytes(req.body);
      // A spent, expired or unknown session is refused before any work. The nonce is consumed
      // with the result in one commit (finishSession): the first evidence that names it spends
      // it, whatever that evidence turns out to be, so a failed attempt cannot be retried.
      // The session, its attester and (for a bundle under a policy named by digest) the
      // attester's checkpoint come in one read.
      const ref = req.query.policy ?? defaultPolicyId;
      const policyDigest = ref.includes('@') ? policyDigestOf(ref) : undefined;
      // a bundle is parsed once: its window picks the checkpoint, the verifier reads the rest
      const read = readBundleOnce(bytes);
      const window = policyDigest === undefined ? undefined : read.window;
      const c = await store.sessionForEvidence(
        req.params.id,
        window === undefined || policyDigest === undefined
          ? undefined
          : { register: window.register, policyDigest },
      );
      if (!c.ok) throw nonceError(req.params.id, c.reason);
      const e = await evaluate(bytes, {
        nonce: c.session.nonce,
        // The verification time is the database's clock, read with the session.
        at: c.at,
        sessionId: c.session.id,
        attesterId: c.session.attesterId,
        prefetched: {
          attester: c.attester,
          bytes,
          bundle: read,
          ...(window === undefined || policyDigest === undefined
            ? {}
            : { window, policyDigest, checkpoint: c.checkpoint }),
        },
        ...(req.query.policy === undefined ? {} : { policy: req.query.policy }),
      });
      return resultBody(e);
    },
  );

  app.post<{ Querystring: { nonce?: string; policy?: string; attester_id?: string } }>(
    '/v1/verify',
    async (req) => {
      const bytes = bodyBytes(req.body);
      const q = req.query;
      let nonce: Uint8Array | undefined;
      if (q.nonce !== undefined) {
        if (!/^(?:[0-9a-fA-F]{2}){8,64}$/.test(q.nonce)) {
          throw new MrstackError('ERR_BAD_HEX', 'nonce: expected 8–64 bytes of hex');
        }
        nonce = new Uint8Array(Buffer.from(q.nonce, 'hex'));
      }
      const e = await evaluate(bytes, {
        ...(nonce === undefined ? {} : { nonce }),
        sessionId: null,
        attesterId: q.attester_id ?? null,
        ...(q.policy === undefined ? {} : { policy: q.policy }),
      });
      return resultBody(e);
    },
  );

  app.get<{ Querystring: { attester?: string; limit?: string } }>('/v1/results', async (req) => {
    requireAdmin(req);
    const limit = Number(req.query.limit ?? '50');
    const rows = await store.listResults({
      ...(req.query.attester === undefined ? {} : { attesterId: req.query.attester }),
      limit: Number.isFinite(limit) ? limit : 50,
    });
    return {
      results: rows.map((r) => ({
        id: r.id,
        session_id: r.sessionId,
        attester_id: r.attesterId,
        created_at: r.createdAt.toISOString(),
        status: r.status,
        passed: r.passed,
        relaxed: r.relaxed,
        policy_id: r.policyId,
        ear: r.ear,
      })),
    };
  });

  app.put<{ Params: { id: string } }>('/v1/policies/:id', async (req, reply) => {
    requireAdmin(req);
    const p = await validatePolicy(req.body);
    const [name, digest] = p.id.split('@') as [string, string];
    if (name !== req.params.id) {
      throw new MrstackError(
        'ERR_USAGE',
        `the policy's name is ${name}, not ${req.params.id} (the path names the policy)`,
      );
    }
    const put = await store.putPolicy({ id: name, digest, body: p.policy });
    return reply.code(put.created ? 201 : 200).send({ id: p.id, created: put.created });
  });

  app.get<{ Params: { id: string } }>('/v1/policies/:id', async (req) => {
    const [name, digest] = req.params.id.split('@') as [string, string | undefined];
    const rec = await store.getPolicy(name, digest);
    if (rec === null) throw new MrstackError('ERR_NOT_FOUND', `no policy ${req.params.id}`);
    return { id: `${rec.id}@${rec.digest}`, policy: rec.body };
  });

  const regTrust: RegistrationTrust = opts.registration ?? {
    tpmAnchors: [],
    ekAllowlist: new Set(),
  };
  const regTtl = opts.registrationTtlSeconds ?? 300;

  /**
   * The EK of an SVSM attester: `svsm_report` (the envelope `mrstack report --service-provider
   * svsm` writes, or the raw report with `manifest` beside it) made with the nonce of the session
   * `session_id`, which this spends; verified with the service's trust options and that nonce.
   */
  async function svsmRegistrationEk(body: Record<string, unknown>): Promise<{
    ek: TrustedEk;
    sessionId: string;
    attesterId: string | null;
    claims: Record<string, unknown>;
  }> {
    if (body['ek_cert'] !== undefined || body['ek_public'] !== undefined) {
      throw new MrstackError(
        'ERR_USAGE',
        'svsm_report names the EK (the vTPM the SVSM manifest lists): send no ek_cert or ek_public beside it',
      );
    }
    const sid = body['session_id'];
    if (typeof sid !== 'string') {
      throw new MrstackError(
        'ERR_USAGE',
        'an SVSM registration needs session_id: the session whose nonce the SVSM report binds',
      );
    }
    const decoded = decodeEvidenceInput(hexField(body, 'svsm_report', true));
    const env = decoded.envelope;
    const manifest =
      hexField(body, 'manifest') ?? env?.parts?.['manifestblob'] ?? env?.parts?.['manifest'];
    if (manifest === undefined) {
      throw new MrstackError(
        'ERR_USAGE',
        'svsm_report: no services manifest (send the envelope with its manifestblob, or manifest)',
      );
    }
    // Spent before the report is judged: a refused report cannot be retried with the nonce.
    const c = await store.consumeSession(sid);
    if (!c.ok) throw nonceError(sid, c.reason);
    const at = await store.now();
    const made = opts.verifyFor === undefined ? undefined : await verifyForCached(at, env);
    const v = withResolvedTrust(
      {
        ...opts.verify,
        at,
        nonce: c.session.nonce,
        kind: 'snp',
        ...(env?.auxblob === undefined ? {} : { auxblob: env.auxblob }),
        parts: { ...(env?.parts ?? {}), manifestblob: manifest },
        ...made,
        verifierCache,
      },
      made ?? opts.verify ?? NO_OPTIONS,
    );
    const result = await verifyEvidence(decoded.data, v);
    const ek = trustSvsmEk(result, manifest);
    return {
      ek,
      sessionId: sid,
      attesterId: c.session.attesterId,
      claims: {
        checks: result.checks,
        relaxed: result.relaxed,
        emulated: result.trust.emulated,
        ...(typeof result.claims['measurement'] === 'string' ||
        result.claims['measurement'] instanceof Uint8Array
          ? { measurement: hexOf(result.claims['measurement']) }
          : {}),
        ...(typeof result.claims['chip_id'] === 'string' ||
        result.claims['chip_id'] instanceof Uint8Array
          ? { chip_id: hexOf(result.claims['chip_id']) }
          : {}),
      },
    };
  }

  app.post('/v1/attesters', async (req, reply) => {
    const body = jsonBody(req.body);
    const given = body['attester_id'];
    if (given !== undefined && (typeof given !== 'string' || !ATTESTER_ID.test(given))) {
      throw new MrstackError('ERR_USAGE', 'attester_id: 1–128 of A-Z a-z 0-9 . _ : -');
    }
    // A CVM attester registers its platform identity (admin: nothing in the request proves
    // it; every later evidence for the attester must then come from that platform).
    if (body['platform_id'] !== undefined) {
      requireAdmin(req);
      if (typeof given !== 'string') {
        throw new MrstackError('ERR_USAGE', 'a CVM attester needs its attester_id');
      }
      const platformId = parsePlatformId(body['platform_id']);
      const existing = await store.getAttester(given);
      if (existing !== null) {
        if (existing.kind === 'cvm' && existing.platformId === platformId) {
          return reply.code(200).send(await attesterJson(existing));
        }
        throw new MrstackError('ERR_CONFLICT', `attester ${given} is registered already`, {
          details: { attester: given },
        });
      }
      const a = await store.putAttester({
        id: given,
        kind: 'cvm',
        ekCert: null,
        ekPublic: null,
        platformId,
        relaxed: [],
      });
      return reply.code(201).send(await attesterJson(a));
    }
    const chain = body['ek_chain'];
    if (chain !== undefined && !Array.isArray(chain)) {
      throw new MrstackError('ERR_USAGE', 'ek_chain: expected an array of hex certificates');
    }
    const ekChain = ((chain ?? []) as unknown[]).map((_c, i) =>
      hexField({ [`ek_chain[${i}]`]: (chain as unknown[])[i] }, `ek_chain[${i}]`, true),
    );
    const ekCert = hexField(body, 'ek_cert');
    const ekPublic = hexField(body, 'ek_public');
    const akPublic = hexField(body, 'ak_public', true);
    // The AK first: a key that can leave its TPM or decrypt is refused whatever the EK.
    const ak = checkRegistrableAk(akPublic);
    // An SVSM attester: the EK is the vTPM's from a verified SVSM report (svsm_registration.ts).
    const svsm = body['svsm_report'] !== undefined ? await svsmRegistrationEk(body) : undefined;
    const ek =
      svsm?.ek ??
      trustEk(
        {
          ...(ekCert === undefined ? {} : { ekCert }),
          ...(ekPublic === undefined ? {} : { ekPublic }),
          ekChain,
        },
        regTrust,
        await store.now(),
      );
    const attesterId = typeof given === 'string' ? given : (svsm?.attesterId ?? newId());
    if (svsm?.attesterId != null && svsm.attesterId !== attesterId) {
      throw new MrstackError(
        'ERR_USAGE',
        `session ${svsm.sessionId} was opened for attester ${svsm.attesterId}, not ${attesterId}`,
      );
    }
    const existing = await store.getAttester(attesterId);
    if (existing !== null && !sameEk(existing.ekPublic ?? new Uint8Array(0), ek.publicBytes)) {
      throw new MrstackError(
        'ERR_CONFLICT',
        `attester ${attesterId} is registered with another EK`,
        { details: { attester: attesterId } },
      );
    }
    const ch = credentialChallenge(ek, ak);
    const reg = await store.createRegistration({
      id: newId(),
      attesterId,
      secretDigest: ch.secretDigest,
      ekCert: ek.certificate,
      ekPublic: ek.publicBytes,
      akPublic: ak.publicBytes,
      akName: ak.name,
      relaxed: ek.relaxed,
      ekTrust: ek.reason,
      ttlSeconds: regTtl,
    });
    return reply.code(201).send({
      attester_id: attesterId,
      registration_id: reg.id,
      ak_name: Buffer.from(ak.name).toString('hex'),
      credential_blob: Buffer.from(ch.credential.credentialBlob).toString('hex'),
      secret: Buffer.from(ch.credential.secret).toString('hex'),
      expires_at: reg.expiresAt.toISOString(),
      ek: {
        trust: ek.reason,
        spki_sha256: ek.spkiSha256,
        ...(ek.anchor === undefined ? {} : { anchor: ek.anchor }),
        ...(svsm === undefined ? {} : { svsm: svsm.claims }),
      },
      relaxed: ek.relaxed,
    });
  });

  app.post<{ Params: { id: string } }>('/v1/attesters/:id/activate', async (req) => {
    const body = jsonBody(req.body);
    const secret = hexField(body, 'secret', true);
    const rid = body['registration_id'];
    if (rid !== undefined && typeof rid !== 'string') {
      throw new MrstackError('ERR_USAGE', 'registration_id: expected a string');
    }
    const regId = rid ?? (await store.pendingRegistration(req.params.id));
    if (regId === null) {
      throw new MrstackError(
        'ERR_NONCE_UNKNOWN',
        `attester ${req.params.id}: no pending challenge`,
      );
    }
    // Consumed before the secret is compared: a wrong answer spends the challenge.
    const c = await store.consumeRegistration(regId);
    if (!c.ok) {
      const code =
        c.reason === 'reused'
          ? 'ERR_NONCE_REUSED'
          : c.reason === 'expired'
            ? 'ERR_NONCE_EXPIRED'
            : 'ERR_NONCE_UNKNOWN';
      throw new MrstackError(code, `registration ${regId}: challenge ${c.reason}`, {
        details: { registration: regId, reason: c.reason },
      });
    }
    const r = c.registration;
    if (r.attesterId !== req.params.id) {
      throw new MrstackError(
        'ERR_NONCE_UNKNOWN',
        `registration ${regId} is not for ${req.params.id}`,
      );
    }
    if (!secretMatches(secret, r.secretDigest)) {
      throw new MrstackError(
        'ERR_CREDENTIAL_MISMATCH',
        `registration ${regId}: the secret is not the one sealed to the EK and AK; the challenge is spent`,
        { details: { registration: regId } },
      );
    }
    let attester = await store.getAttester(r.attesterId);
    if (attester === null) {
      try {
        attester = await store.putAttester({
          id: r.attesterId,
          kind: 'tpm',
          ekCert: r.ekCert,
          ekPublic: r.ekPublic,
          platformId: null,
          relaxed: r.relaxed,
          ekTrust: r.ekTrust ?? null,
        });
      } catch (e) {
        // Another activation for the same id won the race: fall through to the EK check.
        if (!(e instanceof MrstackError && e.code === 'ERR_CONFLICT')) throw e;
        attester = await store.getAttester(r.attesterId);
      }
    }
    if (attester === null || !sameEk(attester.ekPublic ?? new Uint8Array(0), r.ekPublic)) {
      throw new MrstackError(
        'ERR_CONFLICT',
        `attester ${r.attesterId} is registered with another EK`,
      );
    }
    await store.addAttesterKey({
      attesterId: r.attesterId,
      akName: r.akName,
      akPublic: r.akPublic,
    });
    return {
      attester_id: r.attesterId,
      ak_name: Buffer.from(r.akName).toString('hex'),
      registered: true,
      relaxed: attester.relaxed,
    };
  });

  const attesterJson = async (a: AttesterRecord): Promise<Record<string, unknown>> => ({
    id: a.id,
    kind: a.kind,
    created_at: a.createdAt.toISOString(),
    relaxed: a.relaxed,
    ek_certificate: a.ekCert !== null,
    ...(a.ekPublic === null
      ? {}
      : { ek_name: Buffer.from(objectName(a.ekPublic)).toString('hex') }),
    ...(a.platformId === null ? {} : { platform_id: a.platformId }),
    ...(a.ekTrust == null ? {} : { ek_trust: a.ekTrust }),
    keys: (await store.listAttesterKeys(a.id)).map((k) => ({
      ak_name: Buffer.from(k.akName).toString('hex'),
      ak_public: Buffer.from(k.akPublic).toString('hex'),
      created_at: k.createdAt.toISOString(),
    })),
  });

  app.get('/v1/attesters', async (req) => {
    requireAdmin(req);
    const all = await store.listAttesters();
    return { attesters: await Promise.all(all.map(attesterJson)) };
  });

  app.get<{ Params: { id: string } }>('/v1/attesters/:id', async (req) => {
    requireAdmin(req);
    const a = await store.getAttester(req.params.id);
    if (a === null) throw new MrstackError('ERR_NOT_FOUND', `no attester ${req.params.id}`);
    return attesterJson(a);
  });

  app.delete<{ Params: { id: string } }>('/v1/attesters/:id', async (req, reply) => {
    requireAdmin(req);
    if (!(await store.deleteAttester(req.params.id))) {
      throw new MrstackError('ERR_NOT_FOUND', `no attester ${req.params.id}`);
    }
    return reply.code(204).send();
  });

  app.get('/.well-known/jwks.json', async () =>
    publishedJwks(store, await store.now(), earLifetime),
  );

  // The dashboard and each result's page: admin routes like /v1/results (a browser reaches them
  // through a proxy that adds the bearer token).
  app.get('/', async (req, reply) => {
    requireAdmin(req);
    const [attesters, results, latest, at] = await Promise.all([
      store.listAttesters(),
      store.listResults({ limit: 50 }),
      store.latestResults(),
      store.now(),
    ]);
    const withKeys = await Promise.all(
      attesters.map(async (a) => ({ ...a, keys: (await store.listAttesterKeys(a.id)).length })),
    );
    return reply
      .type('text/html; charset=utf-8')
      .send(renderDashboard({ attesters: withKeys, results, latest, at }));
  });

  app.get<{ Params: { id: string } }>('/results/:id', async (req, reply) => {
    requireAdmin(req);
    const r = await store.getResult(req.params.id);
    if (r === null) throw new MrstackError('ERR_NOT_FOUND', `no result ${req.params.id}`);
    const stored = r.findings as { appraisal?: ResultPageInput['appraisal'] } | null;
    if (stored?.appraisal === undefined) {
      throw new MrstackError('ERR_NOT_FOUND', `result ${r.id} has no appraisal to show`);
    }
    const claims =
      r.ear === null
        ? undefined
        : (JSON.parse(
            Buffer.from(r.ear.split('.')[1] ?? '', 'base64url').toString('utf8'),
          ) as Record<string, unknown>);
    return reply.type('text/html; charset=utf-8').send(
      renderResultHtml({
        appraisal: stored.appraisal,
        ...(claims === undefined ? {} : { ear: { claims, token: r.ear! } }),
        title: `result ${r.id}${r.attesterId === null ? '' : ` · ${r.attesterId}`}`,
      }),
    );
  });

  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const database = await store.ping();
    const keys = database
      ? (await store.listSigningKeys()).some((k) => k.retiredAt === null)
      : false;
    const ready = database && keys;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not-ready', checks: { database, signing_key: keys } });
  });

  app.get('/openapi.json', () => Promise.resolve(openapi));

  return app;
}
