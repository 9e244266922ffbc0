import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, linkSync as link, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerFilesRoutes, type FileEntry } from '../../src/agent/http/files.ts';

let tmp = '';
let root = '';
let app: FastifyInstance;

before(async () => {
  // realpath: on some systems the temp dir itself sits behind a symlink.
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'corral-files-')));
  root = join(tmp, 'sandboxes');
  const sandbox = join(root, 'web.1');
  await mkdir(join(sandbox, 'sub'), { recursive: true });
  await writeFile(join(sandbox, 'stdout'), 'hello\n');
  await writeFile(join(sandbox, 'stderr'), '');
  await writeFile(join(sandbox, 'sub', 'data.json'), '{"a":1}');
  await chmod(join(sandbox, 'stdout'), 0o644);
  await writeFile(join(tmp, 'secret'), 'outside the root\n');
  await symlink('/etc', join(sandbox, 'etc'));
  await symlink('/etc/passwd', join(sandbox, 'passwd'));
  await symlink('stdout', join(sandbox, 'ok'));
  await symlink('../../secret', join(sandbox, 'secret'));
  await symlink('/', join(root, 'evil'));
  app = Fastify();
  registerFilesRoutes(app, { sandboxRoot: root, maxReadBytes: 4096 });
  await app.ready();
});

after(async () => {
  await app.close();
  await rm(tmp, { recursive: true, force: true });
});

const q = (path: string): string => encodeURIComponent(path);

async function get(url: string): Promise<{ status: number; body: unknown; raw: string; headers: Record<string, unknown> }> {
  const response = await app.inject({ method: 'GET', url });
  const raw = response.body;
  let body: unknown = raw;
  if (String(response.headers['content-type'] ?? '').startsWith('application/json')) body = JSON.parse(raw);
  return { status: response.statusCode, body, raw, headers: response.headers };
}

test('browse: a sandbox lists its entries sorted, as Mesos describes them', async () => {
  const { status, body } = await get(`/files/browse?path=${q('web.1')}`);
  assert.equal(status, 200);
  const entries = body as FileEntry[];
  assert.deepEqual(entries.map((e) => e.path), ['web.1/etc', 'web.1/ok', 'web.1/passwd', 'web.1/secret', 'web.1/stderr', 'web.1/stdout', 'web.1/sub']);
  const stdout = entries.find((e) => e.path === 'web.1/stdout');
  assert.ok(stdout);
  assert.equal(stdout.size, 6);
  assert.equal(stdout.nlink, 1);
  assert.equal(stdout.mode, '-rw-r--r--');
  assert.equal(stdout.uid, userInfo().username);
  assert.equal(typeof stdout.gid, 'string');
  assert.ok(Number.isInteger(stdout.mtime) && Math.abs(stdout.mtime - Date.now() / 1000) < 120);
  assert.equal(entries.find((e) => e.path === 'web.1/sub')?.mode.at(0), 'd');
  // A link inside the root shows its target, like Mesos' stat(); one leading out shows only the link.
  assert.equal(entries.find((e) => e.path === 'web.1/ok')?.mode, '-rw-r--r--');
  for (const name of ['etc', 'passwd', 'secret']) assert.equal(entries.find((e) => e.path === `web.1/${name}`)?.mode.at(0), 'l', name);
});

test('browse: absolute paths come back absolute; the root lists sandboxes; a file lists itself', async () => {
  const absolute = await get(`/files/browse?path=${q(join(root, 'web.1', 'sub'))}`);
  assert.equal(absolute.status, 200);
  assert.deepEqual((absolute.body as FileEntry[]).map((e) => e.path), [join(root, 'web.1', 'sub', 'data.json')]);
  const top = await get(`/files/browse?path=${q(root)}`);
  assert.deepEqual((top.body as FileEntry[]).map((e) => e.path), [join(root, 'evil'), join(root, 'web.1')]);
  const dot = await get('/files/browse?path=.');
  assert.deepEqual((dot.body as FileEntry[]).map((e) => e.path), ['evil', 'web.1']);
  const file = await get(`/files/browse?path=${q('web.1/stdout')}`);
  assert.deepEqual((file.body as FileEntry[]).map((e) => [e.path, e.size]), [['web.1/stdout', 6]]);
});

test('read: Mesos offset/length semantics', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['', { data: '', offset: 6 }],
    ['&offset=-1', { data: '', offset: 6 }],
    ['&offset=0', { data: 'hello\n', offset: 0 }],
    ['&offset=2&length=3', { data: 'llo', offset: 2 }],
    ['&offset=4&length=100', { data: 'o\n', offset: 4 }],
    ['&offset=100', { data: '', offset: 6 }],
  ];
  for (const [params, expected] of cases) {
    await t.test(params || 'no offset', async () => {
      const { status, body } = await get(`/files/read?path=${q('web.1/stdout')}${params}`);
      assert.equal(status, 200);
      assert.deepEqual(body, expected);
    });
  }
  await t.test('through a link that stays inside', async () => {
    assert.deepEqual((await get(`/files/read?path=${q('web.1/ok')}&offset=0`)).body, { data: 'hello\n', offset: 0 });
  });
  await t.test('absolute path inside the root', async () => {
    assert.deepEqual((await get(`/files/read?path=${q(join(root, 'web.1/sub/data.json'))}&offset=0`)).body, { data: '{"a":1}', offset: 0 });
  });
});

test('read: the server caps what one answer carries', async () => {
  const big = join(root, 'web.1', 'big');
  await writeFile(big, 'x'.repeat(10_000));
  try {
    const { body } = await get(`/files/read?path=${q('web.1/big')}&offset=0`);
    assert.equal((body as { data: string }).data.length, 4096);
    const tail = await get(`/files/read?path=${q('web.1/big')}&offset=8000&length=5000`);
    assert.deepEqual(tail.body, { data: 'x'.repeat(2000), offset: 8000 });
  } finally {
    await rm(big);
  }
});

test('errors: JSON with a message, Mesos status codes', async (t) => {
  const cases: Array<[string, number, RegExp]> = [
    ['/files/read?path=web.1', 400, /Cannot read a directory/],
    ['/files/download?path=web.1/sub', 400, /Cannot download a directory/],
    ['/files/read', 400, /Expecting 'path=value'/],
    ['/files/browse?path=', 400, /Expecting 'path=value'/],
    ['/files/download?path=web.1/stdout&path=web.1/stderr', 400, /Expecting 'path=value'/],
    ['/files/read?path=web.1/stdout&offset=abc', 400, /Failed to parse offset/],
    ['/files/read?path=nothing/here&offset=x', 400, /Failed to parse offset/],
    ['/files/read?path=web.1/stdout&length=-5', 400, /Failed to parse length/],
    ['/files/read?path=web.2/stdout', 404, /does not exist/],
    ['/files/browse?path=web.2', 404, /does not exist/],
    ['/files/download?path=web.1/nope', 404, /does not exist/],
    ['/files/read?path=web.1/stdout/x', 404, /does not exist/],
  ];
  for (const [url, status, message] of cases) {
    await t.test(url, async () => {
      const response = await get(url);
      assert.equal(response.status, status);
      assert.match((response.body as { message: string }).message, message);
    });
  }
});

test('escapes: anything resolving outside the sandbox root answers 403', async (t) => {
  const paths = [
    '../../etc/passwd',
    '..',
    '../secret',
    'web.1/../../secret',
    '/etc/passwd',
    '/',
    'web.1/etc/passwd',
    'web.1/etc',
    'web.1/etc/does-not-exist',
    'web.1/passwd',
    'web.1/secret',
    'evil/etc/passwd',
    'evil',
    `${root}/../secret`,
  ];
  const urls: string[] = [];
  for (const endpoint of ['browse', 'read', 'download']) {
    for (const path of paths) urls.push(`/files/${endpoint}?path=${q(path)}&offset=0`);
    // Percent-encoded dots and slashes, sent raw: the router decodes them once.
    urls.push(`/files/${endpoint}?path=%2e%2e/%2e%2e/etc/passwd&offset=0`);
    urls.push(`/files/${endpoint}?path=%2e%2e%2f%2e%2e%2fetc%2fpasswd&offset=0`);
    urls.push(`/files/${endpoint}?path=web.1%2f%2e%2e%2f%2e%2e%2fsecret&offset=0`);
  }
  for (const url of urls) {
    await t.test(url, async () => {
      const response = await get(url);
      assert.equal(response.status, 403);
      assert.equal(typeof (response.body as { message?: unknown }).message, 'string');
      assert.doesNotMatch(response.raw, /root:|outside the root\n/);
    });
  }
});

test('download: streams the file over a real socket with attachment headers', async () => {
  const server = Fastify();
  registerFilesRoutes(server, { sandboxRoot: root });
  await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = server.server.address() as AddressInfo;
    const payload = Buffer.alloc(3 * 1024 * 1024, 'abc');
    await writeFile(join(root, 'web.1', 'artifact.bin'), payload);
    const response = await fetch(`http://127.0.0.1:${port}/files/download?path=${q('web.1/artifact.bin')}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('content-disposition'), 'attachment; filename="artifact.bin"');
    assert.equal(response.headers.get('content-length'), String(payload.length));
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(payload));
    const empty = await fetch(`http://127.0.0.1:${port}/files/download?path=${q('web.1/stderr')}`);
    assert.equal(empty.status, 200);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    const outside = await fetch(`http://127.0.0.1:${port}/files/download?path=..%2F..%2Fetc%2Fpasswd`);
    assert.equal(outside.status, 403);
    assert.equal(typeof ((await outside.json()) as { message?: unknown }).message, 'string');
  } finally {
    await server.close();
    await rm(join(root, 'web.1', 'artifact.bin'), { force: true });
  }
});

test('a FIFO in a sandbox: read and download refuse it at once, browse lists it, regular files still read', async () => {
  const sandbox = join(root, 'pipes.1');
  const fifo = join(sandbox, 'pipe');
  await mkdir(sandbox);
  execFileSync('mkfifo', [fifo]);
  await writeFile(join(sandbox, 'log'), 'still here\n');
  try {
    const answers = Promise.all([
      get(`/files/read?path=${q('pipes.1/pipe')}&offset=0`),
      get(`/files/download?path=${q('pipes.1/pipe')}`),
      get(`/files/browse?path=${q('pipes.1')}`),
      get(`/files/read?path=${q('pipes.1/log')}&offset=0`),
    ]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 2000)));
    const settled = await Promise.race([answers, late]);
    clearTimeout(timer);
    if (settled === 'late') {
      // Releases an open() stuck on the FIFO, so the failure does not also hang the test process.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      assert.fail('the files API did not answer within 2 s: an open() blocked on the FIFO');
    }
    const [read, download, browse, log] = settled;
    for (const response of [read, download]) {
      assert.equal(response.status, 400);
      assert.match((response.body as { message: string }).message, /not a regular file/);
    }
    assert.equal(browse.status, 200);
    assert.deepEqual((browse.body as FileEntry[]).map((e) => [e.path, e.mode[0]]), [['pipes.1/log', '-'], ['pipes.1/pipe', 'p']]);
    assert.deepEqual([log.status, log.body], [200, { data: 'still here\n', offset: 0 }]);
  } finally {
    await rm(sandbox, { recursive: true, force: true });
  }
});

test('a symlinked directory and a hard link leading out of the sandbox: refused, the secret never answered; plain files still served', async () => {
  const outside = join(tmp, 'elsewhere');
  const sandbox = join(root, 'links.1');
  await mkdir(outside);
  await mkdir(sandbox);
  await writeFile(join(outside, 'secret.txt'), 'top secret outside\n');
  await writeFile(join(outside, 'linked.txt'), 'hard-linked secret\n');
  await symlink(outside, join(sandbox, 'd'));
  link(join(outside, 'linked.txt'), join(sandbox, 'hard.txt'));
  await writeFile(join(sandbox, 'plain.txt'), 'plain\n');
  try {
    const refused = [
      `/files/read?path=${q('links.1/d/secret.txt')}&offset=0`,
      `/files/download?path=${q('links.1/d/secret.txt')}`,
      `/files/read?path=${q(join(sandbox, 'd', 'secret.txt'))}&offset=0`,
      `/files/browse?path=${q('links.1/d')}`,
      `/files/browse?path=${q('links.1/d/secret.txt')}`,
      `/files/read?path=${q('links.1/hard.txt')}&offset=0`,
      `/files/download?path=${q('links.1/hard.txt')}`,
    ];
    for (const url of refused) {
      const response = await get(url);
      assert.equal(response.status, 403, url);
      assert.equal(typeof (response.body as { message?: unknown }).message, 'string', url);
      assert.doesNotMatch(response.raw, /secret outside|hard-linked secret/, url);
    }
    assert.match(((await get(`/files/read?path=${q('links.1/hard.txt')}&offset=0`)).body as { message: string }).message, /hard link/);
    assert.deepEqual((await get(`/files/read?path=${q('links.1/plain.txt')}&offset=0`)).body, { data: 'plain\n', offset: 0 });
    const download = await get(`/files/download?path=${q('links.1/plain.txt')}`);
    assert.deepEqual([download.status, download.raw], [200, 'plain\n']);
  } finally {
    await rm(sandbox, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('hostile path texts: NUL bytes and over-long paths answer 400, never 500', async (t) => {
  const cases: Array<[string, number]> = [
    [`/files/read?path=web.1%2fstdout%00.txt&offset=0`, 400],
    [`/files/browse?path=%00`, 400],
    [`/files/read?path=${'a'.repeat(300)}&offset=0`, 400],
    [`/files/download?path=${q(`web.1/${'x/'.repeat(3000)}stdout`)}`, 400],
    [`/files/browse?path=${q('web.1/' + 'b'.repeat(5000))}`, 400],
  ];
  for (const [url, status] of cases) {
    await t.test(url.slice(0, 80), async () => {
      const response = await get(url);
      assert.equal(response.status, status);
      assert.equal(typeof (response.body as { message?: unknown }).message, 'string');
    });
  }
});
