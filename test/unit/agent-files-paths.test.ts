import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ancestorsOf,
  formatFileMode,
  isWithinRoot,
  parseIdNames,
  parseReadQuery,
  planReadWindow,
  resolveSandboxPath,
} from '../../src/agent/core/sandbox-paths.ts';

const ROOT = '/var/corral/sandboxes';

test('sandbox paths: what the text alone allows', async (t) => {
  const cases: Array<{ name: string; in: unknown; out: ReturnType<typeof resolveSandboxPath>['kind']; path?: string }> = [
    { name: 'relative file', in: 'web.1/stdout', out: 'inside', path: `${ROOT}/web.1/stdout` },
    { name: 'relative dot', in: '.', out: 'inside', path: ROOT },
    { name: 'relative with a harmless ..', in: 'web.1/../web.2/stderr', out: 'inside', path: `${ROOT}/web.2/stderr` },
    { name: 'absolute inside', in: `${ROOT}/web.1/stdout`, out: 'inside', path: `${ROOT}/web.1/stdout` },
    { name: 'absolute root itself, trailing slash', in: `${ROOT}/`, out: 'inside', path: ROOT },
    { name: 'absolute with a harmless ..', in: `${ROOT}/a/../b`, out: 'inside', path: `${ROOT}/b` },
    { name: 'double slashes', in: 'web.1//stdout', out: 'inside', path: `${ROOT}/web.1/stdout` },
    { name: '../../etc/passwd', in: '../../etc/passwd', out: 'outside' },
    { name: 'up one level', in: '..', out: 'outside' },
    { name: 'sandbox then far up', in: 'web.1/../../../etc/passwd', out: 'outside' },
    { name: 'absolute elsewhere', in: '/etc/passwd', out: 'outside' },
    { name: 'absolute root', in: '/', out: 'outside' },
    { name: 'absolute escaping by ..', in: `${ROOT}/../secrets`, out: 'outside' },
    { name: 'sibling sharing the prefix', in: `${ROOT}-other/x`, out: 'outside' },
    { name: 'encoded dots stay literal names (decoded once by the router)', in: '%2e%2e/%2e%2e/etc/passwd', out: 'inside', path: `${ROOT}/%2e%2e/%2e%2e/etc/passwd` },
    { name: 'missing', in: undefined, out: 'invalid' },
    { name: 'empty', in: '', out: 'invalid' },
    { name: 'repeated parameter', in: ['a', 'b'], out: 'invalid' },
    { name: 'NUL byte', in: 'web.1/stdout\0.txt', out: 'invalid' },
    { name: 'NUL byte alone', in: '\0', out: 'invalid' },
    { name: 'a name of 255 bytes', in: `web.1/${'n'.repeat(255)}`, out: 'inside', path: `${ROOT}/web.1/${'n'.repeat(255)}` },
    { name: 'a name longer than 255 bytes', in: `web.1/${'n'.repeat(256)}`, out: 'invalid' },
    { name: 'a name of 128 two-byte characters (256 bytes)', in: 'é'.repeat(128), out: 'invalid' },
    { name: 'a path of 4096 bytes', in: 'a/'.repeat(2048).slice(0, 4096), out: 'inside' },
    { name: 'a path longer than 4096 bytes', in: 'a/'.repeat(2049), out: 'invalid' },
    { name: 'a long path that climbs out', in: `${'a/'.repeat(2049)}${'../'.repeat(2050)}etc`, out: 'invalid' },
    { name: 'many ../ that stay inside', in: `${'a/'.repeat(10)}${'../'.repeat(10)}web.1`, out: 'inside', path: `${ROOT}/web.1` },
    { name: 'backslashes are plain characters', in: '..\\..\\etc\\passwd', out: 'inside', path: `${ROOT}/..\\..\\etc\\passwd` },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = resolveSandboxPath(ROOT, c.in);
      assert.equal(result.kind, c.out);
      if (c.path !== undefined) assert.deepEqual(result, { kind: 'inside', path: c.path });
    });
  }
});

test('sandbox paths: containment is by whole path segments', () => {
  assert.equal(isWithinRoot('/a/b', '/a/b'), true);
  assert.equal(isWithinRoot('/a/b', '/a/b/c'), true);
  assert.equal(isWithinRoot('/a/b', '/a/bc'), false);
  assert.equal(isWithinRoot('/a/b', '/a'), false);
  assert.equal(isWithinRoot('/', '/etc'), true);
  assert.deepEqual(ancestorsOf('/a/b/c'), ['/a/b', '/a', '/']);
  assert.deepEqual(ancestorsOf('/'), []);
});

test('read query: Mesos offset and length parameters', async (t) => {
  const cases: Array<[Record<string, unknown>, ReturnType<typeof parseReadQuery>]> = [
    [{}, { kind: 'query', offset: -1, length: -1 }],
    [{ offset: '0', length: '10' }, { kind: 'query', offset: 0, length: 10 }],
    [{ offset: '-1' }, { kind: 'query', offset: -1, length: -1 }],
    [{ offset: ' 5 ' }, { kind: 'query', offset: 5, length: -1 }],
    [{ offset: 'abc' }, { kind: 'invalid', message: "Failed to parse offset: 'abc' is not an integer" }],
    [{ offset: '1.5' }, { kind: 'invalid', message: "Failed to parse offset: '1.5' is not an integer" }],
    [{ length: 'x' }, { kind: 'invalid', message: "Failed to parse length: 'x' is not an integer" }],
    [{ offset: '-2' }, { kind: 'invalid', message: 'Failed to parse offset: -2 is negative' }],
    [{ length: '-7' }, { kind: 'invalid', message: 'Failed to parse length: -7 is negative' }],
    [{ offset: '99999999999999999999' }, { kind: 'invalid', message: "Failed to parse offset: '99999999999999999999' is out of range" }],
    [{ offset: ['1', '2'] }, { kind: 'invalid', message: "Failed to parse offset: '1,2' is not an integer" }],
  ];
  for (const [query, expected] of cases) await t.test(JSON.stringify(query), () => assert.deepEqual(parseReadQuery(query), expected));
});

test('read window: tail from the end, cap the length, stop at the end', async (t) => {
  const MAX = 1000;
  const cases: Array<{ name: string; offset: number; length: number; size: number; out: { offset: number; length: number } }> = [
    { name: 'no offset: the size, no data (tail start)', offset: -1, length: -1, size: 500, out: { offset: 500, length: 0 } },
    { name: 'no offset with a length: still the end', offset: -1, length: 10, size: 500, out: { offset: 500, length: 0 } },
    { name: 'from 0, no length: to the end', offset: 0, length: -1, size: 500, out: { offset: 0, length: 500 } },
    { name: 'from 0, no length, big file: capped', offset: 0, length: -1, size: 5000, out: { offset: 0, length: MAX } },
    { name: 'length caps the data', offset: 10, length: 20, size: 500, out: { offset: 10, length: 20 } },
    { name: 'length beyond the end', offset: 490, length: 100, size: 500, out: { offset: 490, length: 10 } },
    { name: 'length above the server max', offset: 0, length: 4000, size: 5000, out: { offset: 0, length: MAX } },
    { name: 'length 0', offset: 10, length: 0, size: 500, out: { offset: 10, length: 0 } },
    { name: 'offset at the end', offset: 500, length: 10, size: 500, out: { offset: 500, length: 0 } },
    { name: 'offset past the end (file truncated under the client)', offset: 900, length: 10, size: 500, out: { offset: 500, length: 0 } },
    { name: 'empty file', offset: 0, length: -1, size: 0, out: { offset: 0, length: 0 } },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(planReadWindow({ offset: c.offset, length: c.length }, c.size, MAX), c.out));
});

test('file modes: ls -l style as Mesos shows them', async (t) => {
  const cases: Array<[number, string]> = [
    [0o100644, '-rw-r--r--'],
    [0o100755, '-rwxr-xr-x'],
    [0o040755, 'drwxr-xr-x'],
    [0o041777, 'drwxrwxrwx'],
    [0o120777, 'lrwxrwxrwx'],
    [0o010600, 'prw-------'],
    [0o140000, 's---------'],
    [0o020666, 'crw-rw-rw-'],
    [0o060660, 'brw-rw----'],
  ];
  for (const [mode, text] of cases) await t.test(text, () => assert.equal(formatFileMode(mode), text));
});

test('owner names: parsed from passwd and group files', () => {
  const names = parseIdNames('# comment\nroot:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\nbroken\nalias:x:0:0::/:/bin/sh\n:x:5:\n');
  assert.deepEqual([...names], [[0, 'root'], [65534, 'nobody']]);
  assert.deepEqual([...parseIdNames('wheel:x:10:alice,bob\n')], [[10, 'wheel']]);
});
