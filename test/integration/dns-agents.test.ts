import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { dig } from '../support/dig.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { agentCall, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Agents reach `corral dns` through the event stream: one that joins after dns read its snapshot
 * is served within a second, a re-registration with a new address moves it, and one the
 * scheduler loses leaves `slave.<domain>`.
 */

const REGISTER = '/corral/v1/agents/register';
/** The bound for a change to be served. */
const SERVED_WITHIN_MS = 1000;

const dir = tempDir('corral-dns-agents-');
const parts: PartProcess[] = [];
let master: string;
let dns: string;

const slaves = async (): Promise<string[]> => (await dig(dns, 'slave.mesos')).answer.map((r) => r[4] ?? '').sort();
const slaveSrv = async (): Promise<string[]> => (await dig(dns, '_slave._tcp.mesos', 'SRV')).answer.map((r) => r.slice(4).join(' ')).sort();

before(async () => {
  // A short agent timeout: the stand-in never beats, so the scheduler loses it after 2 s.
  const scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'), '--agent-timeout', '2s'], dir);
  parts.push(scheduler);
  master = String(scheduler.ready.api);
  const part = await startPart('dns', ['dns', '--master', master, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  parts.push(part);
  dns = String(part.ready.dns);
  await waitFor('dns synced', async () => ((await dig(dns, 'mesos', 'SOA')).status === 'NOERROR' ? true : undefined));
});

after(async () => {
  for (const part of [...parts].reverse()) await stopParts([part], 5000);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('an agent that joins after dns started is served within a second, moves when it re-registers, and leaves when lost', async () => {
  assert.equal((await dig(dns, 'slave.mesos')).status, 'NXDOMAIN', 'no agent in the snapshot');

  const joined = await agentCall(master, 'POST', REGISTER, { ...standInRegistration('late', '127.0.0.62'), endpoint: 'http://127.0.0.62:5099' });
  assert.equal(joined.status, 200, JSON.stringify(joined.json));
  const agentId = String(joined.json.agentId);
  await waitFor('the new agent in slave.mesos', async () => (JSON.stringify(await slaves()) === '["127.0.0.62"]' ? true : undefined), SERVED_WITHIN_MS);
  // Mesos-DNS' `_slave._tcp`: the agent's HTTP port.
  assert.deepEqual(await slaveSrv(), ['0 1 5099 slave.mesos.']);

  // Lost (silent past --agent-timeout): out of slave.mesos, as Mesos drops unreachable agents.
  await waitFor('the lost agent gone', async () => ((await dig(dns, 'slave.mesos')).status === 'NXDOMAIN' ? true : undefined));

  // Back, on another address: the new one is served, the old one is not.
  const back = await agentCall(master, 'POST', REGISTER, { ...standInRegistration('late', '127.0.0.63'), endpoint: 'http://127.0.0.63:5098', agentId });
  assert.equal(back.status, 200, JSON.stringify(back.json));
  await waitFor('the re-registered address', async () => (JSON.stringify(await slaves()) === '["127.0.0.63"]' ? true : undefined), SERVED_WITHIN_MS);
  assert.deepEqual(await slaveSrv(), ['0 1 5098 slave.mesos.']);
});
