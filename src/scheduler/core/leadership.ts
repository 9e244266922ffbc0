/**
 * What a standby scheduler (one whose etcd prefix another holds) does with a request, and how it
 * learns where the leader is. Marathon's behaviour: a few calls are answered locally, everything
 * else is proxied to the leader with a via header, so two standbys that each think the other leads
 * refuse the request instead of bouncing it forever.
 */

/** Carries the `host:port` of every scheduler a proxied request went through. */
export const VIA_HEADER = 'x-marathon-via';
/** On every answer, leader's and standby's: `http(s)://host:port` of the leader. */
export const LEADER_HEADER = 'x-marathon-leader';

export interface Leader {
  /** `host:port`, as `GET /v2/leader` names it. */
  hostPort: string;
  /** `http(s)://host:port`, the base the standby proxies to and `X-Marathon-Leader` carries. */
  url: string;
}

export type StandbyAction =
  | { kind: 'ping' }
  | { kind: 'leader' }
  | { kind: 'info' }
  | { kind: 'health' }
  | { kind: 'version' }
  | { kind: 'proxy'; leader: Leader; via: string }
  | { kind: 'loop'; status: 502; message: string }
  | { kind: 'no-leader'; status: 503; message: string };

type LocalKind = 'ping' | 'leader' | 'info' | 'health' | 'version';

const LOCAL: Readonly<Record<string, LocalKind>> = {
  'GET /ping': 'ping',
  'GET /v2/leader': 'leader',
  'GET /v2/info': 'info',
  // Mesos' standby masters answer these themselves: a health check of a standby checks the standby.
  'GET /health': 'health',
  'GET /master/health': 'health',
  'GET /version': 'version',
};

/** The via header's hops (`a:1, b:2`, or the header repeated), without blanks. */
export function parseVia(header: string | readonly string[] | undefined): string[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values.flatMap((value) => value.split(',')).map((hop) => hop.trim()).filter((hop) => hop !== '');
}

/** The leader named by the etcd lock's holder JSON (`listen`, `scheme`), if it names one. */
export function leaderOfHolder(value: string | undefined): Leader | undefined {
  if (value === undefined) return undefined;
  let holder: unknown;
  try {
    holder = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof holder !== 'object' || holder === null) return undefined;
  const { listen, scheme } = holder as { listen?: unknown; scheme?: unknown };
  // Port 0 is what a leader was told, not where it listens: no address to proxy to.
  if (typeof listen !== 'string' || listen === '' || listen.endsWith(':0')) return undefined;
  return { hostPort: listen, url: `${scheme === 'https' ? 'https' : 'http'}://${listen}` };
}

/**
 * What a standby at `self` does with `method path`: answer it locally, proxy it to the leader
 * (adding itself to the via header), refuse a request that already went through it (a loop), or,
 * with no leader known (or only its own killed predecessor), say so.
 */
export function standbyAction(request: { method: string; path: string; via: readonly string[] }, self: string, leader: Leader | undefined): StandbyAction {
  const local = LOCAL[`${request.method} ${request.path.split('?')[0] ?? ''}`];
  if (local !== undefined) return { kind: local };
  if (request.via.includes(self)) {
    return { kind: 'loop', status: 502, message: `proxy loop: this request already went through ${self} (${VIA_HEADER}: ${request.via.join(', ')}); the schedulers disagree on the leader, retry shortly` };
  }
  // A lock naming this very address is a killed predecessor's, whose lease has not run out yet.
  if (leader === undefined || leader.hostPort === self) return { kind: 'no-leader', status: 503, message: 'no leader is known right now (an election is under way): retry shortly' };
  return { kind: 'proxy', leader, via: [...request.via, self].join(', ') };
}
