import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, test } from 'node:test';
import { MasterClient } from '../../src/cli/client/http-client.ts';
import { closeServer, listenOn } from '../support/lb-fixtures.ts';

/**
 * The CLI's client against several schedulers (#16): it goes to the leader a standby names in
 * X-Marathon-Leader, and it waits (saying so) through a standby's 503 while a leader is elected.
 */

const servers: Server[] = [];

after(async () => {
  await Promise.all(servers.map((server) => closeServer(server)));
});

/** A stand-in scheduler: `answer` decides each reply; every request path is recorded. */
async function standIn(answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    answer(request, response);
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${await listenOn(server)}`, seen };
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

test('a standby names the leader: the next calls go to the leader directly', async () => {
  const leader = await standIn((_request, response) => json(response, 200, { apps: [] }));
  const standby = await standIn((_request, response) => json(response, 200, { apps: [] }, { 'x-marathon-leader': leader.url }));
  const client = new MasterClient([standby.url, leader.url]);
  try {
    await client.get('/v2/apps');
    await client.get('/v2/apps');
    await client.get('/v2/apps');
    assert.deepEqual(standby.seen, ['GET /v2/apps'], 'only the first call went through the standby');
    assert.deepEqual(leader.seen, ['GET /v2/apps', 'GET /v2/apps']);
    assert.equal(client.master, leader.url);
  } finally {
    await client.close();
  }
});

test('a 503 "no leader is known" is retried until a leader answers, and the user is told once', async () => {
  let refusals = 3;
  const standby = await standIn((_request, response) => {
    if (refusals > 0) {
      refusals -= 1;
      json(response, 503, { message: 'no leader is known right now (an election is under way): retry shortly' });
    } else {
      json(response, 201, { id: '/a' });
    }
  });
  const notices: string[] = [];
  const client = new MasterClient([standby.url], undefined, undefined, { leaderWaitMs: 10_000, notice: (line) => notices.push(line) });
  try {
    const reply = await client.call('POST', '/v2/apps', { id: '/a' });
    assert.equal(reply.status, 201);
    assert.equal(standby.seen.length, 4);
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0] ?? '', /waiting up to 10 s for a leader/);
  } finally {
    await client.close();
  }
});

test('past the deadline the 503 is the answer', async () => {
  const standby = await standIn((_request, response) => json(response, 503, { message: 'no leader is known right now (an election is under way): retry shortly' }));
  const client = new MasterClient([standby.url], undefined, undefined, { leaderWaitMs: 600, notice: () => undefined });
  try {
    await assert.rejects(client.get('/v2/apps'), (error: Error & { status?: number }) => error.status === 503 && /no leader is known/.test(error.message));
    assert.ok(standby.seen.length >= 2, `tried ${standby.seen.length} time(s)`);
  } finally {
    await client.close();
  }
});

test('a 503 that is not about the leader is not retried', async () => {
  const server = await standIn((_request, response) => json(response, 503, { message: 'the store is read-only' }));
  const client = new MasterClient([server.url], undefined, undefined, { leaderWaitMs: 10_000, notice: () => undefined });
  try {
    await assert.rejects(client.get('/v2/apps'), (error: Error & { status?: number }) => error.status === 503);
    assert.equal(server.seen.length, 1);
  } finally {
    await client.close();
  }
});

/** A scheduler that turns leader closes its standby proxy: a request on it breaks after it was sent, before any answer. */
function breakFirst(times: number): (request: IncomingMessage, response: ServerResponse) => void {
  let left = times;
  return (request, response) => {
    if (left > 0) {
      left -= 1;
      request.socket.destroy();
      return;
    }
    json(response, 200, { apps: [] });
  };
}

test('an idempotent call whose connection breaks mid-request is sent to the next master', async () => {
  const standby = await standIn(breakFirst(1));
  const other = await standIn((_request, response) => json(response, 200, { apps: [] }));
  const client = new MasterClient([standby.url, other.url], undefined, undefined, { leaderWaitMs: 10_000, notice: () => undefined });
  try {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await client.call(method, '/v2/apps/a', method === 'PUT' ? { cmd: 'sleep 1' } : undefined);
      assert.equal(reply.status, 200, method);
    }
    assert.deepEqual(standby.seen, ['GET /v2/apps/a']);
    assert.deepEqual(other.seen, ['GET /v2/apps/a', 'PUT /v2/apps/a', 'DELETE /v2/apps/a']);
  } finally {
    await client.close();
  }
});

test('a POST whose connection breaks mid-request is not sent again (it may have acted)', async () => {
  const standby = await standIn(breakFirst(1));
  const other = await standIn((_request, response) => json(response, 201, { id: '/a' }));
  const client = new MasterClient([standby.url, other.url], undefined, undefined, { leaderWaitMs: 10_000, notice: () => undefined });
  try {
    await assert.rejects(client.call('POST', '/v2/apps', { id: '/a' }), /broke before it answered \((UND_ERR_SOCKET|ECONNRESET)\): the request may have been applied/);
    assert.deepEqual(standby.seen, ['POST /v2/apps']);
    assert.deepEqual(other.seen, []);
  } finally {
    await client.close();
  }
});
