import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { appNotFound, SchedulerFailure } from '../errors.ts';
import { dnsReach, lbReach, type Fetched } from '../core/reach.ts';
import type { ApiContext } from './context.ts';

export const REACH_ROUTE = '/corral/v1/reach/*';
/** Each API gets this long, answer included: the page waits for neither longer. */
const TIMEOUT_MS = 2000;
/** One app's records or routes are far smaller; a bigger answer is cut off and reported. */
const MAX_BODY_BYTES = 512 * 1024;

/** GET `url` as JSON, bounded in time and size; never throws. */
async function fetchJson(url: string): Promise<Fetched> {
  try {
    const answer = await request(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer.body.destroy();
        return { failure: `answer larger than ${MAX_BODY_BYTES} bytes` };
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return { status: answer.statusCode, body: JSON.parse(text) as unknown };
    } catch {
      return { status: answer.statusCode, body: undefined };
    }
  } catch (err) {
    const error = err as Error & { code?: string };
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return { failure: `no answer within ${TIMEOUT_MS} ms` };
    return { failure: error.code ?? error.message };
  }
}

/**
 * `GET /corral/v1/reach/{appId}`: the app's DNS records and LB routes, read from `--dns-api` and
 * `--lb-api` (the web UI's "How to reach it"; its page may call only the scheduler). `read` on the
 * app (route table). Each part says when its API is not configured or did not answer.
 */
export function registerReachRoutes(server: FastifyInstance, { state, reach }: ApiContext): void {
  server.get(REACH_ROUTE, async (req) => {
    const id = `/${(req.params as { '*': string })['*'].replace(/^\/+|\/+$/g, '')}`;
    if (!state.current.apps.has(id)) throw new SchedulerFailure(appNotFound(id));
    const { dnsApi, lbApi } = reach ?? {};
    const [dns, lb] = await Promise.all([
      dnsApi === undefined ? undefined : fetchJson(`${dnsApi}/corral/v1/apps${id.split('/').map(encodeURIComponent).join('/')}`),
      lbApi === undefined ? undefined : fetchJson(`${lbApi}/_corral/routes?app=${encodeURIComponent(id)}`),
    ]);
    return { appId: id, dns: dnsReach(dnsApi, dns), lb: lbReach(lbApi, lb) };
  });
}
