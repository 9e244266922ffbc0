import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  private constructor(host: string, child: ChildProcess, user: { name: string; password: string } | undefined) {
    this.host = host;
    this.#child = child;
    this.#user = user;
  }

  /**
   * With `user`, the registry asks for basic auth (its htpasswd auth, as Debian's own config
   * has: bcrypt, made with bcryptjs, the scheduler's own dependency).
   */
  static async start(dir: string, user?: { name: string; password: string }): Promise<LoopbackRegistry> {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const config = join(dir, 'registry.yml');
    const htpasswd = join(dir, 'htpasswd');
    if (user !== undefined) writeFileSync(htpasswd, `${user.name}:${bcrypt.hashSync(user.password, 6)}\n`);
    const auth = user === undefined ? '' : `auth:\n  htpasswd:\n    realm: corral-test\n    path: ${htpasswd}\n`;
    writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: ${host}\n${auth}`);
    const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const registry = new LoopbackRegistry(host, child, user);
    await waitFor(`docker-registry on ${host}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
      const response = await request(`http://${host}/v2/`).catch(() => undefined);
      await response?.body.dump();
      return response?.statusCode === (user === undefined ? 200 : 401) ? true : undefined;
    }, 10_000);
    return registry;
  }

  /** Pushes the image `tag` of the OCI layout at `layout` as `<host>/<name>`. */
  push(layout: string, tag: string, name: string): void {
    const creds = this.#user === undefined ? [] : ['--dest-creds', `${this.#user.name}:${this.#user.password}`];
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', ...creds, `oci:${layout}:${tag}`, `docker://${this.host}/${name}`]);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
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
