/**
 * "How to reach it" (the web UI's Reach tab, `GET /corral/v1/reach/{appId}`): what the DNS and
 * the LB HTTP APIs say about one app, each reduced to a part the page can show whatever they
 * answered: not configured, unreachable (why), an error in their words, or the records and routes.
 */

/** What asking one API gave: its status and parsed JSON, or why there is none. */
export type Fetched = { readonly status: number; readonly body: unknown } | { readonly failure: string };

export interface DnsRecord {
  name: string;
  type: 'A' | 'AAAA' | 'SRV';
  address?: string;
  target?: string;
  port?: number;
}

export type DnsReach =
  | { configured: false }
  | { configured: true; api: string; error: string }
  | { configured: true; api: string; domain: string; instances: number; records: DnsRecord[]; skipped: { taskId: string; reason: string }[] };

export interface LbServicePort { servicePort: number; portIndex: number; mode: string; bindAddr?: string; backends: number; draining: number }
export interface LbVhost { host: string; path?: string; servicePort: number; portIndex: number }

export type LbReach =
  | { configured: false }
  | { configured: true; api: string; error: string }
  | { configured: true; api: string; servicePorts: LbServicePort[]; vhosts: LbVhost[]; rejected: { portIndex: number; reason: string }[]; listening: { http?: string; https?: string } };

/** More would not be one app's: the page shows this many of each list and says how many there were. */
export const MAX_ITEMS = 500;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const int = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);

/** `items` kept where `pick` makes sense of them, at most MAX_ITEMS. */
function listOf<T>(value: unknown, pick: (item: Record<string, unknown>) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  const out: T[] = [];
  for (const item of value) {
    const picked = isObject(item) ? pick(item) : undefined;
    if (picked !== undefined) out.push(picked);
    if (out.length >= MAX_ITEMS) break;
  }
  return out;
}

/** The failure in words, or undefined when the answer is a 200 with a JSON object. */
function problem(what: string, fetched: Fetched): string | undefined {
  if ('failure' in fetched) return `${what} unreachable: ${fetched.failure}`;
  if (fetched.status !== 200) {
    const message = isObject(fetched.body) ? str(fetched.body.message) : undefined;
    return `${what} answered ${fetched.status}${message === undefined ? '' : `: ${message}`}`;
  }
  return isObject(fetched.body) ? undefined : `${what} answered something other than a JSON object`;
}

export function dnsReach(api: string | undefined, fetched: Fetched | undefined): DnsReach {
  if (api === undefined || fetched === undefined) return { configured: false };
  const error = problem('DNS API', fetched);
  if (error !== undefined || 'failure' in fetched || !isObject(fetched.body)) return { configured: true, api, error: error ?? '' };
  const body = fetched.body;
  const records = listOf<DnsRecord>(body.records, (r) => {
    const name = str(r.name);
    if (name === undefined) return undefined;
    if ((r.type === 'A' || r.type === 'AAAA') && str(r.address) !== undefined) return { name, type: r.type, address: str(r.address) };
    if (r.type === 'SRV' && str(r.target) !== undefined && int(r.port) !== undefined) return { name, type: 'SRV', target: str(r.target), port: int(r.port) };
    return undefined;
  });
  const skipped = listOf(body.skipped, (s) => (str(s.taskId) === undefined ? undefined : { taskId: String(s.taskId), reason: str(s.reason) ?? '' }));
  return { configured: true, api, domain: str(body.domain) ?? '', instances: int(body.instances) ?? 0, records, skipped };
}

export function lbReach(api: string | undefined, fetched: Fetched | undefined): LbReach {
  if (api === undefined || fetched === undefined) return { configured: false };
  const error = problem('LB API', fetched);
  if (error !== undefined || 'failure' in fetched || !isObject(fetched.body)) return { configured: true, api, error: error ?? '' };
  const body = fetched.body;
  const servicePorts = listOf<LbServicePort>(body.servicePorts, (p) => {
    const servicePort = int(p.servicePort);
    const portIndex = int(p.portIndex);
    if (servicePort === undefined || portIndex === undefined) return undefined;
    const bindAddr = str(p.bindAddr);
    return { servicePort, portIndex, mode: str(p.mode) ?? '', ...(bindAddr === undefined ? {} : { bindAddr }), backends: int(p.backends) ?? 0, draining: int(p.draining) ?? 0 };
  });
  const vhosts = listOf<LbVhost>(body.vhosts, (v) => {
    const host = str(v.host);
    const servicePort = int(v.servicePort);
    if (host === undefined || servicePort === undefined) return undefined;
    const path = str(v.path);
    return { host, ...(path === undefined ? {} : { path }), servicePort, portIndex: int(v.portIndex) ?? 0 };
  });
  const rejected = listOf(body.rejected, (r) => (int(r.portIndex) === undefined ? undefined : { portIndex: int(r.portIndex) ?? 0, reason: str(r.reason) ?? '' }));
  const shared = isObject(body.listening) ? body.listening : {};
  const http = str(shared.http);
  const https = str(shared.https);
  const listening = { ...(http === undefined ? {} : { http }), ...(https === undefined ? {} : { https }) };
  return { configured: true, api, servicePorts, vhosts, rejected, listening };
}
