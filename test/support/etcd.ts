import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from './parts.ts';
import { waitFor } from './wait.ts';

/**
 * A real single-member etcd (Debian's `etcd-server`) on loopback, for the tests of the etcd store:
 * client and peer ports picked at run time, data in a temp dir, fsync on as in production.
 */
export interface EtcdServer {
  /** The client URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  /** SIGKILLs etcd (if it still runs) and removes its data dir (kept with KEEP=1). */
  stop(): Promise<void>;
}

/** A port taken between our probe and etcd's bind makes etcd exit at once: then try other ports. */
const ATTEMPTS = 3;

export async function startEtcd(name = 'etcd'): Promise<EtcdServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    try {
      return await startOnce(name);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(name: string): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), `corral-${name}-`));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn('etcd', [
    '--name', 'corral-test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `corral-test=${peerUrl}`, '--initial-cluster-state', 'new',
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = createWriteStream(join(dir, 'etcd.log'));
  // The dir may be gone (a failed start is cleaned up) before the file is open.
  log.on('error', () => undefined);
  child.stderr?.pipe(log);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    // A missing binary emits 'error' and maybe no 'exit'.
    child.on('error', (err) => resolve(`${err.message}: is etcd-server installed? (apt-get install etcd-server)`));
  });
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  };
  try {
    const died = exited.then((code) => {
      throw new Error(`etcd exited (${code}) before it was healthy; see ${dir}/etcd.log`);
    });
    await Promise.race([died, waitFor(`etcd on ${url} to be healthy (log in ${dir}/etcd.log)`, async () => {
      // Once etcd died the race is decided: stop polling.
      if (dead) return false;
      const response = await request(`${url}/health`, { headersTimeout: 1000, bodyTimeout: 1000 });
      const body = await response.body.json() as { health?: string };
      return body.health === 'true' ? true : undefined;
    }, 20000)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid ?? 0, stop };
}
