import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import * as tar from 'tar';
import { archiveEntryProblem, planFetch, type FetchPlan } from '../../src/agent/core/fetch-plan.ts';
import { FetchError, fetchArtifacts, type FetchOptions } from '../../src/agent/fetcher.ts';
import type { FetchUri } from '../../src/shared/agent-protocol.ts';
import { buildRawTarGz, buildZip } from '../support/agent-fetch-archives.ts';
import { body, closedPort, startArtifactServer, type ArtifactServer, type Route } from '../support/agent-fetch-server.ts';

const uri = (value: string, extra: Partial<FetchUri> = {}): FetchUri => ({ uri: value, extract: true, executable: false, cache: false, ...extra });
const logger = pino({ level: 'silent' });

describe('planFetch', () => {
  const cases: Array<{ name: string; entry: FetchUri; plan?: Partial<FetchPlan>; reason?: RegExp }> = [
    { name: 'base name of an http URL, query dropped', entry: uri('http://h/a/app.tgz?token=x#f'), plan: { source: { kind: 'http', url: 'http://h/a/app.tgz?token=x#f' }, target: 'app.tgz', unpack: 'tar.gz' } },
    { name: 'percent-encoded base name is decoded', entry: uri('https://h/my%20app.zip'), plan: { target: 'my app.zip', unpack: 'zip' } },
    { name: '.tar.gz', entry: uri('http://h/x.tar.gz'), plan: { unpack: 'tar.gz' } },
    { name: '.tar', entry: uri('http://h/x.tar'), plan: { unpack: 'tar' } },
    { name: 'bare .gz', entry: uri('http://h/data.csv.gz'), plan: { unpack: 'gunzip' } },
    { name: 'not an archive', entry: uri('http://h/run.sh'), plan: { unpack: null } },
    { name: 'extract false', entry: uri('http://h/x.tgz', { extract: false }), plan: { unpack: null } },
    { name: 'executable is never extracted', entry: uri('http://h/x.tgz', { executable: true }), plan: { unpack: null, executable: true } },
    { name: 'archive kind follows destPath, not the URI', entry: uri('http://h/download?id=1', { destPath: 'pkg/app.zip' }), plan: { target: 'pkg/app.zip', unpack: 'zip' } },
    { name: 'destPath normalised', entry: uri('http://h/x', { destPath: './a//b/../c.txt' }), plan: { target: 'a/c.txt' } },
    { name: 'file URL', entry: uri('file:///opt/art/x.tgz'), plan: { source: { kind: 'file', path: '/opt/art/x.tgz' }, target: 'x.tgz' } },
    { name: 'file URL on localhost', entry: uri('file://localhost/opt/x'), plan: { source: { kind: 'file', path: '/opt/x' } } },
    { name: 'absolute path', entry: uri('  /opt/art/run.sh'), plan: { source: { kind: 'file', path: '/opt/art/run.sh' }, target: 'run.sh' } },
    { name: 'destPath climbing out', entry: uri('http://h/x', { destPath: '../x' }), reason: /destPath '\.\.\/x' is outside the sandbox/ },
    { name: 'destPath climbing out after a detour', entry: uri('http://h/x', { destPath: 'a/../../x' }), reason: /outside the sandbox/ },
    { name: 'absolute destPath', entry: uri('http://h/x', { destPath: '/etc/passwd' }), reason: /absolute path/ },
    { name: 'destPath naming a directory', entry: uri('http://h/x', { destPath: 'lib/' }), reason: /names a directory/ },
    { name: 'destPath is the sandbox', entry: uri('http://h/x', { destPath: 'a/..' }), reason: /sandbox itself/ },
    { name: 'no base name', entry: uri('http://h/'), reason: /set destPath/ },
    { name: 'base name ..', entry: uri('http://h/a/%2E%2E'), reason: /set destPath/ },
    { name: 'encoded slash in base name', entry: uri('http://h/a%2F..%2F..%2Fx'), reason: /set destPath/ },
    { name: 'relative path', entry: uri('art/x.tgz'), reason: /relative paths are not supported/ },
    { name: 'unsupported scheme', entry: uri('hdfs://nn/x.tgz'), reason: /unsupported scheme 'hdfs'/ },
    { name: 'remote file URL', entry: uri('file://otherhost/x'), reason: /local host/ },
    { name: 'bzip2 tarball asked to extract', entry: uri('http://h/x.tar.bz2'), reason: /cannot extract \.tar\.bz2/ },
    { name: 'bzip2 tarball kept packed', entry: uri('http://h/x.tar.bz2', { extract: false }), plan: { unpack: null } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const decision = planFetch(c.entry);
      if (c.reason !== undefined) {
        assert.equal(decision.ok, false);
        if (!decision.ok) assert.match(decision.reason, c.reason);
        return;
      }
      assert.ok(decision.ok, decision.ok ? '' : decision.reason);
      for (const [key, value] of Object.entries(c.plan ?? {})) assert.deepEqual(decision.value[key as keyof FetchPlan], value, key);
    });
  }
});

describe('archiveEntryProblem', () => {
  const cases: Array<[string, Parameters<typeof archiveEntryProblem>, RegExp | null]> = [
    ['plain file', ['bin/run.sh', 'file'], null],
    ['directory', ['lib/', 'directory'], null],
    ['dot segments that stay inside', ['./a/./b', 'file'], null],
    ['..', ['../evil', 'file'], /'\.\.\/evil' climbs out/],
    ['.. in the middle', ['a/../../evil', 'file'], /climbs out/],
    ['backslash ..', ['a\\..\\..\\evil', 'file'], /climbs out/],
    ['absolute', ['/etc/evil', 'file'], /absolute path/],
    ['drive letter', ['C:/evil', 'file'], /absolute path/],
    ['symlink inside', ['lib/current', 'symlink', 'v1/lib.so'], null],
    ['symlink to a sibling directory', ['lib/a.so', 'symlink', '../lib64/a.so'], null],
    ['symlink escaping', ['lib/x', 'symlink', '../../etc/passwd'], /points outside/],
    ['symlink absolute', ['x', 'symlink', '/etc/passwd'], /absolute path '\/etc\/passwd'/],
    ['symlink without target', ['x', 'symlink', ''], /no target/],
    ['hard link from the root', ['a/b', 'hardlink', 'c/d'], null],
    ['hard link escaping', ['a/b', 'hardlink', '../d'], /points outside/],
  ];
  for (const [name, args, expected] of cases) {
    test(name, () => {
      const problem = archiveEntryProblem(...args);
      if (expected === null) assert.equal(problem, null);
      else assert.match(problem ?? '', expected);
    });
  }
});

describe('fetchArtifacts', () => {
  let scratch: string;
  let server: ArtifactServer;
  let counter = 0;
  /** A fresh sandbox under a per-test directory, so escapes would show up beside it. */
  const sandboxes = async (): Promise<{ outside: string; sandbox: string }> => {
    const outside = path.join(scratch, `case-${++counter}`);
    const sandbox = path.join(outside, 'sandbox');
    await mkdir(sandbox, { recursive: true });
    return { outside, sandbox };
  };
  const options = (extra: Partial<FetchOptions> = {}): FetchOptions => ({ logger, ...extra });
  const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;
  const rejectsWith = async (promise: Promise<unknown>, message: string | RegExp): Promise<void> => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof FetchError, `expected a FetchError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_AGENT_FETCH');
      assert.doesNotMatch(error.message, /\n/);
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    });
  };

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'corral-fetch-'));
    const staging = path.join(scratch, 'staging');
    await mkdir(path.join(staging, 'bin'), { recursive: true });
    await mkdir(path.join(staging, 'conf'), { recursive: true });
    await writeFile(path.join(staging, 'bin', 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(staging, 'bin', 'run.sh'), 0o755);
    await writeFile(path.join(staging, 'conf', 'app.conf'), 'port=1\n');
    const tgzFile = path.join(scratch, 'app.tgz');
    await tar.c({ gzip: true, file: tgzFile, cwd: staging, portable: true }, ['bin', 'conf']);
    const tgz = await readFile(tgzFile);
    const zip = buildZip([
      { name: 'lib/' },
      { name: 'lib/a.txt', data: 'from zip\n', deflate: true },
      { name: 'start.sh', data: '#!/bin/sh\n', mode: 0o100755 },
      { name: 'current', data: 'lib/a.txt', mode: 0o120777 },
    ]);
    const slow: Route = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write('first bytes, then nothing');
    };
    server = await startArtifactServer({
      '/app.tgz': body(tgz),
      '/app.tar.gz': body(tgz),
      '/app.zip': body(zip),
      '/run.sh': body('#!/bin/sh\nexit 0\n', 'text/x-sh'),
      '/notes.txt': body('hello\n', 'text/plain'),
      '/data.csv.gz': body(gzipSync('a,b\n1,2\n')),
      '/moved/app.tgz': (_request, response) => response.writeHead(302, { location: '/app.tgz' }).end(),
      '/loop': (_request, response) => response.writeHead(302, { location: '/loop' }).end(),
      ...Object.fromEntries(Array.from({ length: 10 }, (_, n) => [`/hop/${n}`, ((_request, response) => response.writeHead(302, { location: `/hop/${n + 1}` }).end()) satisfies Route])),
      '/zeros.gz': body(gzipSync(Buffer.alloc(10_000))),
      '/zeros.tgz': body(buildRawTarGz([{ path: 'zeros', data: '0'.repeat(10_000) }])),
      '/zeros.zip': body(buildZip([{ name: 'a', data: '0'.repeat(600), deflate: true }, { name: 'b', data: '0'.repeat(600), deflate: true }])),
      '/evil.tgz': body(buildRawTarGz([{ path: 'ok.txt', data: 'fine' }, { path: '../evil', data: 'pwned' }])),
      '/absolute.tgz': body(buildRawTarGz([{ path: '/tmp/corral-fetch-absolute-evil', data: 'pwned' }])),
      '/symlink.tgz': body(buildRawTarGz([{ path: 'etc', type: 'SymbolicLink', linkpath: '../../..' }, { path: 'etc/evil', data: 'pwned' }])),
      '/evil.zip': body(buildZip([{ name: 'lib/x', data: 'x' }, { name: 'lib/../../evil', data: 'pwned' }])),
      '/symlink.zip': body(buildZip([{ name: 'out', data: '../outside-target', mode: 0o120777 }])),
      '/corrupt.tgz': body('<html>not a tarball</html>'),
      // Each link lexically inside; `s` resolves to the sandbox's parent (y → z/z → the root, then ..).
      '/hardlink-escape.tgz': body(buildRawTarGz([
        { path: 'z', type: 'SymbolicLink', linkpath: '.' },
        { path: 'y', type: 'SymbolicLink', linkpath: 'z/z' },
        { path: 's', type: 'SymbolicLink', linkpath: 'y/..' },
        { path: 'h', type: 'Link', linkpath: 's/secret.txt' },
      ])),
      '/big': (_request, response) => {
        response.writeHead(200); // chunked: no content-length
        response.write(Buffer.alloc(800));
        response.end(Buffer.alloc(800));
      },
      '/big-declared': body(Buffer.alloc(5000)),
      '/slow': slow,
    });
  });
  after(async () => {
    await server?.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  test('a .tar.gz unpacks into the sandbox root, keeps its modes, and stays there', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/app.tgz'))], sandbox, options());
    assert.deepEqual((await readdir(sandbox)).sort(), ['app.tgz', 'bin', 'conf']);
    assert.equal(await readFile(path.join(sandbox, 'conf', 'app.conf'), 'utf8'), 'port=1\n');
    assert.equal((await modeOf(path.join(sandbox, 'bin', 'run.sh'))) & 0o100, 0o100);
  });

  test('a .zip unpacks with directories, modes and an inner symlink', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/app.zip'))], sandbox, options());
    assert.deepEqual((await readdir(sandbox)).sort(), ['app.zip', 'current', 'lib', 'start.sh']);
    assert.equal(await readFile(path.join(sandbox, 'lib', 'a.txt'), 'utf8'), 'from zip\n');
    assert.equal((await modeOf(path.join(sandbox, 'start.sh'))) & 0o100, 0o100);
    assert.equal(await readlink(path.join(sandbox, 'current')), 'lib/a.txt');
  });

  test('executable: chmod 0755 and never extracted', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/run.sh'), { executable: true }), uri(server.url('/app.tgz'), { executable: true })], sandbox, options());
    assert.equal(await modeOf(path.join(sandbox, 'run.sh')), 0o755);
    assert.equal(await modeOf(path.join(sandbox, 'app.tgz')), 0o755);
    assert.deepEqual((await readdir(sandbox)).sort(), ['app.tgz', 'run.sh']);
  });

  test('extract: false keeps an archive packed', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/app.zip'), { extract: false })], sandbox, options());
    assert.deepEqual(await readdir(sandbox), ['app.zip']);
  });

  test('destPath into a subdirectory; an archive there still unpacks into the sandbox root (Mesos)', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([
      uri(server.url('/notes.txt'), { destPath: 'docs/deep/readme.txt' }),
      uri(server.url('/app.tar.gz'), { destPath: 'pkg/app.tar.gz' }),
    ], sandbox, options());
    assert.equal(await readFile(path.join(sandbox, 'docs', 'deep', 'readme.txt'), 'utf8'), 'hello\n');
    assert.ok((await stat(path.join(sandbox, 'pkg', 'app.tar.gz'))).isFile());
    assert.ok((await stat(path.join(sandbox, 'bin', 'run.sh'))).isFile());
  });

  test('file:// URLs and absolute paths are copied', async () => {
    const { outside, sandbox } = await sandboxes();
    const source = path.join(outside, 'local.txt');
    await writeFile(source, 'local\n');
    await fetchArtifacts([uri(pathToFileURL(source).href, { destPath: 'a.txt' }), uri(source)], sandbox, options());
    assert.equal(await readFile(path.join(sandbox, 'a.txt'), 'utf8'), 'local\n');
    assert.equal(await readFile(path.join(sandbox, 'local.txt'), 'utf8'), 'local\n');
  });

  test('a bare .gz is decompressed beside the sandbox root, the .gz kept', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/data.csv.gz'))], sandbox, options());
    assert.equal(await readFile(path.join(sandbox, 'data.csv'), 'utf8'), 'a,b\n1,2\n');
    assert.ok((await stat(path.join(sandbox, 'data.csv.gz'))).isFile());
  });

  test('redirects are followed; the file is named after the URI asked for', async () => {
    const { sandbox } = await sandboxes();
    await fetchArtifacts([uri(server.url('/moved/app.tgz'), { extract: false })], sandbox, options());
    assert.deepEqual(await readdir(sandbox), ['app.tgz']);
  });

  test('too many redirects, or a redirect loop, end as an error', async () => {
    const { sandbox } = await sandboxes();
    await rejectsWith(fetchArtifacts([uri(server.url('/hop/0'))], sandbox, options()), /^fetch http:\/\/127\.0\.0\.1:\d+\/hop\/0 failed: HTTP 302 \(redirect not followed: more than 5 redirects or no Location header\)$/);
    await rejectsWith(fetchArtifacts([uri(server.url('/loop'))], sandbox, options()), /^fetch http:\/\/127\.0\.0\.1:\d+\/loop failed: redirect loop$/);
  });

  test('HTTP 404 fails with the URI and status; later entries are not fetched', async () => {
    const { sandbox } = await sandboxes();
    const missing = server.url('/missing.tgz');
    const before = server.requests.length;
    await rejectsWith(fetchArtifacts([uri(missing), uri(server.url('/notes.txt'))], sandbox, options()), `fetch ${missing} failed: HTTP 404`);
    assert.deepEqual(server.requests.slice(before), ['/missing.tgz']);
    assert.deepEqual(await readdir(sandbox), []);
  });

  test('connection refused', async () => {
    const { sandbox } = await sandboxes();
    const port = await closedPort();
    await rejectsWith(fetchArtifacts([uri(`http://127.0.0.1:${port}/app.tgz`)], sandbox, options()), `fetch http://127.0.0.1:${port}/app.tgz failed: connection refused by 127.0.0.1:${port}`);
  });

  test('a missing local file', async () => {
    const { outside, sandbox } = await sandboxes();
    const missing = path.join(outside, 'nope.txt');
    await rejectsWith(fetchArtifacts([uri(missing)], sandbox, options()), `fetch ${missing} failed: no such file or directory '${missing}'`);
  });

  for (const [name, route, expected] of [
    ['a ../evil tar entry', '/evil.tgz', /failed: archive entry '\.\.\/evil' climbs out of the sandbox/],
    ['an absolute tar entry', '/absolute.tgz', /failed: archive entry '\/tmp\/corral-fetch-absolute-evil' has an absolute path/],
    ['a tar symlink escaping the sandbox', '/symlink.tgz', /failed: archive symlink 'etc' points outside the sandbox \('\.\.\/\.\.\/\.\.'\)/],
    ['a ../ zip entry', '/evil.zip', /failed: cannot extract evil\.zip: invalid relative path: lib\/\.\.\/\.\.\/evil$/],
    ['a zip symlink escaping the sandbox', '/symlink.zip', /failed: archive symlink 'out' points outside the sandbox/],
  ] as const) {
    test(`${name} is refused and nothing lands outside the sandbox`, async () => {
      const { outside, sandbox } = await sandboxes();
      await rejectsWith(fetchArtifacts([uri(server.url(route))], sandbox, options()), expected);
      assert.deepEqual(await readdir(outside), ['sandbox']);
      await assert.rejects(lstat('/tmp/corral-fetch-absolute-evil'), { code: 'ENOENT' });
      assert.deepEqual(await readdir(sandbox), [route.slice(1)], 'the archive is checked before anything is unpacked');
    });
  }

  test('a tar hard link reaching outside through symlinks it planted is refused; nothing outside is linked in', async () => {
    const { outside, sandbox } = await sandboxes();
    await writeFile(path.join(outside, 'secret.txt'), 'outside\n');
    await rejectsWith(fetchArtifacts([uri(server.url('/hardlink-escape.tgz'))], sandbox, options()), /failed: cannot extract hardlink-escape\.tgz: TAR_SYMLINK_ERROR: Cannot extract through symbolic link$/);
    await assert.rejects(lstat(path.join(sandbox, 'h')), { code: 'ENOENT' });
    assert.equal((await stat(path.join(outside, 'secret.txt'))).nlink, 1);
  });

  test('a corrupt archive fails with a reason', async () => {
    const { sandbox } = await sandboxes();
    await rejectsWith(fetchArtifacts([uri(server.url('/corrupt.tgz'))], sandbox, options()), /corrupt\.tgz failed: cannot extract corrupt\.tgz: TAR_BAD_ARCHIVE: Unrecognized archive format$/);
  });

  test('a download over the size cap fails and leaves no partial file', async () => {
    const { sandbox } = await sandboxes();
    await rejectsWith(fetchArtifacts([uri(server.url('/big'))], sandbox, options({ maxBytes: 1000 })), /\/big failed: the download is larger than the limit of 1000 bytes$/);
    await rejectsWith(fetchArtifacts([uri(server.url('/big-declared'))], sandbox, options({ maxBytes: 4096 })), /\/big-declared failed: the server announces 5000 bytes, more than the limit of 4 KiB$/);
    assert.deepEqual(await readdir(sandbox), []);
  });

  test('an archive unpacking past the size cap fails', async () => {
    const { sandbox } = await sandboxes();
    await rejectsWith(fetchArtifacts([uri(server.url('/zeros.gz'))], sandbox, options({ maxBytes: 1000 })), /zeros\.gz failed: zeros\.gz decompressed is larger than the limit of 1000 bytes$/);
    await rejectsWith(fetchArtifacts([uri(server.url('/zeros.tgz'))], sandbox, options({ maxBytes: 1000 })), /zeros\.tgz failed: zeros\.tgz unpacks to 10000 bytes, more than the limit of 1000 bytes$/);
    await rejectsWith(fetchArtifacts([uri(server.url('/zeros.zip'))], sandbox, options({ maxBytes: 1000 })), /zeros\.zip failed: zeros\.zip unpacks to more than the limit of 1000 bytes$/);
    assert.deepEqual((await readdir(sandbox)).sort(), ['zeros.gz', 'zeros.tgz', 'zeros.zip']);
  });

  test('a download that takes too long times out', async () => {
    const { sandbox } = await sandboxes();
    const started = Date.now();
    await rejectsWith(fetchArtifacts([uri(server.url('/slow'))], sandbox, options({ timeoutMs: 200 })), /\/slow failed: timed out after 200 ms$/);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(await readdir(sandbox), []);
  });

  test('an abort from the agent stops the download', async () => {
    const { sandbox } = await sandboxes();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await rejectsWith(fetchArtifacts([uri(server.url('/slow'))], sandbox, options({ signal: controller.signal })), /\/slow failed: aborted$/);
  });

  test('a destPath outside the sandbox is refused before any request', async () => {
    const { sandbox } = await sandboxes();
    const before = server.requests.length;
    await rejectsWith(fetchArtifacts([uri(server.url('/notes.txt'), { destPath: '../notes.txt' })], sandbox, options()), /failed: destPath '\.\.\/notes\.txt' is outside the sandbox$/);
    assert.equal(server.requests.length, before);
  });

  test('credentials in the URI stay out of the message', async () => {
    const { sandbox } = await sandboxes();
    const url = server.url('/missing').replace('http://', 'http://user:secret@');
    await rejectsWith(fetchArtifacts([uri(url)], sandbox, options()), /^fetch http:\/\/\*\*\*@127\.0\.0\.1:\d+\/missing failed: HTTP 404$/);
  });
});
