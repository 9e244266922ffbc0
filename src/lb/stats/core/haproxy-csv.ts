import type { RoutingTable } from '../../core/routing-table.ts';

/** What the CSV needs to know about one backend beyond the table. */
export interface BackendState {
  /** Requests or connections in progress. */
  readonly active: number;
  readonly ejected: boolean;
}

/** A routing table and the state of its backends by `host:port`: what the CSV is made of. */
export interface TableBackends {
  readonly table: RoutingTable;
  readonly backends: Readonly<Record<string, BackendState>>;
}

const IDLE: BackendState = { active: 0, ejected: false };

// HAProxy's first 33 stats columns: tools index them by name from this header line.
const COLUMNS = 'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type'.split(',');

/**
 * COMPAT(marathon-lb): `/haproxy?stats;csv` in HAProxy's format, for tools that read it (zdd.py
 * watches `scur` of the old colour's servers to know when a drain is done). Proxies are named as
 * marathon-lb names its backends (`<app id with _>_<service port>`), servers `<host with _>_<port>`;
 * draining servers report MAINT, ejected ones DOWN. Counters HAProxy has and we do not are 0.
 */
export function haproxyStatsCsv({ table, backends }: TableBackends): string {
  const lines = [`# ${COLUMNS.join(',')},`];
  const line = (fields: Record<string, string | number>): string => `${COLUMNS.map((c) => String(fields[c] ?? '')).join(',')},`;
  for (const pool of Object.values(table.servicePorts).sort((a, b) => a.servicePort - b.servicePort)) {
    const pxname = `${pool.appId.replace(/^\//, '').replaceAll('/', '_')}_${pool.servicePort}`;
    let total = 0;
    const servers = [...pool.backends.map((b) => ({ b, draining: false })), ...pool.draining.map((b) => ({ b, draining: true }))];
    for (const { b, draining } of servers) {
      const { active, ejected } = backends[`${b.host}:${b.port}`] ?? IDLE;
      total += active;
      const status = draining ? 'MAINT' : ejected ? 'DOWN' : 'UP';
      lines.push(line({ pxname, svname: `${b.host.replaceAll('.', '_')}_${b.port}`, qcur: 0, scur: active, stot: 0, status, weight: 1, act: 1, bck: 0, type: 2 }));
    }
    lines.push(line({ pxname, svname: 'BACKEND', qcur: 0, scur: total, stot: 0, status: pool.backends.length > 0 ? 'UP' : 'DOWN', weight: pool.backends.length, act: pool.backends.length, bck: 0, type: 1 }));
  }
  return `${lines.join('\n')}\n`;
}
