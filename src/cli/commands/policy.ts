/**
 * `mrstack policy validate|show|generate|import`: appraisal policies (docs/appraisal.md,
 * docs/policy.schema.json). Every command prints the policy id `<name>@sha256:<digest>`; `show`
 * without a file shows the default policy.
 *
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import { fromErrno, UsageError } from '../../errors.js';
import { action, printFields, printJson, toJsonText } from '../output.js';
import { readInput as readBytes, writeText } from '../input_files.js';
import {
  addEvidenceOptions,
  addTrustOptions,
  verifyOptionsFromFlags,
  type VerifyFlags,
} from '../verify_flags.js';

const policyLib = (): Promise<typeof import('../../verifier/appraise/policy.js')> =>
  import('../../verifier/appraise/policy.js');

/** Reads and validates a policy file (JSON or YAML). */
export async function loadPolicyFile(
  path: string,
): Promise<import('../../verifier/appraise/policy.js').LoadedPolicy> {
  const { parsePolicy } = await policyLib();
  return parsePolicy(Buffer.from(readBytes(path)).toString('utf8'));
}

function nameFrom(file: string, given: string | undefined): string {
  if (given !== undefined) return given;
  const n = basename(file)
    .replace(/\.(json|ya?ml|pcrlock|cbor)$/i, '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 128);
  return n === '' ? 'imported' : n;
}

function writeOrPrint(text: string, out: string | undefined): void {
  if (out === undefined) process.stdout.write(text);
  else writeText(out, text);
}

function summary(
  id: string,
  p: import('../../verifier/appraise/policy.js').PolicyV1,
): [string, string][] {
  const rows: [string, string][] = [
    ['id', id],
    ['name', p.name],
  ];
  if (p.description !== undefined) rows.push(['description', p.description]);
  if (p.source?.importer !== undefined) rows.push(['source', p.source.importer]);
  for (const k of ['tdx', 'snp', 'cca', 'tpm'] as const)
    if (p[k] !== undefined) rows.push([k, Object.keys(p[k]).join(', ') || '(section present)']);
  if (p.tcb !== undefined) rows.push(['tcb accept', (p.tcb.accept ?? ['UpToDate']).join(', ')]);
  if (p.registers !== undefined) rows.push(['registers', Object.keys(p.registers).join(', ')]);
  if (p.tenant_events !== undefined)
    rows.push([
      'tenant events',
      Object.entries(p.tenant_events)
        .map(([v, r]) => `${v}: ${r.length} rules`)
        .join('; '),
    ]);
  if (p.ima !== undefined)
    rows.push([
      'ima',
      `${Object.keys(p.ima.digests ?? {}).length} paths, ${(p.ima.excludes ?? []).length} excludes, ${Object.keys(p.ima.keyrings ?? {}).length} keyrings, ${(p.ima.keys ?? []).length} keys`,
    ]);
  return rows;
}

interface ImportOptions {
  readonly from: 'keylime' | 'pcrlock' | 'rvps' | 'corim';
  readonly key?: string;
  readonly at?: string;
  readonly name?: string;
  readonly out?: string;
  readonly rtmr?: boolean;
  readonly json?: boolean;
}

/** pcrlock inputs: `.pcrlock` files, `NNN-x.pcrlock.d` variant dirs, or a `pcrlock.d` dir of both. */
async function pcrlockComponents(
  paths: readonly string[],
): Promise<import('../../verifier/appraise/import_pcrlock.js').PcrlockComponent[]> {
  const { parsePcrlock } = await import('../../verifier/appraise/import_pcrlock.js');
  const comps: import('../../verifier/appraise/import_pcrlock.js').PcrlockComponent[] = [];
  const fileComp = (p: string): void => {
    comps.push({ key: basename(p), variants: [parsePcrlock({ name: p, bytes: readBytes(p) })] });
  };
  const variantDir = (d: string): void => {
    const files = readdirSync(d)
      .filter((f) => f.endsWith('.pcrlock'))
      .sort();
    comps.push({
      key: basename(d).replace(/\.d$/, ''),
      variants: files.map((f) => parsePcrlock({ name: join(d, f), bytes: readBytes(join(d, f)) })),
    });
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw fromErrno(e, p);
    }
    if (!st.isDirectory()) fileComp(p);
    else if (p.replace(/\/$/, '').endsWith('.pcrlock.d')) variantDir(p);
    else
      for (const f of readdirSync(p).sort()) {
        const q = join(p, f);
        if (f.endsWith('.pcrlock.d') && statSync(q).isDirectory()) variantDir(q);
        else if (f.endsWith('.pcrlock')) fileComp(q);
      }
  }
  return comps;
}

/** Registers `policy validate|show|generate|import`. */
export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('appraisal policies: validate, show, generate, import');

  policy
    .command('validate')
    .description('check a policy file (JSON or YAML) against docs/policy.schema.json; print its id')
    .argument('<file>', 'policy file, or - for stdin')
    .option('--json', 'print JSON: {"valid":true,"id"}')
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const p = await loadPolicyFile(file);
        if (opts.json === true) printJson({ valid: true, id: p.id });
        else
          printFields([
            ['valid', 'true'],
            ['id', p.id],
          ]);
        return 0;
      }),
    );

  policy
    .command('show')
    .description('show a policy (the default policy without FILE)')
    .argument('[file]', 'policy file')
    .option('--json', 'print the policy as JSON with its id')
    .action(
      action(async (file: string | undefined, opts: { json?: boolean }) => {
        const lib = await policyLib();
        const p = file === undefined ? await lib.defaultPolicy() : await loadPolicyFile(file);
        if (opts.json === true) printJson({ id: p.id, policy: p.policy });
        else printFields(summary(p.id, p.policy));
        return 0;
      }),
    );

  const gen = policy
    .command('generate')
    .description('write a policy that accepts exactly what one piece of verified evidence shows')
    .requiredOption('--from-evidence <file>', 'evidence or an agent bundle (verified first)')
    .option('--name <name>', 'policy name (default: from the file name)')
    .option('--out <file>', 'write the policy here instead of stdout');
  addEvidenceOptions(addTrustOptions(gen)).action(
    action(async (opts: VerifyFlags & { fromEvidence: string; name?: string; out?: string }) => {
      const { decodeEvidenceInput } = await import('../../verifier/verify/evidence_input.js');
      const { verifyEvidence } = await import('../../verifier/verify/evidence_dispatch.js');
      const { generatePolicy } = await import('../../verifier/appraise/policy_generate.js');
      const lib = await policyLib();
      const input = decodeEvidenceInput(readBytes(opts.fromEvidence));
      const vopts = await verifyOptionsFromFlags(
        opts,
        input.envelope === undefined ? {} : { envelope: input.envelope },
      );
      const r = await verifyEvidence(input.data, vopts);
      const gen = generatePolicy(r, nameFrom(opts.fromEvidence, opts.name));
      const loaded = await lib.validatePolicy(gen);
      writeOrPrint(`${toJsonText(loaded.policy)}\n`, opts.out);
      if (opts.out !== undefined)
        process.stderr.write(`policy ${loaded.id} written to ${opts.out}\n`);
      return 0;
    }),
  );

  policy
    .command('import')
    .description(
      'turn keylime runtime policies, systemd pcrlock files, trustee RVPS values or a CoRIM into a policy',
    )
    .addOption(
      new Option('--from <kind>', 'input kind')
        .choices(['keylime', 'pcrlock', 'rvps', 'corim'])
        .makeOptionMandatory(),
    )
    .argument(
      '<files...>',
      'input files (pcrlock: .pcrlock files, .pcrlock.d variant dirs or a pcrlock.d dir)',
    )
    .option(
      '--key <file>',
      'keylime: the public key a DSSE-signed policy must verify with; corim: the COSE_Sign1 signer (PEM or JWK)',
    )
    .option('--at <iso-time>', 'corim: check validity windows at this time (default: now)')
    .option('--rtmr', 'pcrlock: also predict RTMRs fed by exactly one PCR (CCEL map)')
    .option('--name <name>', 'policy name (default: from the first file name)')
    .option('--out <file>', 'write the policy here instead of stdout')
    .option('--json', 'print {"id","policy","unmapped"?} instead of the bare policy')
    .action(
      action(async (files: string[], opts: ImportOptions) => {
        const lib = await policyLib();
        const name = nameFrom(files[0]!, opts.name);
        let gen: import('../../verifier/appraise/policy.js').PolicyV1;
        let unmapped: readonly string[] = [];
        if (opts.from === 'keylime') {
          if (files.length !== 1)
            throw new UsageError('ERR_USAGE', '--from keylime takes one file');
          const { importKeylimePolicy } = await import('../../verifier/appraise/import_keylime.js');
          gen = importKeylimePolicy(readBytes(files[0]!), {
            name,
            file: basename(files[0]!),
            ...(opts.key === undefined ? {} : { key: readBytes(opts.key) }),
          });
        } else if (opts.from === 'corim') {
          if (files.length !== 1) throw new UsageError('ERR_USAGE', '--from corim takes one file');
          const { importCorim } = await import('../../verifier/appraise/import_corim.js');
          const { parseAtFlag } = await import('../verify_flags.js');
          const at = parseAtFlag(opts.at);
          const r = importCorim(readBytes(files[0]!), {
            name,
            file: basename(files[0]!),
            ...(opts.key === undefined ? {} : { key: readBytes(opts.key) }),
            ...(at === undefined ? {} : { at }),
          });
          gen = r.policy;
          unmapped = r.unmapped;
        } else if (opts.from === 'pcrlock') {
          const { importPcrlock } = await import('../../verifier/appraise/import_pcrlock.js');
          gen = importPcrlock(await pcrlockComponents(files), {
            name,
            files: files.map((f) => basename(f)),
            ...(opts.rtmr === true ? { rtmr: true } : {}),
          });
        } else {
          const { importRvps } = await import('../../verifier/appraise/import_rvps.js');
          const objs = files.map((f) => {
            try {
              return JSON.parse(Buffer.from(readBytes(f)).toString('utf8')) as unknown;
            } catch (e) {
              throw new UsageError(
                'ERR_POLICY_INVALID',
                `${f}: not JSON (${(e as Error).message})`,
              );
            }
          });
          const r = importRvps(objs, { name, files: files.map((f) => basename(f)) });
          gen = r.policy;
          unmapped = r.unmapped;
        }
        const loaded = await lib.validatePolicy(gen);
        if (opts.json === true)
          writeOrPrint(
            `${toJsonText({ id: loaded.id, policy: loaded.policy, ...(unmapped.length > 0 ? { unmapped } : {}) })}\n`,
            opts.out,
          );
        else {
          const text = `${toJsonText(loaded.policy)}\n`;
          writeOrPrint(text, opts.out);
          if (opts.out !== undefined) {
            const { primePolicyCache } = await import('../../verifier/appraise/policy_cache.js');
            primePolicyCache(text, loaded);
          }
        }
        if (unmapped.length > 0)
          process.stderr.write(`not mapped to any policy field: ${unmapped.join(', ')}\n`);
        if (opts.out !== undefined)
          process.stderr.write(`policy ${loaded.id} written to ${opts.out}\n`);
        return 0;
      }),
    );
}
