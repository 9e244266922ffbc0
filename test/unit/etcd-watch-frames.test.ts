import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWatchFrame, splitFrames, type WatchFrame } from '../../src/scheduler/store/core/watch-frames.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const header = '"header":{"cluster_id":"1","member_id":"2","revision":"9","raft_term":"2"}';

test('splitFrames: complete lines out, the unfinished rest kept (table-driven)', () => {
  const cases: Array<[string, string[], string]> = [
    ['', [], ''],
    ['{"a":', [], '{"a":'],
    ['{"a":1}\n', ['{"a":1}'], ''],
    ['{"a":1}\n{"b":', ['{"a":1}'], '{"b":'],
    ['{"a":1}\n\n{"b":2}\n', ['{"a":1}', '{"b":2}'], ''],
  ];
  for (const [buffered, lines, rest] of cases) assert.deepEqual(splitFrames(buffered), { lines, rest }, JSON.stringify(buffered));
});

test('parseWatchFrame: what etcd 3.4\'s gateway sends (table-driven)', () => {
  const kv = (key: string, value: string | undefined, rev: string): string =>
    `{"key":"${b64(key)}","create_revision":"${rev}","mod_revision":"${rev}"${value === undefined ? '' : `,"value":"${b64(value)}"`}}`;
  const cases: Array<[string, string, WatchFrame]> = [
    ['created', `{"result":{${header},"created":true}}`, { kind: 'created', revision: 9 }],
    ['a put (no type) and a delete', `{"result":{${header},"events":[{"kv":${kv('/p/a', 'v', '7')}},{"type":"DELETE","kv":${kv('/p/b', undefined, '8')}}]}}`, {
      kind: 'events', revision: 9, events: [
        { type: 'PUT', kv: { key: '/p/a', value: Buffer.from('v'), createRevision: 7, modRevision: 7 } },
        { type: 'DELETE', kv: { key: '/p/b', value: Buffer.alloc(0), createRevision: 8, modRevision: 8 } },
      ],
    }],
    ['progress', `{"result":{${header}}}`, { kind: 'progress', revision: 9 }],
    ['compacted', '{"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}}', { kind: 'compacted', compactRevision: 4 }],
    ['canceled', '{"result":{"header":{},"canceled":true,"cancel_reason":"no leader"}}', { kind: 'canceled', reason: 'no leader' }],
    ['gateway error', '{"error":"invalid character","message":"invalid character","code":2}', { kind: 'error', message: 'invalid character' }],
    ['not JSON', '{bad', { kind: 'error', message: 'not JSON: {bad' }],
    ['not an object', '42', { kind: 'error', message: 'not a watch frame: 42' }],
  ];
  for (const [name, line, frame] of cases) assert.deepEqual(parseWatchFrame(line), frame, name);
});
