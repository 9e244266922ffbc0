import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { mountPointsUnder } from '../../src/agent/containers/core/rootfs.ts';
import { freePort } from './parts.ts';
import { waitFor } from './wait.ts';

/**
 * A registry and an image made at run time from Debian's packages, nothing downloaded: Debian's
 * `docker-registry` on loopback, and a one-layer image of the static busybox (`busybox-static`)
 * written as an OCI layout and pushed with skopeo. A missing tool fails the test (CI installs them).
 */

export interface ImageSpec {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir?: string;
  user?: string;
}

const execFileAsync = promisify(execFile);

const BUSYBOX_APPLETS = ['sh', 'httpd', 'sleep', 'cat', 'echo', 'ls', 'env', 'id', 'wget', 'mkdir', 'head', 'tail'];

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes an OCI image layout at `dir` holding one image named `tag`: /bin/busybox, its applets, /etc/passwd, /tmp. */
export function writeBusyboxImage(dir: string, tag: string, spec: ImageSpec): void {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/tmp:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nweb:x:1000:\n');
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const hex = sha256(data);
    writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
  };
  const layer = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', '-', 'bin', 'etc', 'tmp'], { maxBuffer: 64 * 2 ** 20 });
  const layerBlob = blob(layer);
  const config = blob(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: { Entrypoint: spec.entrypoint, Cmd: spec.cmd, Env: spec.env, WorkingDir: spec.workingDir ?? '', User: spec.user ?? '' },
    rootfs: { type: 'layers', diff_ids: [layerBlob.digest] },
  }));
  const manifest = blob(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerBlob }],
  }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}

/** Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1, storing in `dir`. */
export class LoopbackRegistry {
  readonly host: string;
  readonly #child: ChildProcess;
  readonly #user: { name: string; password: string } | undefined;
  readonly #tokenServer: Server | undefined;

  private constructor(host: string, child: ChildProcess, user: { name: string; password: string } | undefined, tokenServer: Server | undefined) {
    this.host = host;
    this.#child = child;
    this.#user = user;
    this.#tokenServer = tokenServer;
  }

  /** Tokens the token server has issued (the bearer flow was used). */
  get tokensIssued(): number {
    return (this.#tokenServer as (Server & { issued?: number }) | undefined)?.issued ?? 0;
  }

  /**
   * With `user`, the registry asks for basic auth (its htpasswd auth, as Debian's own config
   * has: bcrypt, made with bcryptjs, the scheduler's own dependency); with `token` too, for a
   * bearer token from a token server of the test's (Docker's token flow: the client gets a JWT
   * for the repository's scope with the user's basic credentials, then sends it to the registry).
   */
  static async start(dir: string, user?: { name: string; password: string }, options: { token?: boolean } = {}): Promise<LoopbackRegistry> {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const config = join(dir, 'registry.yml');
    const htpasswd = join(dir, 'htpasswd');
    let auth = '';
    let tokenServer: Server | undefined;
    if (user !== undefined && options.token === true) {
      const issuer = await startTokenServer(dir, user);
      tokenServer = issuer.server;
      auth = `auth:\n  token:\n    realm: ${issuer.realm}\n    service: corral-registry\n    issuer: corral-test\n    rootcertbundle: ${issuer.certFile}\n`;
    } else if (user !== undefined) {
      writeFileSync(htpasswd, `${user.name}:${bcrypt.hashSync(user.password, 6)}\n`);
      auth = `auth:\n  htpasswd:\n    realm: corral-test\n    path: ${htpasswd}\n`;
    }
    writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: ${host}\n${auth}`);
    const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const registry = new LoopbackRegistry(host, child, user, tokenServer);
    await waitFor(`docker-registry on ${host}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
      const response = await request(`http://${host}/v2/`).catch(() => undefined);
      await response?.body.dump();
      return response?.statusCode === (user === undefined ? 200 : 401) ? true : undefined;
    }, 10_000);
    return registry;
  }

  /** Pushes the image `tag` of the OCI layout at `layout` as `<host>/<name>` (not blocking: the token server answers meanwhile). */
  async push(layout: string, tag: string, name: string): Promise<void> {
    const creds = this.#user === undefined ? [] : ['--dest-creds', `${this.#user.name}:${this.#user.password}`];
    await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', ...creds, `oci:${layout}:${tag}`, `docker://${this.host}/${name}`]);
  }

  async stop(): Promise<void> {
    if (this.#tokenServer !== undefined) {
      this.#tokenServer.closeAllConnections();
      await new Promise((resolve) => this.#tokenServer?.close(resolve));
    }
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

/**
 * A Docker token server on 127.0.0.1: GET /token with the user's basic credentials answers a JWT
 * (RS256, the signing certificate in its x5c header, made by openssl at run time) granting the
 * scope asked for; anything else is 401.
 */
async function startTokenServer(dir: string, user: { name: string; password: string }): Promise<{ server: Server; realm: string; certFile: string }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=corral-test-token'], { stdio: 'ignore' });
  const key = readFileSync(keyFile, 'utf8');
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const expected = `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
  const server: Server & { issued?: number } = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname !== '/token' || request.headers.authorization !== expected) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'bad credentials' }));
      return;
    }
    const access = url.searchParams.getAll('scope').map((scope) => {
      const [type = '', name = '', actions = ''] = scope.split(':');
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'corral-test', sub: user.name, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const unsigned = `${b64url({ alg: 'RS256', typ: 'JWT', x5c: [der] })}.${b64url(claims)}`;
    const token = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
    server.issued = (server.issued ?? 0) + 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, certFile };
}

/** The containers crun keeps state for in an agent's state root (one directory each). */
export function crunContainers(workDir: string): string[] {
  try {
    return readdirSync(join(workDir, 'crun'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** The mount points under `dir` in this (the agent's) mount namespace, of `type` when given: nothing may be left behind. */
export function mountsUnder(dir: string, type?: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => type === undefined || line.includes(` - ${type} `));
  return mountPointsUnder(lines.join('\n'), dir);
}
