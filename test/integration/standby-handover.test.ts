import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { awaitsLeader } from '../../src/events/core/masters.ts';
import { buildStandbyServer } from '../../src/scheduler/leadership/standby-server.ts';
import { createLogger } from '../../src/shared/log.ts';
import { freePort } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * A standby that takes the lead closes its proxy to bind the leader's API on the same address. A
 * request waiting there for a reachable leader (the old one was killed) has reached no leader: it
 * must get a 503 the CLI retries, not a dropped connection the CLI cannot tell from a write that
 * acted (UND_ERR_SOCKET, #16).
 */
test('a standby that closes to take the lead answers the requests waiting for a leader with a retriable 503', async () => {
  const deadLeader = await freePort();
  let asked = 0;
  const standby = buildStandbyServer({
    logger: createLogger('scheduler', 'silent'),
    self: () => '127.0.0.1:1',
    leader: () => {
      asked += 1;
      return { hostPort: `127.0.0.1:${deadLeader}`, url: `http://127.0.0.1:${deadLeader}` };
    },
  });
  await standby.listen({ host: '127.0.0.1', port: 0 });
  const { port } = standby.server.address() as { port: number };
  let closed = false;
  try {
    const pending = request(`http://127.0.0.1:${port}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '/a' }) });
    // Its first proxy attempt was refused: the request waits for the leader to be reachable.
    await waitFor('the request to wait for a reachable leader', () => (asked >= 2 ? true : undefined));
    await standby.close();
    closed = true;
    const response = await pending;
    const body = (await response.body.json()) as { message: string };
    assert.equal(response.statusCode, 503);
    assert.ok(awaitsLeader(response.statusCode, body.message), body.message);
  } finally {
    if (!closed) await standby.close();
  }
});
