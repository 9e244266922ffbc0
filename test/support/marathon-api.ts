import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Json } from './agent-cluster.ts';

/** One answer of the scheduler's Marathon API, with the header a deploying answer carries. */
export interface Answer {
  status: number;
  json: Json;
  location: string | undefined;
  deploymentHeader: string | undefined;
}

/** A JSON call to `base` (an empty body reads as `{}`), with `authorization` as is when given (a scheduler with --auth). */
export async function marathonCall(base: string, method: string, path: string, body?: unknown, authorization?: string): Promise<Answer> {
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(authorization === undefined ? {} : { authorization }),
  };
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  const header = (name: string): string | undefined => {
    const value = response.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Json), location: header('location'), deploymentHeader: header('marathon-deployment-id') };
}

/** A deploying answer: `status`, `{version, deploymentId}` and the header naming the same deployment; its id. */
export function assertDeployment(answer: Answer, status = 200): string {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.deepEqual(Object.keys(answer.json).sort(), ['deploymentId', 'version']);
  assert.equal(answer.deploymentHeader, answer.json.deploymentId);
  return String(answer.json.deploymentId);
}
