import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startEtcd, type EtcdServer } from './etcd.ts';
import { freePort, startPart, tempDir } from './parts.ts';
import { waitFor } from './wait.ts';

/**
 * A real etcd and several `corral scheduler --store etcd` on one prefix, each on a port fixed at
 * start (so a killed one can come back where the others and the followers look for it).
 */
export interface HaCluster {
  readonly etcd: EtcdServer;
  /** `http://127.0.0.1:<port>` of every scheduler, in start order: what `--master` lists. */
  readonly urls: readonly string[];
  /** The running process behind each url (replaced by `restart`). */
  readonly schedulers: PartProcess[];
  readonly dir: string;
  /** `--master` for agents, DNS, LB and the CLI: every scheduler, comma-separated. */
  readonly masters: string;
  /** The url every scheduler agrees leads (`GET /v2/leader` on each that answers), once they do. */
  leader(timeoutMs?: number): Promise<string>;
  /** Starts scheduler `index` again on its port (after a kill). */
  restart(index: number): Promise<PartProcess>;
  stop(): Promise<void>;
}

export interface HaClusterOptions {
  schedulers?: number;
  /** Extra `corral scheduler` arguments for every scheduler. */
  args?: readonly string[];
  prefix?: string;
}

export async function startHaCluster(options: HaClusterOptions = {}): Promise<HaCluster> {
  const etcd = await startEtcd();
  const dir = tempDir('corral-ha-');
  const count = options.schedulers ?? 3;
  const ports: number[] = [];
  for (let n = 0; n < count; n += 1) ports.push(await freePort());
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const schedulers: PartProcess[] = [];
  const spawn = (index: number): Promise<PartProcess> => startPart(`scheduler-${index}`, [
    'scheduler', '--listen', `127.0.0.1:${ports[index]}`, '--data-dir', join(dir, `scheduler-${index}`),
    '--store', 'etcd', '--etcd', etcd.url, '--etcd-prefix', options.prefix ?? '/corral-ha', ...(options.args ?? []),
  ], dir);
  const cluster: HaCluster = {
    etcd,
    urls,
    schedulers,
    dir,
    masters: urls.join(','),
    leader: (timeoutMs = 20_000) => waitFor('every scheduler that answers to name one leader', () => agreedLeader(urls), timeoutMs),
    restart: async (index) => {
      const part = await spawn(index);
      schedulers[index] = part;
      return part;
    },
    stop: async () => {
      await stopParts(schedulers, 5000);
      await etcd.stop();
      if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let index = 0; index < count; index += 1) schedulers.push(await spawn(index));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** The leader's url when every scheduler that answers names the same one (and at least one answers). */
async function agreedLeader(urls: readonly string[]): Promise<string | undefined> {
  const named = new Set<string>();
  for (const url of urls) {
    try {
      const response = await request(`${url}/v2/leader`, { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = await response.body.json() as { leader?: string };
      if (response.statusCode !== 200 || typeof body.leader !== 'string') return undefined;
      named.add(`http://${body.leader}`);
    } catch {
      // A killed scheduler does not answer: the others decide.
    }
  }
  return named.size === 1 ? [...named][0] : undefined;
}
