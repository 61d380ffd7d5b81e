/**
 * `mrstack tpm …`: the TPM identity steps and a development swtpm.
 *
 * - `tpm ek [--alg rsa|ecc] [--cert] [--pem-out FILE] [--cert-out FILE]` — derives the EK from
 *   the EK Credential Profile template; with `--cert`, reads its certificate from NV and checks
 *   that it certifies that key.
 * - `tpm ak create --out FILE [--alg ecc|rsa]` — creates a restricted signing AK under the SRK
 *   and writes its blob (to quote with later: `report --provider tpm` does not need it).
 * - `tpm ak make-credential --ek FILE --ak-name HEX --secret HEX --out FILE` — the verifier's
 *   step, in software, no TPM needed.
 * - `tpm activate --ak FILE --credential FILE [--alg rsa|ecc]` — ActivateCredential with the
 *   EK's policy session; prints the recovered secret.
 * - `tpm swtpm start --state DIR [--port P]` — runs Debian's swtpm on loopback until SIGINT;
 *   swtpm dies with this process however it ends (SIGKILL too: `setpriv --pdeathsig`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import type { Command } from 'commander';
import { fromHex, toHex } from '../../bytes/hex.js';
import { ByteReader } from '../../bytes/reader.js';
import { fromErrno, ParseError, UsageError } from '../../errors.js';
import { action, printFields, printJson } from '../output.js';

interface TpmCliOptions {
  readonly tpmDevice?: string;
  readonly swtpm?: string;
  readonly json?: boolean;
}

function withTpmOptions(cmd: Command): Command {
  return cmd
    .option('--tpm-device <path>', 'the TPM character device (default: /dev/tpmrm0)')
    .option(
      '--swtpm <host:port>',
      'talk to swtpm over its socket protocol (HOST:PORT or unix:PATH)',
    )
    .option('--json', 'print JSON');
}

function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fromErrno(e, path);
  }
}

function writeFile(path: string, data: Uint8Array | string): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw fromErrno(e, path);
  }
}

function keyAlg(v: string | undefined, dflt: 'rsa' | 'ecc'): 'rsa' | 'ecc' {
  const a = v ?? dflt;
  if (a !== 'rsa' && a !== 'ecc')
    throw new UsageError('ERR_USAGE', `--alg ${a}: expected rsa or ecc`);
  return a;
}

async function openTpm(o: TpmCliOptions): Promise<import('../../providers/tpm/tpm.js').Tpm> {
  const { openTpmTransport } = await import('../../providers/tpm/tpm_provider.js');
  const { Tpm } = await import('../../providers/tpm/tpm.js');
  return new Tpm(
    openTpmTransport({
      ...(o.tpmDevice === undefined ? {} : { device: o.tpmDevice }),
      ...(o.swtpm === undefined ? {} : { swtpm: o.swtpm }),
    }),
  );
}

/** Registers `mrstack tpm`. */
export function registerTpm(program: Command): Command {
  const tpm = program
    .command('tpm')
    .description('TPM 2.0 identity: EK, AK, credential activation; a development swtpm');

  withTpmOptions(
    tpm
      .command('ek')
      .description(
        'derive the endorsement key (EK Credential Profile template) and read its certificate',
      )
      .option('--alg <alg>', 'rsa (template L-1, RSA 2048) or ecc (L-2, NIST P-256)', 'rsa')
      .option('--cert', 'read the EK certificate from NV (0x01C00002 RSA, 0x01C0000A ECC)')
      .option('--pem-out <file>', 'write the EK public key as PEM')
      .option('--public-out <file>', 'write the EK TPMT_PUBLIC')
      .option('--cert-out <file>', 'write the EK certificate (DER)'),
  ).action(
    action(
      async (
        o: TpmCliOptions & {
          alg?: string;
          cert?: boolean;
          pemOut?: string;
          publicOut?: string;
          certOut?: string;
        },
      ) => {
        const alg = keyAlg(o.alg, 'rsa');
        const { createEk, readEkCertificate } = await import('../../providers/tpm/identity.js');
        const { publicToPem } = await import('../../formats/tpm2/public_key.js');
        const t = await openTpm(o);
        try {
          const ek = await createEk(t, alg);
          await t.flush(ek.handle);
          const pem = publicToPem(ek.public.public);
          if (o.pemOut !== undefined) writeFile(o.pemOut, pem);
          if (o.publicOut !== undefined) writeFile(o.publicOut, ek.public.bytes);
          let cert: Record<string, unknown> | undefined;
          if (o.cert === true) {
            const der = await readEkCertificate(t, alg);
            if (o.certOut !== undefined) writeFile(o.certOut, der);
            const { parseCertificate, spkiSha256Of } =
              await import('../../verifier/verify/x509/certificate.js');
            // The verifier's certificate reader, so the CLI and `evidence verify` read an EK
            // certificate alike.
            const x = parseCertificate(der, 'EK certificate');
            cert = {
              subject: x.subject,
              issuer: x.issuer,
              serial: x.serial,
              not_after: x.notAfter.toISOString(),
              certifies_ek: x.spkiSha256 === spkiSha256Of(createPublicKey(pem)),
            };
          }
          const out = {
            alg,
            name: ek.name,
            public_pem: pem,
            ...(cert === undefined ? {} : { certificate: cert }),
          };
          if (o.json === true) printJson(out);
          else {
            printFields([
              ['alg', alg],
              ['name', toHex(ek.name)],
              ...(cert === undefined
                ? []
                : ([
                    ['certificate', String(cert['subject'])],
                    ['certifies EK', String(cert['certifies_ek'])],
                  ] as [string, string][])),
            ]);
            process.stdout.write(pem);
          }
          return cert !== undefined && cert['certifies_ek'] !== true ? 1 : 0;
        } finally {
          await t.close();
        }
      },
    ),
  );

  const ak = tpm.command('ak').description('attestation keys');
  withTpmOptions(
    ak
      .command('create')
      .description('create a restricted signing AK under the SRK and save its blob')
      .requiredOption('--out <file>', 'where to write the AK blob')
      .option('--alg <alg>', 'ecc (P-256 ECDSA-SHA256) or rsa (2048 RSASSA-SHA256)', 'ecc')
      .option(
        '--public-out <file>',
        'write the AK TPMT_PUBLIC (for verifiers: evidence verify --ak)',
      ),
  ).action(
    action(async (o: TpmCliOptions & { out: string; alg?: string; publicOut?: string }) => {
      const alg = keyAlg(o.alg, 'ecc');
      const { createAk, encodeAkBlob, loadAk } = await import('../../providers/tpm/identity.js');
      const { publicToPem } = await import('../../formats/tpm2/public_key.js');
      const t = await openTpm(o);
      try {
        const blob = await createAk(t, alg, 'ecc');
        const loaded = await loadAk(t, blob);
        await t.flush(loaded.handle);
        writeFile(o.out, encodeAkBlob(blob));
        if (o.publicOut !== undefined) writeFile(o.publicOut, blob.public);
        const out = {
          out: o.out,
          alg,
          name: loaded.name,
          tpmt_public: blob.public,
          public_pem: publicToPem(loaded.public.public),
        };
        if (o.json === true) printJson(out);
        else
          printFields([
            ['out', o.out],
            ['alg', alg],
            ['name', toHex(loaded.name)],
          ]);
        return 0;
      } finally {
        await t.close();
      }
    }),
  );

  ak.command('make-credential')
    .description("seal a secret to an EK and an AK name (the verifier's step; no TPM needed)")
    .requiredOption('--ek <file>', 'the EK public key: PEM, or TPMT_PUBLIC / TPM2B_PUBLIC bytes')
    .requiredOption('--ak-name <hex>', "the AK's TPM name (nameAlg ‖ digest)")
    .requiredOption('--secret <hex>', 'the secret (at most 32 bytes)')
    .requiredOption('--out <file>', 'the credential file (JSON: credential_blob, secret)')
    .option('--alg <alg>', 'the EK template when --ek is PEM: rsa or ecc', 'rsa')
    .option('--json', 'print JSON')
    .action(
      action(
        async (o: {
          ek: string;
          akName: string;
          secret: string;
          out: string;
          alg?: string;
          json?: boolean;
        }) => {
          const { makeCredential } = await import('../../formats/tpm2/credential.js');
          const { publicFromKeyObject } = await import('../../formats/tpm2/public_key.js');
          const { ekTemplate } = await import('../../formats/tpm2/templates.js');
          const { readPublic } = await import('../../formats/tpm2/marshal/public.js');
          const bytes = readFile(o.ek);
          const text = Buffer.from(bytes).toString('utf8');
          let ek;
          if (text.includes('-----BEGIN')) {
            ek = publicFromKeyObject(createPublicKey(text), ekTemplate(keyAlg(o.alg, 'rsa')));
          } else {
            const body =
              bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2
                ? bytes.subarray(2)
                : bytes;
            ek = readPublic(new ByteReader(body, { format: 'tpm2' }), 'ek');
          }
          const secret = fromHex(o.secret, '--secret');
          if (secret.length === 0 || secret.length > 32) {
            throw new UsageError('ERR_USAGE', '--secret: 1 to 32 bytes');
          }
          const c = makeCredential(ek, fromHex(o.akName, '--ak-name'), secret);
          const doc = { credential_blob: toHex(c.credentialBlob), secret: toHex(c.secret) };
          writeFile(o.out, `${JSON.stringify(doc, null, 2)}\n`);
          if (o.json === true) printJson({ out: o.out });
          else printFields([['out', o.out]]);
          return 0;
        },
      ),
    );

  withTpmOptions(
    tpm
      .command('activate')
      .description('recover a credential with the AK and the EK (proves both live in this TPM)')
      .requiredOption('--ak <file>', 'the AK blob from `tpm ak create`')
      .requiredOption('--credential <file>', 'the credential file from `tpm ak make-credential`')
      .option('--alg <alg>', 'the EK: rsa or ecc', 'rsa'),
  ).action(
    action(async (o: TpmCliOptions & { ak: string; credential: string; alg?: string }) => {
      const { createEk, decodeAkBlob, loadAk } = await import('../../providers/tpm/identity.js');
      let doc: { credential_blob?: unknown; secret?: unknown };
      try {
        doc = JSON.parse(Buffer.from(readFile(o.credential)).toString('utf8')) as typeof doc;
      } catch (cause) {
        if (
          cause instanceof Error &&
          'code' in cause &&
          cause.code !== undefined &&
          !(cause instanceof SyntaxError)
        )
          throw cause;
        throw new ParseError({
          code: 'ERR_BAD_JSON',
          format: 'json',
          offset: 0,
          field: 'credential',
          expected: 'JSON',
          cause,
        });
      }
      if (typeof doc.credential_blob !== 'string' || typeof doc.secret !== 'string') {
        throw new ParseError({
          code: 'ERR_BAD_JSON',
          format: 'json',
          offset: 0,
          field: 'credential',
          expected: 'credential_blob and secret (hex)',
        });
      }
      const blob = decodeAkBlob(readFile(o.ak));
      const t = await openTpm(o);
      try {
        const akKey = await loadAk(t, blob);
        try {
          const ek = await createEk(t, keyAlg(o.alg, 'rsa'));
          try {
            const secret = await t.activateCredential(
              akKey.handle,
              ek.handle,
              fromHex(doc.credential_blob, 'credential_blob'),
              fromHex(doc.secret, 'secret'),
            );
            if (o.json === true) printJson({ secret });
            else printFields([['secret', toHex(secret)]]);
            return 0;
          } finally {
            await t.flush(ek.handle).catch(() => undefined);
          }
        } finally {
          await t.flush(akKey.handle).catch(() => undefined);
        }
      } finally {
        await t.close();
      }
    }),
  );

  const sw = tpm.command('swtpm').description('a development swtpm (Debian swtpm + swtpm-tools)');
  sw.command('start')
    .description(
      'start swtpm on loopback with the state in DIR (made with EK certificates if new); stops on SIGINT/SIGTERM, and swtpm dies with this process however it ends',
    )
    .requiredOption('--state <dir>', 'the TPM state directory')
    .option('--port <port>', 'command port (control is port + 1); default: a free pair')
    .option('--json', 'print JSON: {"address","control","state","pid","dies_with_parent"}')
    .action(
      action(async (o: { state: string; port?: string; json?: boolean }) => {
        const { startSwtpm } = await import('../../providers/tpm/swtpm_process.js');
        const port = o.port === undefined ? undefined : Number(o.port);
        if (port !== undefined && (!Number.isInteger(port) || port <= 0 || port >= 65535)) {
          throw new UsageError('ERR_USAGE', `--port ${o.port}: expected 1..65534`);
        }
        const inst = await startSwtpm(o.state, port === undefined ? {} : { port });
        const info = {
          address: `${inst.host}:${inst.port}`,
          control: `${inst.host}:${inst.ctrlPort}`,
          state: o.state,
          pid: inst.pid,
          dies_with_parent: inst.diesWithParent,
        };
        if (o.json === true) printJson(info);
        else {
          printFields([
            ['address', info.address],
            ['control', info.control],
            ['state', o.state],
          ]);
          process.stdout.write(
            `use: --provider tpm --swtpm ${info.address}   (tpm2-tools: TPM2TOOLS_TCTI=swtpm:host=${inst.host},port=${inst.port})\n`,
          );
        }
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void inst.stop().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        return 0;
      }),
    );
  return program;
}
