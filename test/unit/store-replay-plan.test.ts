import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecords, scanLog } from '../../src/scheduler/store/core/log-lines.ts';
import { planReplay, type ScannedLog } from '../../src/scheduler/store/core/replay-plan.ts';
import { snapshotTrailer, superseded, verifySnapshot } from '../../src/scheduler/store/core/snapshot-file.ts';
import { crc32 } from 'node:zlib';
import { record } from '../support/file-store-fixtures.ts';

/** A log file holding records `from..to` (seq = n), with `edit` applied to its bytes. */
function log(name: string, seqs: number[], edit: (text: string) => string = (text) => text): ScannedLog {
  const text = edit(seqs.map((seq) => encodeRecords([record(seq)], seq)).join(''));
  const buffer = Buffer.from(text, 'utf8');
  return { name, bytes: buffer.length, lines: scanLog(buffer) };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Changes one byte in the middle of line `index` (0-based). */
const flipInLine = (index: number) => (text: string): string => {
  const lines = text.split('\n');
  const line = lines[index]!;
  const at = Math.floor(line.length / 2);
  lines[index] = line.slice(0, at) + (line[at] === 'x' ? 'y' : 'x') + line.slice(at + 1);
  return lines.join('\n');
};

interface Case {
  name: string;
  baseSeq: number;
  logs: ScannedLog[];
  replayed: number[];
  lastSeq: number;
  torn?: { file: string; bytes: number };
  damage?: { file: string; problem: RegExp; recordsAfter: number; seqsAfter?: [number, number]; filesAfter: string[] };
}

const cases: Case[] = [
  { name: 'clean logs replay in order', baseSeq: 0, logs: [log('state.log.3', range(1, 3)), log('state.log', range(4, 6))], replayed: range(1, 6), lastSeq: 6 },
  { name: 'records the snapshot holds are skipped', baseSeq: 4, logs: [log('state.log.3', range(1, 3)), log('state.log', range(4, 6))], replayed: [5, 6], lastSeq: 6 },
  { name: 'an empty live log after a snapshot', baseSeq: 9, logs: [log('state.log', [])], replayed: [], lastSeq: 9 },
  {
    name: 'an incomplete last line is a torn tail', baseSeq: 0, logs: [log('state.log', range(1, 3), (t) => `${t}0badc0de {"ops":[`)],
    replayed: range(1, 3), lastSeq: 3, torn: { file: 'state.log', bytes: 17 },
  },
  {
    name: 'a bad last line (then nothing valid) is a torn tail', baseSeq: 0, logs: [log('state.log', range(1, 3), flipInLine(2))],
    replayed: [1, 2], lastSeq: 2, torn: { file: 'state.log', bytes: encodeRecords([record(3)], 3).length },
  },
  {
    name: 'one changed byte in the middle of the live log is damage, not a tail', baseSeq: 0, logs: [log('state.log', range(1, 6), flipInLine(2))],
    replayed: [1, 2], lastSeq: 2, damage: { file: 'state.log', problem: /checksum/, recordsAfter: 3, seqsAfter: [4, 6], filesAfter: [] },
  },
  {
    name: 'one changed byte in a set-aside segment is damage, and so is all after it', baseSeq: 0,
    logs: [log('state.log.3', range(1, 3), flipInLine(2)), log('state.log.6', range(4, 6)), log('state.log', range(7, 8))],
    replayed: [1, 2], lastSeq: 2, damage: { file: 'state.log.3', problem: /checksum/, recordsAfter: 5, seqsAfter: [4, 8], filesAfter: ['state.log.6', 'state.log'] },
  },
  {
    name: 'a torn end of a segment is damage (segments were complete when set aside)', baseSeq: 0,
    logs: [log('state.log.3', range(1, 3), (t) => t.slice(0, -5)), log('state.log', range(4, 5))],
    replayed: [1, 2], lastSeq: 2, damage: { file: 'state.log.3', problem: /incomplete/, recordsAfter: 2, seqsAfter: [4, 5], filesAfter: ['state.log'] },
  },
  {
    name: 'a repeated sequence number (two writers) is damage', baseSeq: 0, logs: [log('state.log', [1, 2, 3, 3, 4])],
    replayed: [1, 2, 3], lastSeq: 3, damage: { file: 'state.log', problem: /repeated/, recordsAfter: 2, seqsAfter: [3, 4], filesAfter: [] },
  },
  {
    name: 'a gap between a segment and the live log is damage', baseSeq: 0, logs: [log('state.log.3', range(1, 3)), log('state.log', range(7, 8))],
    replayed: [1, 2, 3], lastSeq: 3, damage: { file: 'state.log', problem: /4–6 are missing/, recordsAfter: 2, seqsAfter: [7, 8], filesAfter: [] },
  },
  {
    name: 'logs that do not reach back to the snapshot are damage', baseSeq: 2, logs: [log('state.log', range(5, 6))],
    replayed: [], lastSeq: 2, damage: { file: 'state.log', problem: /3–4 are missing/, recordsAfter: 2, seqsAfter: [5, 6], filesAfter: [] },
  },
];

for (const c of cases) {
  test(`replay plan: ${c.name}`, () => {
    const plan = planReplay(c.baseSeq, c.logs);
    assert.deepEqual(plan.records.map((r) => r.seq), c.replayed);
    assert.equal(plan.lastSeq, c.lastSeq);
    assert.deepEqual(plan.tornTail === undefined ? undefined : { file: plan.tornTail.file, bytes: plan.tornTail.bytes }, c.torn);
    if (c.damage === undefined) {
      assert.equal(plan.damage, undefined);
    } else {
      const { problem, ...rest } = c.damage;
      assert.match(plan.damage?.problem ?? '', problem);
      assert.deepEqual({ recordsAfter: plan.damage!.recordsAfter, seqsAfter: plan.damage!.seqsAfter, filesAfter: plan.damage!.filesAfter, file: plan.damage!.file }, { seqsAfter: undefined, ...rest });
    }
  });
}

test('replay plan: event ids beyond damage still count (ids never go back after a repair)', () => {
  const plan = planReplay(0, [log('state.log', range(1, 5), flipInLine(1))]);
  assert.equal(plan.maxEventId, 5);
});

test('snapshot file: the trailer vouches for the exact bytes', () => {
  const json = '{"seq":3,"state":{}}';
  const good = Buffer.from(json + snapshotTrailer(Buffer.byteLength(json), crc32(json)));
  assert.deepEqual(verifySnapshot(good), { json });
  const changed = Buffer.from(good);
  changed[5] = 0x39;
  assert.match((verifySnapshot(changed) as { problem: string }).problem, /checksum/);
  assert.match((verifySnapshot(good.subarray(0, good.length - 10)) as { problem: string }).problem, /trailer/);
  assert.match((verifySnapshot(good.subarray(0, 10)) as { problem: string }).problem, /trailer/);
  assert.match((verifySnapshot(Buffer.concat([Buffer.from('x'), good])) as { problem: string }).problem, /bytes/);
});

test('superseded: two snapshots are kept, and the logs since the older one', () => {
  assert.deepEqual(superseded([], [3]), { snapshots: [], segments: [] });
  assert.deepEqual(superseded([6], [3, 6]), { snapshots: [], segments: [] });
  assert.deepEqual(superseded([6, 9], [3, 6, 9]), { snapshots: [], segments: [3, 6] });
  assert.deepEqual(superseded([3, 12, 6, 9], [3, 6, 9, 12]), { snapshots: [6, 3], segments: [3, 6, 9] });
});
