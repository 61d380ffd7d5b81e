/**
 * `mrstack verifier serve|challenge|submit|register|register-platform|rotate-key` (docs/verifier.md).
 *
 * - `serve` runs the verifier service until SIGTERM/SIGINT; once listening it prints one line
 *   `{"listening":"<address>","store":"embedded|postgres","kid":"<signing key>"}` on stdout
 *   (pino logs go to stderr).
 * - `challenge` opens a session and prints `{"id","nonce","expires_at"}`.
 * - `submit FILE` sends evidence to a session (`--session ID`) or to the stateless
 *   `/v1/verify` (`--nonce HEX`) and prints the result; exit 0 when it passed, 1 otherwise.
 * - `register-platform` registers a CVM attester by its platform identity (admin).
 * - `rotate-key` adds a new EAR signing key to the store and retires the others.
 *
 * @module
 */
import type { Command } from 'commander';
import { closeSync, openSync } from 'node:fs';
import { UsageError, fromErrno } from '../../errors.js';
import { action, printJson } from '../output.js';
import { readInput as readBytes } from '../input_files.js';
import { addTrustOptions, trustOptionsFromFlags, type VerifyFlags } from '../verify_flags.js';
import type { LoadedPolicy } from '../../verifier/appraise/policy.js';

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

interface ServeFlags extends VerifyFlags {
  readonly listen?: string;
  readonly socket?: string;
  readonly store: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly insecureHttp?: boolean;
  readonly earKey?: string;
  readonly kekFile?: string;
  readonly policy?: readonly string[];
  readonly adminTokenFile?: string;
  readonly tpmCa?: readonly string[];
  readonly ekAllowlist?: string;
  readonly sessionTtl: string;
  readonly rateLimit: string;
  readonly bodyLimit?: string;
  readonly logLevel: string;
}

interface ClientFlags {
  readonly verifier: string;
  readonly ca?: string;
  readonly json?: boolean;
}

function endpoint(o: ClientFlags): import('../../verifier/service/client.js').VerifierEndpoint {
  return { url: o.verifier, ...(o.ca === undefined ? {} : { ca: readBytes(o.ca) }) };
}

/** Registers the `verifier` command group. */
export function registerVerifier(program: Command): Command {
  const v = program.command('verifier').description('the verifier service and its client');

  const serve = v
    .command('serve')
    .description('run the verifier service (until SIGTERM)')
    .option('--listen <host:port>', 'TCP address (plain HTTP only on loopback without TLS)')
    .option('--socket <path>', 'unix socket instead of TCP')
    .option('--store <spec>', 'embedded:DIR or postgres://…', 'embedded:mrstack-verifier-state')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--insecure-http', 'allow plain HTTP on a non-loopback address')
    .option('--ear-key <file>', 'EAR signing key to import and make active (PEM or JWK)')
    .option(
      '--kek-file <file>',
      'key-encryption key for the stored signing keys (default: $MRSTACK_VERIFIER_KEK)',
    )
    .option('--policy <file>', 'appraisal policy (repeatable; the first is the default)', collect);
  addTrustOptions(serve)
    .option(
      '--tpm-ca <file>',
      'TPM-vendor root that EK certificates must chain to for attester registration (repeatable)',
      collect,
    )
    .option(
      '--ek-allowlist <file>',
      'bare EKs accepted without a certificate: hex EK SPKI SHA-256 or TPM name, one a line (relaxed)',
    )
    .option(
      '--admin-token-file <file>',
      'bearer token for admin routes (default: $MRSTACK_VERIFIER_ADMIN_TOKEN)',
    )
    .option('--session-ttl <seconds>', 'nonce lifetime', '120')
    .option('--rate-limit <n>', 'requests per client address per 10 s (0: no limit)', '600')
    .option(
      '--body-limit <bytes>',
      'largest request body (default 16 MiB; a first ima bundle of a million entries is ~175 MB)',
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .action(
      action(async (o: ServeFlags) => {
        const rate = Number(o.rateLimit);
        if (!Number.isSafeInteger(rate) || rate < 0)
          throw new UsageError('ERR_USAGE', '--rate-limit: expected an integer >= 0');
        const bodyLimit = o.bodyLimit === undefined ? undefined : Number(o.bodyLimit);
        if (bodyLimit !== undefined && (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024))
          throw new UsageError('ERR_USAGE', '--body-limit: expected bytes >= 1024');
        const ttl = Number(o.sessionTtl);
        if (!Number.isFinite(ttl) || ttl <= 0)
          throw new UsageError('ERR_USAGE', '--session-ttl: expected seconds > 0');
        if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
          throw new UsageError('ERR_USAGE', '--tls-cert and --tls-key go together');
        }
        const { loadKek } = await import('../../verifier/service/key_vault.js');
        const { parsePolicy } = await import('../../verifier/appraise/policy.js');
        const { prefetchPolicyFile } = await import('../../verifier/appraise/policy_cache.js');
        const { serveVerifier } = await import('../../verifier/service/serve.js');
        const { parseEkAllowlist } =
          await import('../../verifier/service/attester_registration.js');
        const { anchorsFromCertificateFiles } = await import('../../verifier/verify/x509/chain.js');
        const kek = loadKek(o.kekFile === undefined ? {} : { file: o.kekFile });
        // Refuse bad trust flags (an unknown relaxation, a missing TVM) before listening.
        await trustOptionsFromFlags(o, { at: new Date() });
        // A policy file is opened now (a missing one fails before anything opens) and read and
        // hashed on a worker thread while the store opens; it is decoded from appraise's policy
        // cache (keyed by the file's SHA-256, entry checked whole and private to this user) or,
        // on a miss, validated once the store is open, then cached for the next start.
        const policyLoads = (o.policy ?? []).map((f): (() => Promise<LoadedPolicy>) => {
          if (f === '-') {
            const text = Buffer.from(readBytes(f)).toString('utf8');
            return () => parsePolicy(text);
          }
          try {
            closeSync(openSync(f, 'r'));
          } catch (e) {
            throw fromErrno(e, f);
          }
          return prefetchPolicyFile(f);
        });
        const policies = async (): Promise<LoadedPolicy[]> => {
          const out: LoadedPolicy[] = [];
          for (const load of policyLoads.splice(0)) out.push(await load());
          return out;
        };
        const token =
          o.adminTokenFile !== undefined
            ? Buffer.from(readBytes(o.adminTokenFile)).toString('utf8').trim()
            : process.env['MRSTACK_VERIFIER_ADMIN_TOKEN'];
        const svc = await serveVerifier({
          store: o.store,
          kek,
          ...(o.listen === undefined ? {} : { listen: o.listen }),
          ...(o.socket === undefined ? {} : { socket: o.socket }),
          ...(o.tlsCert === undefined || o.tlsKey === undefined
            ? {}
            : { tls: { cert: readBytes(o.tlsCert), key: readBytes(o.tlsKey) } }),
          ...(o.insecureHttp === true ? { insecureHttp: true } : {}),
          ...(o.earKey === undefined ? {} : { earKey: readBytes(o.earKey) }),
          policies,
          // The same flags → options builder as evidence verify and appraise, run per request
          // for its verification time (emulated collateral is issued for it).
          verifyFor: ({ at, envelope }) =>
            trustOptionsFromFlags(o, { at, ...(envelope === undefined ? {} : { envelope }) }),
          ...(token === undefined || token === '' ? {} : { adminToken: token }),
          registration: {
            tpmAnchors: anchorsFromCertificateFiles((o.tpmCa ?? []).map(readBytes), 'tpm_ca'),
            ekAllowlist:
              o.ekAllowlist === undefined
                ? new Set<string>()
                : parseEkAllowlist(Buffer.from(readBytes(o.ekAllowlist)).toString('utf8')),
          },
          sessionTtlSeconds: ttl,
          rateLimit: { max: rate, windowMs: 10_000 },
          ...(bodyLimit === undefined ? {} : { bodyLimit }),
          logger: { level: o.logLevel, stream: process.stderr },
        });
        process.stdout.write(
          `${JSON.stringify({ listening: svc.address, store: svc.store.kind, kid: svc.signingKey.publicKey.thumbprint })}\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        });
        await svc.close();
        return 0;
      }),
    );

  v.command('challenge')
    .description('open a challenge session: prints {"id","nonce","expires_at"}')
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .option('--ca <file>', 'CA certificate for https')
    .option('--attester <id>', 'the attester the session is for')
    .option(
      '--tenant <name>',
      'the tenant that will attest (the answer says where its log continues)',
    )
    .option('--json', 'print JSON (the default)')
    .action(
      action(async (o: ClientFlags & { attester?: string; tenant?: string }) => {
        const { openSession } = await import('../../verifier/service/client.js');
        printJson(await openSession(endpoint(o), o.attester, o.tenant));
        return 0;
      }),
    );

  v.command('submit <file>')
    .description('send evidence (bundle, report envelope or raw report) and print the result')
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .option('--ca <file>', 'CA certificate for https')
    .option('--session <id>', 'the challenge session the evidence answers')
    .option('--nonce <hex>', 'stateless /v1/verify with your own nonce')
    .option('--json', 'print JSON (the default)')
    .action(
      action(async (file: string, o: ClientFlags & { session?: string; nonce?: string }) => {
        if ((o.session === undefined) === (o.nonce === undefined)) {
          throw new UsageError('ERR_USAGE', 'give exactly one of --session ID and --nonce HEX');
        }
        const { callVerifier, submitEvidence } = await import('../../verifier/service/client.js');
        const ep = endpoint(o);
        const bytes = readBytes(file);
        const r =
          o.session !== undefined
            ? await submitEvidence(ep, o.session, bytes)
            : ((await callVerifier(ep, 'POST', `/v1/verify?nonce=${encodeURIComponent(o.nonce!)}`, {
                bytes,
                type: 'application/octet-stream',
              })) as Record<string, unknown>);
        printJson(r);
        return r['passed'] === true ? 0 : 1;
      }),
    );

  v.command('register')
    .description(
      "register this TPM's AK at a verifier: EK certificate → MakeCredential challenge → ActivateCredential in the TPM → AK registered",
    )
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .requiredOption('--ak <file>', 'the AK blob from `mrstack tpm ak create`')
    .option('--ca <file>', 'CA certificate for https')
    .option('--attester <id>', 'the attester id to register under (default: the verifier picks)')
    .option('--ek-alg <alg>', 'the EK: rsa (template L-1) or ecc (L-2)', 'rsa')
    .option('--ek-chain <file>', 'intermediate CA certificates of the EK certificate (PEM)')
    .option('--no-ek-cert', "send the bare EK public (accepted only from the verifier's allowlist)")
    .option(
      '--svsm-report <file>',
      "an SNP guest under an SVSM: the report envelope of `mrstack report --service-provider svsm --nonce N` (N: the --session's nonce); the verifier trusts the vTPM EK its manifest lists, not this TPM's EK certificate",
    )
    .option(
      '--session <id>',
      'with --svsm-report: the session (`verifier challenge`) whose nonce the report binds',
    )
    .option('--tpm-device <path>', 'the TPM character device (default: /dev/tpmrm0)')
    .option(
      '--swtpm <host:port>',
      'talk to swtpm over its socket protocol (HOST:PORT or unix:PATH)',
    )
    .option('--json', 'print JSON (the default)')
    .action(
      action(
        async (
          o: ClientFlags & {
            ak: string;
            attester?: string;
            ekAlg: string;
            ekChain?: string;
            ekCert: boolean;
            svsmReport?: string;
            session?: string;
            tpmDevice?: string;
            swtpm?: string;
          },
        ) => {
          if (o.ekAlg !== 'rsa' && o.ekAlg !== 'ecc') {
            throw new UsageError('ERR_USAGE', `--ek-alg ${o.ekAlg}: expected rsa or ecc`);
          }
          const { openTpmTransport } = await import('../../providers/tpm/tpm_provider.js');
          const { Tpm } = await import('../../providers/tpm/tpm.js');
          const { activateWithAk, decodeAkBlob, readTpmIdentity } =
            await import('../../providers/tpm/identity.js');
          const { activateRegistration, requestRegistration } =
            await import('../../verifier/service/client.js');
          if ((o.svsmReport === undefined) !== (o.session === undefined)) {
            throw new UsageError('ERR_USAGE', '--svsm-report and --session go together');
          }
          const svsmReport = o.svsmReport === undefined ? undefined : readBytes(o.svsmReport);
          const ep = endpoint(o);
          const blob = decodeAkBlob(readBytes(o.ak));
          const chain = o.ekChain === undefined ? undefined : readBytes(o.ekChain);
          const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
          const tpm = new Tpm(
            openTpmTransport({
              ...(o.tpmDevice === undefined ? {} : { device: o.tpmDevice }),
              ...(o.swtpm === undefined ? {} : { swtpm: o.swtpm }),
            }),
          );
          try {
            const id = await readTpmIdentity(tpm, blob, o.ekAlg);
            if (svsmReport === undefined && o.ekCert && id.ekCertificate === undefined) {
              throw new UsageError(
                'ERR_USAGE',
                'this TPM has no EK certificate in NV: register with --no-ek-cert (the verifier must allowlist the EK)',
              );
            }
            const challenge = await requestRegistration(ep, {
              ...(o.attester === undefined ? {} : { attester_id: o.attester }),
              ...(svsmReport !== undefined
                ? { svsm_report: hex(svsmReport), session_id: o.session! }
                : {
                    ek_public: hex(id.ekPublic),
                    ...(o.ekCert ? { ek_cert: hex(id.ekCertificate!) } : {}),
                    ...(chain === undefined ? {} : { ek_chain: [hex(chain)] }),
                  }),
              ak_public: hex(id.akPublic),
            });
            // The TPM recovers the secret only if it holds both the EK and this AK.
            const secret = await activateWithAk(
              tpm,
              blob,
              o.ekAlg,
              new Uint8Array(Buffer.from(challenge.credential_blob, 'hex')),
              new Uint8Array(Buffer.from(challenge.secret, 'hex')),
            );
            const r = await activateRegistration(
              ep,
              challenge.attester_id,
              challenge.registration_id,
              secret,
            );
            printJson(r);
            return 0;
          } finally {
            await tpm.close();
          }
        },
      ),
    );

  v.command('register-platform')
    .description(
      'register a CVM attester by its platform identity (admin); its evidence must then come from that platform',
    )
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .requiredOption('--attester <id>', 'the attester id')
    .requiredOption(
      '--platform-id <id>',
      'snp:<CHIP_ID hex>, tdx:<PPID hex> or cca:<instance id hex> (`evidence verify --json` shows it)',
    )
    .option('--ca <file>', 'CA certificate for https')
    .option(
      '--admin-token-file <file>',
      'bearer token for admin routes (default: $MRSTACK_VERIFIER_ADMIN_TOKEN)',
    )
    .option('--json', 'print JSON (the default)')
    .action(
      action(
        async (
          o: ClientFlags & { attester: string; platformId: string; adminTokenFile?: string },
        ) => {
          const { registerPlatform } = await import('../../verifier/service/client.js');
          const token =
            o.adminTokenFile !== undefined
              ? Buffer.from(readBytes(o.adminTokenFile)).toString('utf8').trim()
              : process.env['MRSTACK_VERIFIER_ADMIN_TOKEN'];
          if (token === undefined || token === '') {
            throw new UsageError(
              'ERR_USAGE',
              'registering a platform is an admin call: give --admin-token-file or set MRSTACK_VERIFIER_ADMIN_TOKEN',
            );
          }
          printJson(await registerPlatform({ ...endpoint(o), token }, o.attester, o.platformId));
          return 0;
        },
      ),
    );

  v.command('rotate-key')
    .description('add a new EAR signing key to the store and retire the others')
    .option('--store <spec>', 'embedded:DIR or postgres://…', 'embedded:mrstack-verifier-state')
    .option('--kek-file <file>', 'key-encryption key (default: $MRSTACK_VERIFIER_KEK)')
    .option('--json', 'print JSON (the default)')
    .action(
      action(async (o: { store: string; kekFile?: string }) => {
        const { loadKek, rotateSigningKey } = await import('../../verifier/service/key_vault.js');
        const { openStore } = await import('../../verifier/store/open_store.js');
        const kek = loadKek(o.kekFile === undefined ? {} : { file: o.kekFile });
        const store = await openStore(o.store);
        try {
          printJson({ kid: await rotateSigningKey(store, kek) });
        } finally {
          await store.close();
        }
        return 0;
      }),
    );
  return v;
}
