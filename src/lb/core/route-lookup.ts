import type { BackendPool, RoutingTable } from './routing-table.ts';

/**
 * The host name a request is for: lower-cased, without a `:port` suffix. Undefined when absent.
 * COMPAT(marathon-lb): HAProxy matched `hdr(host)` including the port and answered 503 to
 * `Host: name:8080`; we ignore the port, as every browser sends one on a non-default port.
 */
export function hostOfRequest(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  const text = hostHeader.trim().toLowerCase();
  const bracketed = /^(\[[^\]]*\])(?::\d*)?$/.exec(text);
  const host = bracketed ? bracketed[1] : text.replace(/:\d*$/, '');
  return host === undefined || host.length === 0 ? undefined : host;
}

/** The path of a request target, in origin form (`/a/b?q` → `/a/b`) or absolute form (`http://h/a` → `/a`). */
export function pathOfRequest(target: string | undefined): string {
  if (target === undefined || target.length === 0) return '/';
  let path = target;
  if (!path.startsWith('/')) {
    // Asterisk form (`OPTIONS *`) stays as is: it matches path-less rules only.
    const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(path);
    if (absolute === null) return path;
    path = absolute[1] || '/';
  }
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

/**
 * The pool the shared HTTP frontend sends a request to, or undefined (→ 503).
 * COMPAT(marathon-lb): paths match as HAProxy `path_beg`, a plain string prefix (`/api` matches `/apix`).
 */
export function findVhostPool(table: RoutingTable, hostHeader: string | undefined, target: string | undefined): BackendPool | undefined {
  const host = hostOfRequest(hostHeader);
  if (host === undefined) return undefined;
  const rules = table.vhosts[host];
  if (rules === undefined) return undefined;
  const path = pathOfRequest(target);
  for (const rule of rules) {
    if (rule.path === undefined) return rule.pool;
    const matches = rule.pathIgnoreCase ? path.toLowerCase().startsWith(rule.path.toLowerCase()) : path.startsWith(rule.path);
    if (matches) return rule.pool;
  }
  return undefined;
}

/** The pool behind a service-port listener, or undefined when the port left the table. */
export function findServicePortPool(table: RoutingTable, port: number): BackendPool | undefined {
  return table.servicePorts[String(port)];
}

/** COMPAT(marathon-lb): the `X-Marathon-App-Id` port routes by app id to the app's first http port. */
export function findAppIdPool(table: RoutingTable, appIdHeader: string | string[] | undefined): BackendPool | undefined {
  if (typeof appIdHeader !== 'string') return undefined;
  const id = appIdHeader.trim();
  return table.apps[id.startsWith('/') ? id : `/${id}`];
}

/** `GET /_corral/routes?app=<id>`: how one app is reached through this LB (the web UI's "How to reach it"). */
export interface AppRoutes {
  appId: string;
  servicePorts: { servicePort: number; portIndex: number; mode: string; bindAddr?: string; backends: number; draining: number }[];
  vhosts: { host: string; path?: string; servicePort: number; portIndex: number }[];
  /** Routes its labels ask for that this LB does not honour, and why. */
  rejected: { portIndex: number; reason: string }[];
}

/** The service ports, vhost rules and rejected routes of one app, from the LB's table. */
export function appRoutes(table: RoutingTable, appId: string): AppRoutes {
  const servicePorts = Object.values(table.servicePorts)
    .filter((pool) => pool.appId === appId)
    .sort((a, b) => a.portIndex - b.portIndex)
    .map((pool) => ({
      servicePort: pool.servicePort,
      portIndex: pool.portIndex,
      mode: pool.mode,
      ...(pool.bindAddr === undefined ? {} : { bindAddr: pool.bindAddr }),
      backends: pool.backends.length,
      draining: pool.draining.length,
    }));
  const vhosts = Object.entries(table.vhosts)
    .flatMap(([host, rules]) => rules.filter((rule) => rule.pool.appId === appId).map((rule) => ({
      host,
      ...(rule.path === undefined ? {} : { path: rule.path }),
      servicePort: rule.pool.servicePort,
      portIndex: rule.pool.portIndex,
    })))
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0) || (a.path ?? '').localeCompare(b.path ?? ''));
  const rejected = table.rejected.filter((route) => route.appId === appId).map(({ portIndex, reason }) => ({ portIndex, reason }));
  return { appId, servicePorts, vhosts, rejected };
}
