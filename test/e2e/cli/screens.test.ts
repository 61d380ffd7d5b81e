// Screens for people (issue 18, Must show): the built CLI on a 100-column pseudo-terminal.
// Each screen is asserted line by line and no line may be wider than the terminal. Expected
// event contents come from tpm2_eventlog (run here on the same capture) and the UEFI spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { columnsOf, runCliPty } from '../../_support/pty.js';
import { fixture } from '../../_support/paths.js';

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
