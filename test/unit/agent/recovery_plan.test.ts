// planRecovery over every combination of torn tail × where the register stands (all extended,
// 1 or 2 records unextended, the SYNC or the BOOT/CHECKPOINT before it unextended, off-log) ×
// tenant coverage (none, covered, uncovered, a VMR value the tenant log lacks). Register values
// are computed here with node:crypto (MR ← SHA-384(MR ‖ SHA-384(line))), not with mrstack's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { planRecovery, type RecoveryAction, type TenantTail } from '../../../src/agent/recovery.js';
import { parseMrlogLine } from '../../../src/formats/mrlog/record.js';

const sha384 = (b: Uint8Array): Buffer => createHash('sha384').update(b).digest();
const ext = (mr: Buffer, line: string): Buffer =>
  sha384(Buffer.concat([mr, sha384(Buffer.from(line, 'utf8'))]));
const ZERO = Buffer.alloc(48);
const banks = (v: Buffer): Map<'sha384', Uint8Array> => new Map([['sha384', new Uint8Array(v)]]);
const hex = (n: number): string => Buffer.alloc(48, n).toString('hex');

/** A segment as the agent writes it: header (BOOT or CHECKPOINT), SYNC, then VMR records. */
function segment(
  header: string,
  before: Buffer,
  vmrs: number,
): { lines: string[]; values: Buffer[] } {
  const afterHeader = ext(before, header);
  const lines = [header, `SYNC sha384/${afterHeader.toString('hex')}`];
  for (let i = 0; i < vmrs; i++) lines.push(`VMR a=sha384/${hex(i + 1)}`);
  // values[k]: the register after lines[0..k-1]
  const values = [before];
  for (const l of lines) values.push(ext(values[values.length - 1]!, l));
  return { lines, values };
}

const parse = (lines: readonly string[]) => lines.map((l, i) => parseMrlogLine(l, i + 1));

/** Where the register stands: how many of the segment's lines it has seen (or off-log). */
const POSITIONS = [
  { name: 'all extended', seen: 4 },
  { name: 'last record unextended', seen: 3 },
  { name: 'two records unextended', seen: 2 },
  { name: 'SYNC unextended', seen: 1 },
  { name: 'header and SYNC unextended', seen: 0 },
  { name: 'off-log', seen: -1 },
] as const;

const TENANT_CASES: { name: string; tenants: TenantTail[]; stale: string[]; missing: string[] }[] =
  [
    { name: 'no tenants', tenants: [], stale: [], missing: [] },
    {
      name: 'tenant covered',
      tenants: [{ name: 'a', records: 5, torn: 0, covered: 5 }],
      stale: [],
      missing: [],
    },
    {
      name: 'tenant uncovered',
      tenants: [
        { name: 'a', records: 7, torn: 0, covered: 5 },
        { name: 'b', records: 2, torn: 0, covered: 0 },
      ],
      stale: ['a', 'b'],
      missing: [],
    },
    {
      name: 'VMR value missing from the tenant log',
      tenants: [{ name: 'a', records: 4, torn: 9, covered: undefined }],
      stale: ['a'],
      missing: ['a'],
    },
  ];

for (const header of ['BOOT b 1700000000', 'CHECKPOINT 3 prev=sha384/' + hex(9)]) {
  for (const torn of [0, 23]) {
    for (const pos of POSITIONS) {
      for (const tc of TENANT_CASES) {
        test(`planRecovery: ${header.split(' ')[0]} segment, torn ${torn}, ${pos.name}, ${tc.name}`, () => {
          // a CHECKPOINT segment follows earlier records: the register before it is not zero
          const before = header.startsWith('BOOT') ? ZERO : Buffer.alloc(48, 0x5a);
          const seg = segment(header, before, 2);
          const tailStart = header.startsWith('BOOT') ? 0 : 40;
          // a comment line is informative: never extended
          const lines = [...seg.lines.slice(0, 3), '# informative', seg.lines[3]!];
          const live = pos.seen < 0 ? Buffer.alloc(48, 0xee) : seg.values[pos.seen]!;
          const plan = planRecovery(
            ['sha384'],
            { records: tailStart + lines.length, tail: parse(lines), tailStart, torn },
            banks(live),
            tc.tenants,
          );
          const want: RecoveryAction[] = [];
          if (torn > 0)
            want.push({ kind: 'truncated', log: 'physical', name: 'physical', bytes: torn });
          for (const t of tc.tenants)
            if (t.torn > 0)
              want.push({ kind: 'truncated', log: 'tenant', name: t.name, bytes: t.torn });
          let extended: number;
          if (pos.seen < 0) {
            want.push({ kind: 'off-log', found: banks(live) });
            extended = tailStart + lines.length;
          } else {
            // the unextended lines in log order, the comment skipped; chain index of the first
            const todo = seg.lines.slice(pos.seen);
            const firstIdx = pos.seen <= 2 ? pos.seen : pos.seen + 1;
            extended = tailStart + firstIdx;
            if (todo.length > 0) want.push({ kind: 'extend', first: extended, lines: todo });
          }
          for (const m of tc.missing) want.push({ kind: 'tenant-value-missing', tenant: m });
          if (tc.stale.length > 0) want.push({ kind: 'cover', tenants: tc.stale });
          assert.deepEqual(plan.actions, want);
          assert.equal(plan.extended, extended);
          for (const t of tc.tenants) assert.equal(plan.covered.get(t.name), t.records);
        });
      }
    }
  }
}

test('planRecovery: an empty log starts one (BOOT + SYNC), whatever the register holds', () => {
  for (const live of [ZERO, Buffer.alloc(48, 7)]) {
    const plan = planRecovery(
      ['sha384'],
      { records: 0, tail: [], tailStart: 0, torn: 0 },
      banks(live),
      [{ name: 'a', records: 2, torn: 0, covered: 0 }],
    );
    assert.deepEqual(plan.actions, [{ kind: 'start-log' }, { kind: 'cover', tenants: ['a'] }]);
    assert.equal(plan.extended, 0);
  }
});

test('planRecovery: a tail without SYNC cannot anchor the register: off-log', () => {
  const lines = [`VMR a=sha384/${hex(1)}`];
  const live = ext(Buffer.alloc(48, 1), lines[0]!);
  const plan = planRecovery(
    ['sha384'],
    { records: 9, tail: parse(lines), tailStart: 8, torn: 0 },
    banks(live),
  );
  assert.deepEqual(plan.actions, [{ kind: 'off-log', found: banks(live) }]);
});

test('planRecovery: a two-bank register must match in every bank', () => {
  const s256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
  const lines = ['BOOT b 1', '', `VMR a=sha384/${hex(1)}`];
  const z384 = Buffer.alloc(48);
  const z256 = Buffer.alloc(32);
  const boot384 = ext(z384, lines[0]!);
  const boot256 = s256(Buffer.concat([z256, s256(Buffer.from(lines[0]!))]));
  lines[1] = `SYNC sha256/${boot256.toString('hex')} sha384/${boot384.toString('hex')}`;
  const after384 = ext(boot384, lines[1]);
  const after256 = s256(Buffer.concat([boot256, s256(Buffer.from(lines[1]))]));
  const good = new Map<'sha256' | 'sha384', Uint8Array>([
    ['sha256', after256],
    ['sha384', after384],
  ]);
  const tail = { records: 3, tail: parse(lines), tailStart: 0, torn: 0 };
  assert.deepEqual(planRecovery(['sha256', 'sha384'], tail, good).actions, [
    { kind: 'extend', first: 2, lines: [lines[2]] },
  ]);
  const bad = new Map(good).set('sha256', Buffer.alloc(32, 1));
  assert.equal(planRecovery(['sha256', 'sha384'], tail, bad).actions[0]!.kind, 'off-log');
});
