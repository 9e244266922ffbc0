import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Json } from './agent-cluster.ts';

/**
 * A stand-in agent: a test speaking the agent protocol itself, to decide what an agent reports
 * (or to play one that should not be let in).
 */

/** What a stand-in registers with: small resources, on a loopback ip of its own. */
export const standInRegistration = (hostname: string, ip: string, ports = 41000): Json => ({
  hostname, ip, endpoint: '', attributes: {}, tasks: [],
  resources: [{ name: 'cpus', role: '*', scalar: 2 }, { name: 'mem', role: '*', scalar: 1024 }, { name: 'ports', role: '*', ranges: [{ begin: ports, end: ports + 9 }] }],
});

/** One agent-protocol call, with `Authorization: Bearer <token>` when a token is given. */
export async function agentCall(base: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: Json }> {
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Json) };
}

/** Commands a stand-in agent reads from its command stream, as they arrive. */
export async function commandStream(master: string, agentId: string, signal: AbortSignal, token?: string): Promise<Json[]> {
  const response = await request(`${master}/corral/v1/agents/${agentId}/commands`, { signal, ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}) });
  assert.equal(response.statusCode, 200);
  const commands: Json[] = [];
  void (async () => {
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += (chunk as Buffer).toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line !== '') commands.push(JSON.parse(line) as Json);
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  return commands;
}
