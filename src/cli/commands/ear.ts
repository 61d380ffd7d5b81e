/**
 * `mrstack ear show|verify|keygen|jwks`: EAR attestation results (docs/ear.md). `show` decodes
 * without checking the signature (and says so); `verify` trusts only the keys given here.
 * Library code is imported lazily inside the actions.
 *
 * @module
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { fromErrno, MrstackError, UsageError } from '../../errors.js';
import { action, printFields, printJson, printTable } from '../output.js';
// ar4si.ts imports nothing: the claim names cost no start-up.
import { AR4SI_CLAIMS } from '../../verifier/result/ar4si.js';

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (e) {
    throw fromErrno(e, path);
  }
}

function parseAt(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new UsageError('ERR_USAGE', `--at ${JSON.stringify(text)}: expected an ISO-8601 time`);
  return d;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const iso = (s: number | undefined): string =>
  s === undefined ? '-' : new Date(s * 1000).toISOString();

type Ear = import('../../verifier/result/ear_claims.js').Ear;

/** The readable summary of a decoded EAR. */
function printEar(ear: Ear, lead: [string, string][]): void {
  printFields([
    ...lead,
    ['profile', ear.profile],
    ['issued (iat)', iso(ear.iat)],
    ['expires (exp)', iso(ear.exp)],
    ['verifier', `${ear.verifierId.developer} (${ear.verifierId.build})`],
    ...(ear.nonce === undefined
      ? []
      : [['eat_nonce', Array.isArray(ear.nonce) ? ear.nonce.join(', ') : String(ear.nonce)]]),
  ] as [string, string][]);
  printTable(
    ['submod', 'status', ...AR4SI_CLAIMS, 'policy'],
    Object.entries(ear.submods).map(([name, a]) => [
      name,
      a.status,
      ...AR4SI_CLAIMS.map((c) => {
        const v = a.trustVector?.[c];
        return v === undefined ? '-' : String(v);
      }),
      a.policyIds.join(', ') || '-',
    ]),
  );
}

interface VerifyOptions {
  readonly key?: string[];
  readonly jwks?: string[];
  readonly trustAnchor?: string[];
  readonly at?: string;
  readonly json?: boolean;
}

/** Registers `mrstack ear`. */
export function registerEar(program: Command): Command {
  const ear = program
    .command('ear')
    .description(
      'EAR attestation results (IETF RATS EAT, veraison 2023 profile): show, verify, keys',
    );

  ear
    .command('show')
    .description(
      'decode an EAR token WITHOUT checking its signature (use `ear verify` to trust it)',
    )
    .argument('<token>', 'file holding the compact JWT (- for stdin)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: { json?: boolean }): Promise<undefined> => {
        const { decodeEarToken } = await import('../../verifier/result/ear_token.js');
        const token = Buffer.from(readInput(file)).toString('utf8');
        const r = decodeEarToken(token);
        if (opts.json === true) {
          printJson({ verified: false, header: r.header, ear: r.ear, claims: r.claims });
          return undefined;
        }
        printEar(r.ear, [
          ['signature', 'NOT CHECKED (ear show decodes only)'],
          ['alg', r.header.alg],
        ]);
        return undefined;
      }),
    );

  ear
    .command('verify')
    .description(
      'verify an EAR token with the keys given here (a key the token carries is trusted only if it\n' +
        'equals one of them, or its x5c chain reaches a --trust-anchor); exit 0 when it verifies',
    )
    .argument('<token>', 'file holding the compact JWT (- for stdin)')
    .option('--key <file>', 'a public key: PEM, certificate, or JWK (repeatable)', collect)
    .option('--jwks <file>', 'a JWK set (repeatable)', collect)
    .option('--trust-anchor <file>', 'a root certificate for x5c chains (repeatable)', collect)
    .option('--at <iso-time>', 'verification time for exp/nbf/iat and certificates (default: now)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: VerifyOptions): Promise<undefined> => {
        const { verifyEar } = await import('../../verifier/result/ear_token.js');
        const { loadVerificationKeys } = await import('../../verifier/result/ear_keys.js');
        const at = parseAt(opts.at);
        const keys = [];
        for (const f of [...(opts.key ?? []), ...(opts.jwks ?? [])])
          keys.push(...(await loadVerificationKeys(readInput(f))));
        const token = Buffer.from(readInput(file)).toString('utf8');
        const r = await verifyEar(token, {
          keys,
          trustAnchors: (opts.trustAnchor ?? []).map(readInput),
          at,
        });
        if (opts.json === true) {
          printJson({
            verified: true,
            at: at.toISOString(),
            key: { thumbprint: r.key.thumbprint, source: r.keySource },
            header: r.header,
            ear: r.ear,
            claims: r.claims,
          });
          return undefined;
        }
        printEar(r.ear, [
          ['signature', `valid (${r.header.alg}, key ${r.key.thumbprint}, ${r.keySource})`],
          ['verified at', at.toISOString()],
        ]);
        return undefined;
      }),
    );

  ear
    .command('keygen')
    .description('generate an EAR signing key (PKCS#8 PEM, mode 0600) and print its kid')
    .addOption(
      new Option('--alg <alg>', 'signature algorithm')
        .choices(['ES256', 'ES384', 'PS256', 'EdDSA'])
        .default('ES256'),
    )
    .requiredOption('--out <file>', 'where the private key is written')
    .option('--jwks-out <file>', 'also write the public JWKS here')
    .option('--json', 'print JSON')
    .action(
      action(
        async (opts: {
          alg: 'ES256' | 'ES384' | 'PS256' | 'EdDSA';
          out: string;
          jwksOut?: string;
          json?: boolean;
        }): Promise<undefined> => {
          const { generateEarKey, loadSigningKey, jwksOf } =
            await import('../../verifier/result/ear_keys.js');
          const pem = generateEarKey(opts.alg).export({ format: 'pem', type: 'pkcs8' });
          try {
            writeFileSync(opts.out, pem, { mode: 0o600, flag: 'wx' });
            chmodSync(opts.out, 0o600);
          } catch (e) {
            if ((e as { code?: unknown }).code === 'EEXIST')
              throw new MrstackError('ERR_CONFLICT', `${opts.out} exists; not overwriting a key`);
            throw fromErrno(e, opts.out);
          }
          const key = await loadSigningKey(new Uint8Array(Buffer.from(pem)));
          const jwks = jwksOf([{ publicKey: key.publicKey, alg: key.alg }]);
          if (opts.jwksOut !== undefined) {
            try {
              writeFileSync(opts.jwksOut, `${JSON.stringify(jwks, null, 2)}\n`);
            } catch (e) {
              throw fromErrno(e, opts.jwksOut);
            }
          }
          if (opts.json === true)
            printJson({ alg: key.alg, kid: key.publicKey.thumbprint, out: opts.out });
          else
            printFields([
              ['alg', key.alg],
              ['kid', key.publicKey.thumbprint],
              ['key', opts.out],
            ]);
        },
      ),
    );

  ear
    .command('jwks')
    .description('print the JWK set (kid = RFC 7638 thumbprint) relying parties verify EARs with')
    .argument('<key...>', 'signing keys (PEM/JWK, private or public)')
    .option('--cert <file>', 'the certificate chain of the (one) key, leaf first, for x5c')
    .action(
      action(async (files: string[], opts: { cert?: string }): Promise<undefined> => {
        const { loadSigningKey, loadVerificationKeys, jwksOf, signAlgFor } =
          await import('../../verifier/result/ear_keys.js');
        if (opts.cert !== undefined && files.length !== 1)
          throw new UsageError('ERR_USAGE', '--cert goes with exactly one key');
        const entries = [];
        for (const f of files) {
          const data = readInput(f);
          let pub;
          try {
            pub = (await loadSigningKey(data)).publicKey;
          } catch {
            pub = (await loadVerificationKeys(data))[0]!;
          }
          const chain =
            opts.cert === undefined
              ? undefined
              : (
                  Buffer.from(readInput(opts.cert))
                    .toString('utf8')
                    .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
                ).map(
                  (p) =>
                    new Uint8Array(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64')),
                );
          entries.push({
            publicKey: pub,
            alg: signAlgFor(pub.key),
            ...(chain === undefined ? {} : { chain }),
          });
        }
        printJson(jwksOf(entries));
        return undefined;
      }),
    );
  return ear;
}
