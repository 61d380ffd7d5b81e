// Screens for people (issue 18, Must show): the built CLI on a 100-column pseudo-terminal.
// Each screen is asserted line by line and no line may be wider than the terminal. Expected
// event contents come from tpm2_eventlog (run here on the same capture) and the UEFI spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliAppend, cliEvidence, startCliAgent } from '../../_support/agent_harness.js';
import { columnsOf, runCliPty } from '../../_support/pty.js';
import { fixture } from '../../_support/paths.js';
import { runCli, runCliJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

const COLUMNS = 100;
const FEDORA = fixture('eventlogs', 'tcg', 'fedora37-systemd-boot.binary_bios_measurements');

/** UEFI 2.10 §3.3 (EFI_GLOBAL_VARIABLE) and §32.6.1 (EFI_IMAGE_SECURITY_DATABASE_GUID). */
const GUID_NAMES: Record<string, string> = {
  '8be4df61-93ca-11d2-aa0d-00e098032b8c': 'EFI_GLOBAL_VARIABLE',
  'd719b2cb-3d3a-4596-a3bc-dad00e67656f': 'EFI_IMAGE_SECURITY_DATABASE_GUID',
};

interface ToolEvent {
  num: number;
  pcr: number;
  type: string;
  guid?: string;
  unicodeName?: string;
  string?: string;
}

/** The events of tpm2_eventlog's YAML, the fields this test compares. */
function tpm2Events(file: string): ToolEvent[] {
  const yaml = execFileSync('tpm2_eventlog', [file], { encoding: 'utf8' });
  const out: ToolEvent[] = [];
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let m = /^- EventNum: (\d+)$/.exec(l);
    if (m !== null) {
      out.push({ num: Number(m[1]), pcr: -1, type: '' });
      continue;
    }
    const cur = out[out.length - 1];
    if (cur === undefined) continue;
    if ((m = /^ {2}PCRIndex: (\d+)$/.exec(l)) !== null) cur.pcr = Number(m[1]);
    else if ((m = /^ {2}EventType: (\S+)$/.exec(l)) !== null) cur.type = m[1]!;
    else if ((m = /^ {4}VariableName: (\S+)$/.exec(l)) !== null) cur.guid = m[1]!;
    else if ((m = /^ {4}UnicodeName: (.+)$/.exec(l)) !== null) cur.unicodeName = m[1]!;
    else if (/^ {4}String: \|-$/.test(l)) {
      // the next line is a quoted C string; `\0` are the NUL bytes it holds
      const q = lines[i + 1]!.trim().replace(/^"|"$/g, '');
      cur.string = q.replace(/\\0/g, '').replace(/\s+/g, ' ').trim();
    }
  }
  return out;
}

/** Screen rows of the `log parse` table: `#` starts a record, blank-led lines continue its data. */
function screenRecords(lines: readonly string[]): Map<number, { cols: string[]; data: string }> {
  const out = new Map<number, { cols: string[]; data: string }>();
  let last: { cols: string[]; data: string } | undefined;
  let prev = '';
  for (const l of lines.slice(2)) {
    const m = /^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s{2}(.*))?$/.exec(l);
    if (m !== null) {
      last = { cols: [m[1]!, m[2]!, m[3]!, m[4]!], data: m[5] ?? '' };
      out.set(Number(m[1]), last);
    } else if (/^\s{10,}\S/.test(l) && last !== undefined) {
      const piece = l.trim();
      // a piece broken inside a word filled the line, or ended after a path separator; any
      // other break was at a blank
      const glued = columnsOf(prev) === COLUMNS || /[/\\]$/.test(prev);
      last.data += glued ? piece : ` ${piece}`;
    }
    prev = l;
  }
  return out;
}

test('log parse on a 100-column terminal: the Fedora TCG capture as tpm2_eventlog decodes it, device paths, no control bytes', async () => {
  const r = await runCliPty(['log', 'parse', FEDORA], COLUMNS);
  assert.equal(r.code, 0, r.raw);
  for (const l of r.lines) assert.ok(columnsOf(l) <= COLUMNS, `wider than ${COLUMNS}: ${l}`);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(r.raw.replace(/\r\n/g, '\n'), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  assert.match(r.lines[0]!, /^#\s+register\s+type\s+digest\s+data$/);
  assert.match(r.lines[1]!, /^─+$/);
  assert.equal(r.lines[r.lines.length - 1], 'tcg2: 28 records');
  const screen = screenRecords(r.lines);
  const tool = tpm2Events(FEDORA);
  assert.equal(tool.length, 28);
  assert.equal(screen.size, 28);
  for (const e of tool) {
    const s = screen.get(e.num);
    assert.ok(s !== undefined, `event ${e.num} is not on the screen`);
    assert.equal(s.cols[1], `pcr${e.pcr}`, `event ${e.num}`);
    assert.equal(s.cols[2], e.type, `event ${e.num}`);
    if (e.unicodeName !== undefined) {
      const guid = GUID_NAMES[e.guid!] ?? e.guid!;
      assert.ok(
        s.data.startsWith(`${guid}:${e.unicodeName}`),
        `event ${e.num}: "${s.data}" should start with ${guid}:${e.unicodeName}`,
      );
    }
    if (e.string !== undefined) assert.equal(s.data, e.string, `event ${e.num}`);
  }
  // EV_IPL is a UTF-16 command line: shown as text, without its NULs
  assert.equal(screen.get(23)!.data, 'console=ttyS0 console=tty0 efi=debug');
  // Boot0001's load option: description and device path (UEFI 2.10 §3.1.3 EFI_LOAD_OPTION,
  // §10.6.1.6 text of a hard-drive media node; the partition GUID 3c64b93c… and the UTF-16 path
  // are the bytes tpm2_eventlog prints as VariableData)
  assert.equal(
    screen.get(11)!.data,
    'EFI_GLOBAL_VARIABLE:Boot0001 "Linux Boot Manager" ' +
      'HD(1,GPT,3cb9643c-6c08-4fe5-852d-17e1ae701158,0x800,0x100000)/\\EFI\\systemd\\systemd-bootx64.efi',
  );
  // EV_EVENT_TAG 0x8f3b22ec (Linux initrd, systemd-stub): its ASCII tag data
  assert.equal(screen.get(25)!.data, 'Linux initrd');
});

test(
  'evidence verify on a 100-column terminal: a bundle one layer per line, events [verified]/[pending], failures first',
  { timeout: 120_000 },
  async (t) => {
    const { dir, tvm, sock } = await startCliAgent(t, 'screens', ['alice']);
    for (const ev of [
      { domain: 'example.com/app', operation: 'start', content: 'alice v1.2' },
      { domain: 'example.com/app', operation: 'config', content: 'mode=prod' },
    ])
      assert.equal((await cliAppend(sock('alice'), ev)).code, 0);
    const nonce = randomBytes(32).toString('hex');
    const bundle = join(dir, 'alice.json');
    assert.equal(await cliEvidence(sock('alice'), nonce, bundle), 0);
    const args = (f: string): string[] => [
      'evidence',
      'verify',
      f,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ];

    const good = await runCliPty(args(bundle), COLUMNS);
    assert.equal(good.code, 0, good.raw);
    for (const l of good.lines) assert.ok(columnsOf(l) <= COLUMNS, `wider than ${COLUMNS}: ${l}`);
    const L = good.lines;
    assert.match(L[0]!, /^VERIFIED {2}bundle \(tdx report\), at \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.match(L[1]!, /^trust {5}.+ \[spki [0-9a-f]{16}\] \(EMULATED\)$/);
    // the TVM's PKI issued the collateral: the TCB status is evaluated, nothing relaxed
    assert.equal(L[2], 'tcb       UpToDate');
    assert.match(
      L[3]!,
      /^report {4}ok {6}tdx report: signature and chain verified \(EMULATED root\)$/,
    );
    assert.equal(L[4], `binding   ok      tenant alice, nonce ${nonce.slice(0, 16)}…, leaf 0 of 1`);
    assert.match(
      L[5]!,
      /^physical {2}ok {6}rtmr3 anchored at reset, \d+ records, matched at \d+, 0 pending$/,
    );
    assert.match(L[6]!, /^vmr {7}ok {6}alice = [0-9a-f]{16}…, (\d+)\/\1 records matched$/);
    assert.match(L[7]!, /^tenant {4}ok {6}\d+ records: 2 verified, 0 pending$/);
    assert.match(L[8]!, /^ {2}\[verified\] #\d+ example\.com\/app start alice v1\.2$/);
    assert.match(L[9]!, /^ {2}\[verified\] #\d+ example\.com\/app config mode=prod$/);
    // then what the result lists beside the layers: skipped checks, warnings
    for (const l of L.slice(10)) assert.match(l, /^(warning {3}|relaxed {3}|skipped {3}| {10})\S/);
    assert.ok(L.slice(10).some((l) => l.includes('EMULATED root')));
    assert.ok(!L.some((l) => l.startsWith('relaxed')));

    // a rewritten tenant record: the failure comes first, naming its layer and record
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as { tenant_log: { lines: string[] } };
    b.tenant_log.lines = b.tenant_log.lines.map((l) => l.replace('mode=prod', 'mode=debug'));
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(b));
    const bad = await runCliPty(args(tampered), COLUMNS);
    assert.equal(bad.code, 1, bad.raw);
    for (const l of bad.lines) assert.ok(columnsOf(l) <= COLUMNS, `wider than ${COLUMNS}: ${l}`);
    const B = bad.lines;
    assert.match(B[0]!, /^NOT VERIFIED {2}bundle \(tdx report\)/);
    assert.equal(B[2], 'tcb       UpToDate');
    assert.match(B[3]!, /^FAILED {4}vmr, record \d+: ERR_BINDING_MISMATCH: /);
    const after = B.findIndex((l, i) => i > 3 && !l.startsWith(' '.repeat(10)));
    assert.match(B[after]!, /^report {4}ok /);
    assert.match(B[after + 3]!, /^vmr {7}FAILED /);
    assert.match(B[after + 5]!, /^ {2}\[pending\] {2}#\d+ example\.com\/app start alice v1\.2$/);
    assert.match(B[after + 6]!, /^ {2}\[pending\] {2}#\d+ example\.com\/app config mode=debug$/);
  },
);

test('mr list on a 100-column terminal: the TPM profile one row per PCR, a column per bank; --pcr-list selects', async (t) => {
  const dir = tempDir(t, 'mrstack-screens-tpm-');
  const tvm = join(dir, 'tvm');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm])).code, 0);
  const data = 'boot stage 2';
  const ext = await runCli(['mr', 'extend', 'pcr7', '--text', data, '--tvm-state', tvm]);
  assert.equal(ext.code, 0, ext.stderr);
  // TPM 2.0 Part 1 §17.2 (PCR_Extend of an event): new = H(old ‖ H(data)), old all zero
  const extended = (alg: string, size: number): string =>
    createHash(alg)
      .update(Buffer.alloc(size))
      .update(createHash(alg).update(data).digest())
      .digest('hex');
  const pcr7 = {
    sha1: extended('sha1', 20),
    sha256: extended('sha256', 32),
    sha384: extended('sha384', 48),
  };

  const r = await runCliPty(['mr', 'list', '--tvm-state', tvm], COLUMNS);
  assert.equal(r.code, 0, r.raw);
  for (const l of r.lines) assert.ok(columnsOf(l) <= COLUMNS, `wider than ${COLUMNS}: ${l}`);
  assert.equal(r.lines[0], 'provider: emulated, profile: tpm');
  assert.match(r.lines[1]!, /^register\s+sha1\s+sha256\s+sha384\s+kind$/);
  assert.match(r.lines[2]!, /^─+$/);
  assert.equal(r.lines.length, 3 + 24);
  const zero = `${'0'.repeat(16)}…`;
  const ones = `${'f'.repeat(16)}…`;
  for (let n = 0; n < 24; n++) {
    const cells = r.lines[3 + n]!.split(/\s{2,}/);
    // PC Client PTP §4.6: PCRs 17-22 reset to all ones and take extends only from localities
    // 2-4 (read-only at locality 0); the others reset to zero
    const dynamic = n >= 17 && n <= 22;
    const want =
      n === 7
        ? [pcr7.sha1, pcr7.sha256, pcr7.sha384].map((h) => `${h.slice(0, 16)}…`)
        : dynamic
          ? [ones, ones, ones]
          : [zero, zero, zero];
    const kind = dynamic ? 'runtime (read-only)' : 'runtime';
    assert.deepEqual(cells, [`pcr${n}`, ...want, kind], `row of pcr${n}`);
  }

  const sel = await runCliPty(
    ['mr', 'list', '--tvm-state', tvm, '--pcr-list', 'sha256:0,1,7+sha1:7,10'],
    COLUMNS,
  );
  assert.equal(sel.code, 0, sel.raw);
  for (const l of sel.lines) assert.ok(columnsOf(l) <= COLUMNS, `wider than ${COLUMNS}: ${l}`);
  assert.match(sel.lines[1]!, /^register\s+sha256\s+sha1\s+kind$/);
  assert.deepEqual(
    sel.lines.slice(3).map((l) => l.split(/\s{2,}/)),
    [
      ['pcr0', zero, 'runtime'],
      ['pcr1', zero, 'runtime'],
      ['pcr7', `${pcr7.sha256.slice(0, 16)}…`, `${pcr7.sha1.slice(0, 16)}…`, 'runtime'],
      ['pcr10', '', `${'0'.repeat(16)}…`, 'runtime'].filter((c) => c !== ''),
    ],
  );

  const read = await runCliJson([
    'mr',
    'read',
    '--tvm-state',
    tvm,
    '--pcr-list',
    'sha256:7+sha384:7,0',
    '--json',
  ]);
  assert.equal(read.result.code, 0, read.result.stderr);
  assert.deepEqual((read.json as { pcrs: unknown }).pcrs, {
    sha256: { '7': pcr7.sha256 },
    sha384: { '0': '0'.repeat(96), '7': pcr7.sha384 },
  });
  const badSel = await runCli(['mr', 'read', '--tvm-state', tvm, '--pcr-list', 'sha256:24']);
  assert.equal(badSel.code, 2);
  assert.match(
    badSel.stderr,
    /ERR_USAGE: PCR selection "sha256:24" @7: expected a PCR number 0\.\.23/,
  );
});
