import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { DiscoveryStandIn, statusUpdate, syntheticSnapshot } from '../support/discovery-stand-in.ts';
import { dig, lines } from '../support/dns-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `--udp-workers 2`: two helper processes answer from the main process' UDP socket, each with a
 * table of its own; /metrics adds up every process; stopping the main process stops them.
 */

const dir = tempDir('corral-dns-udp-workers-');
let scheduler: DiscoveryStandIn;
let dns: PartProcess;
let port: number;

/** The helper processes of this corral dns (its children running udp-helper). */
function helperPids(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(dns.child.pid), '-f', 'udp-helper']).toString().trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const udpQueries = async (): Promise<number> => {
  const text = await (await request(`http://${String(dns.ready.http)}/metrics`)).body.text();
  return [...text.matchAll(/corral_dns_queries_total\{[^}]*transport="udp"\} (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
};

before(async () => {
  scheduler = await DiscoveryStandIn.start(syntheticSnapshot(3, 3));
  dns = await startPart('dns', ['dns', '--master', scheduler.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', '--udp-workers', '2'], dir);
  port = Number(String(dns.ready.dns).split(':')[1]);
});

after(async () => {
  if (dns !== undefined) await stopParts([dns], 5000);
  await scheduler?.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('every process answers, and follows events', async () => {
  assert.equal(helperPids().length, 2, 'two helper processes');
  // However the kernel spreads them, 30 queries in a row all get the snapshot's answer.
  await waitFor('every process synced', async () => {
    for (let i = 0; i < 30; i++) if (lines(await dig(port, ['+short', 'app-1.marathon.mesos'])).length !== 3) return undefined;
    return true;
  });
  scheduler.publish(statusUpdate({ id: 'app-1.extra', appId: '/app-1', host: '127.0.0.88' }, 'TASK_RUNNING'));
  await waitFor('the event in every process', async () => {
    for (let i = 0; i < 30; i++) if (!lines(await dig(port, ['+short', 'app-1.marathon.mesos'])).includes('127.0.0.88')) return undefined;
    return true;
  });
  // Helpers report about once a second: the sum catches up with what was asked.
  await waitFor('/metrics to count the helpers too', async () => ((await udpQueries()) >= 60 ? true : undefined));
});

test('stopping corral dns stops its helpers', async () => {
  const helpers = helperPids();
  assert.equal(helpers.length, 2);
  dns.child.kill('SIGTERM');
  assert.equal(await dns.exited, 0);
  const alive = (pid: string): boolean => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor('no helper left', () => (helpers.some(alive) ? undefined : true));
});
