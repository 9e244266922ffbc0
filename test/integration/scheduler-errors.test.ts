import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { request } from 'undici';
import { AGENT_API } from '../../src/shared/agent-protocol.ts';
import { AgentCluster } from '../support/agent-cluster.ts';

/**
 * The error answers of a scheduler without agents, byte for byte: every refusal goes through
 * one error handler (api/server.ts) and one mapping (api/http-errors.ts).
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

/** Status and raw body text (the bytes clients match on). */
async function raw(method: string, path: string, body?: string): Promise<[number, string]> {
  const response = await request(`${(cluster as AgentCluster).master}${path}`, {
    method: method as 'GET',
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  return [response.statusCode, await response.body.text()];
}

const BAD_JSON = '{"id": "x",';

/** The parser's own words for `text` (they differ between Node versions). */
function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${text} parses`);
}

test('error answers: status and Marathon body for each refusal', { timeout: 60_000 }, async () => {
  cluster = await AgentCluster.start('scheduler-errors');
  const cases: Array<[string, string, string | undefined, number, unknown]> = [
    ['GET', '/v2/nothing-here?x=1', undefined, 404, { message: 'Unknown path GET /v2/nothing-here' }],
    ['POST', '/v2/apps/web/tasks', '{}', 404, { message: 'Unknown path POST /v2/apps/web/tasks' }],
    ['DELETE', '/v2/queue/web', undefined, 404, { message: 'Unknown path DELETE /v2/queue/web' }],
    ['DELETE', '/v2/queue/web/delay', undefined, 404, { message: 'Application /web not found in tasks queue.' }],
    ['GET', '/v2/apps/web', undefined, 404, { message: "App '/web' does not exist" }],
    ['DELETE', '/v2/apps/web/tasks/web.1', undefined, 404, { message: "App '/web' does not exist" }],
    ['DELETE', '/v2/apps/web/tasks?scale=true&wipe=true', undefined, 400, { message: 'You cannot use scale and wipe at the same time.' }],
    ['POST', '/v2/tasks/delete', '{"ids":["bad"]}', 400, { message: "Invalid task id 'bad'." }],
    ['GET', '/v2/groups/shop', undefined, 404, { message: "Group '/shop' does not exist" }],
    ['GET', '/v2/groups/shop/versions/v1', undefined, 404, { message: "Group '/shop' does not exist" }],
    ['DELETE', '/v2/groups/', undefined, 422, { message: 'Deleting the root group is not supported; delete its groups' }],
    ['DELETE', '/v2/deployments/d1', undefined, 404, { message: 'DeploymentPlan d1 does not exist' }],
    ['POST', '/v2/apps', BAD_JSON, 400, { message: 'Invalid JSON', details: [{ path: '/', errors: [parseError(BAD_JSON)] }] }],
    ['POST', '/v2/apps', `{"cmd": "${'x'.repeat(1024 * 1024)}"}`, 413, { message: 'Request body is larger than 1048576 bytes' }],
    ['GET', `${AGENT_API}/a1/commands`, undefined, 404, { message: 'Agent a1 is not registered' }],
    ['POST', `${AGENT_API}/a1/heartbeat`, '{}', 404, { message: 'Agent a1 is not registered' }],
    ['POST', `${AGENT_API}/a1/drain`, undefined, 404, { message: 'Agent a1 is not registered' }],
    ['POST', `${AGENT_API}/a1/heartbeat`, '{"tasks": 1}', 422, undefined],
  ];
  for (const [method, path, body, status, expected] of cases) {
    const [answered, text] = await raw(method, path, body);
    assert.equal(answered, status, `${method} ${path}: ${text}`);
    const json = JSON.parse(text) as { message: unknown };
    if (expected === undefined) assert.equal(json.message, 'invalid heartbeat', `${method} ${path}`);
    else assert.equal(text, JSON.stringify(expected), `${method} ${path}`);
  }
});
