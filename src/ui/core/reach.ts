import type { App } from './marathon.ts';

/** `GET /corral/v1/reach/{appId}` (src/scheduler/core/reach.ts), as the page reads it. */
export interface ReachAnswer {
  appId: string;
  dns: { configured: false } | { configured: true; api: string; error?: string; domain?: string; instances?: number; records?: ReachRecord[]; skipped?: Array<{ taskId: string; reason: string }> };
  lb: { configured: false } | { configured: true; api: string; error?: string; servicePorts?: LbPort[]; vhosts?: LbVhost[]; rejected?: Array<{ portIndex: number; reason: string }>; listening?: { http?: string; https?: string } };
}
export interface ReachRecord { name: string; type: 'A' | 'AAAA' | 'SRV'; address?: string; target?: string; port?: number }
export interface LbPort { servicePort: number; portIndex: number; mode: string; bindAddr?: string; backends: number; draining: number }
export interface LbVhost { host: string; path?: string; servicePort: number; portIndex: number }

/** One DNS name and what it answers: addresses (A/AAAA) or `target:port` (SRV). */
export interface NameRow {
  name: string;
  values: string[];
  /** SRV: the app port it names (`port 0 "http"`), when the records' ports tell. */
  port?: string;
  /** Below `.slave.`: the agent's address, not the task's own (differs only with container networks). */
  agent: boolean;
}

export interface ReachView {
  dns: { state: 'off' | 'error'; text: string } | { state: 'ok'; addresses: NameRow[]; services: NameRow[]; note?: string };
  lb: { state: 'off' | 'error'; text: string } | {
    state: 'ok';
    /** `host:port` a client connects to for each service port. */
    ports: Array<LbPort & { label: string; address: string }>;
    /** `url`: host and path; `try`: a request that reaches it through the LB's HTTP port (the vhost's name need not resolve). */
    vhosts: Array<LbVhost & { url: string; label: string; try?: string }>;
    rejected: string[];
    note?: string;
  };
}

/** `port 0 "http"` or `port 1`: an app port as its definition names it. */
export function portLabel(app: Pick<App, 'portDefinitions'>, index: number): string {
  const name = app.portDefinitions?.[index]?.name;
  return `port ${index}${name === undefined || name === '' ? '' : ` "${name}"`}`;
}

/** The app port an SRV record's port is, from the instances' host ports. */
function portIndexOf(app: Pick<App, 'tasks'>, port: number): number | undefined {
  for (const task of app.tasks ?? []) {
    const index = task.ports.indexOf(port);
    if (index >= 0) return index;
  }
  return undefined;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The Reach tab's rows: DNS names grouped per name (agent names apart), LB ports and vhosts labelled by app port. */
export function reachView(app: Pick<App, 'portDefinitions' | 'tasks'>, answer: ReachAnswer): ReachView {
  const { dns, lb } = answer;
  let dnsView: ReachView['dns'];
  if (!dns.configured) dnsView = { state: 'off', text: 'No DNS API is configured (the scheduler\'s --dns-api).' };
  else if (dns.error !== undefined) dnsView = { state: 'error', text: dns.error };
  else {
    const rows = new Map<string, NameRow>();
    for (const record of dns.records ?? []) {
      const key = `${record.type === 'SRV' ? 'S' : 'A'} ${record.name}`;
      const value = record.type === 'SRV' ? `${(record.target ?? '').replace(/\.$/, '')}:${record.port ?? ''}` : (record.address ?? '');
      const row = rows.get(key) ?? { name: record.name, values: [], agent: /\.slave\./.test(record.name) };
      row.values.push(value);
      if (record.type === 'SRV' && row.port === undefined && record.port !== undefined) {
        const index = portIndexOf(app, record.port);
        if (index !== undefined) row.port = portLabel(app, index);
      }
      rows.set(key, row);
    }
    const all = [...rows.entries()].map(([key, row]) => ({ key, row: { ...row, values: [...row.values].sort() } }));
    const pick = (kind: string): NameRow[] => all.filter((e) => e.key.startsWith(kind)).map((e) => e.row).sort((a, b) => Number(a.agent) - Number(b.agent) || byName(a, b));
    const skipped = dns.skipped ?? [];
    const note = (dns.records ?? []).length === 0 ? 'No records: no instance is running (records appear for running instances).'
      : skipped.length > 0 ? `${skipped.length} instance(s) got no records: ${skipped.map((s) => `${s.taskId} (${s.reason})`).join('; ')}` : undefined;
    dnsView = { state: 'ok', addresses: pick('A'), services: pick('S'), ...(note === undefined ? {} : { note }) };
  }
  let lbView: ReachView['lb'];
  if (!lb.configured) lbView = { state: 'off', text: 'No LB API is configured (the scheduler\'s --lb-api).' };
  else if (lb.error !== undefined) lbView = { state: 'error', text: lb.error };
  else {
    const http = lb.listening?.http;
    // Service ports listen on the LB's address (its HTTP port's host), unless the port names its own.
    const lbHost = http === undefined ? 'the LB' : http.replace(/:\d+$/, '');
    const ports = (lb.servicePorts ?? []).map((p) => ({ ...p, label: portLabel(app, p.portIndex), address: `${p.bindAddr ?? lbHost}:${p.servicePort}` }));
    const vhosts = (lb.vhosts ?? []).map((v) => ({
      ...v,
      url: `${v.host}${v.path ?? ''}`,
      label: portLabel(app, v.portIndex),
      ...(http === undefined ? {} : { try: `curl -H 'Host: ${v.host}' http://${http}${v.path ?? '/'}` }),
    }));
    const rejected = (lb.rejected ?? []).map((r) => `${portLabel(app, r.portIndex)}: ${r.reason}`);
    const note = ports.length === 0 && rejected.length === 0 ? 'The LB routes none of its ports (HAPROXY_GROUP and HAPROXY_{n}_VHOST labels choose them).' : undefined;
    lbView = { state: 'ok', ports, vhosts, rejected, ...(note === undefined ? {} : { note }) };
  }
  return { dns: dnsView, lb: lbView };
}
