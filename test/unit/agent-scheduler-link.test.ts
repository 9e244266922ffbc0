import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { SchedulerLink } from '../../src/agent/scheduler-link.ts';
import { StatusOutbox } from '../../src/agent/status-outbox.ts';
import { AGENT_API } from '../../src/shared/agent-protocol.ts';
import { waitFor } from '../support/wait.ts';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const answer = (status: number, body: unknown): Handler => (_request, response) => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** A scheduler that refuses the agent at one step: the link logs the refusal with its code, and keeps trying. */
const cases: Array<{ name: string; routes: Record<string, Handler>; code: string; message: RegExp }> = [
  {
    name: 'registration refused',
    routes: { [`POST ${AGENT_API}/register`]: answer(403, { message: 'not welcome' }) },
    code: 'ERR_AGENT_REGISTRATION_REFUSED',
    message: /^registration refused \(403\): not welcome$/,
  },
  {
    name: 'command stream refused',
    routes: {
      [`POST ${AGENT_API}/register`]: answer(200, { agentId: 'a1', heartbeatIntervalMs: 1000 }),
      [`GET ${AGENT_API}/a1/commands`]: answer(404, { message: 'Agent a1 is not registered' }),
    },
    code: 'ERR_AGENT_STREAM_REFUSED',
    message: /^command stream refused \(404\)$/,
  },
];

for (const c of cases) {
  test(`scheduler link: ${c.name} is logged as ${c.code}`, async () => {
    const server = createServer((request, response) => {
      const route = c.routes[`${request.method} ${request.url}`];
      request.resume();
      request.on('end', () => (route ?? answer(404, { message: 'no route' }))(request, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'corral-link-'));
    const logs: Array<Record<string, unknown>> = [];
    const link = new SchedulerLink({
      masters: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
      registration: () => ({ hostname: 'h', ip: '127.0.0.1', endpoint: 'http://127.0.0.1:1', resources: [], attributes: {}, tasks: [] }),
      onRegistered: () => undefined,
      onCommand: () => undefined,
      initialAgentId: undefined,
      outbox: new StatusOutbox(dir),
    });
    try {
      link.start();
      const down = await waitFor('the link logs its refusal', () => logs.find((l) => l.msg === 'scheduler link down'));
      assert.equal(down.code, c.code);
      assert.match(String(down.err), c.message);
    } finally {
      await link.close(0);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
