import type { BackendPool, RoutingTable } from '../../core/routing-table.ts';

/** What the CSV needs to know about one backend beyond the table. */
export interface BackendState {
  /** Requests or connections in progress. */
  readonly active: number;
  readonly ejected: boolean;
  /** Requests or connections it was given so far (HAProxy's `stot` and `lbtot` of a server). */
  readonly total: number;
}

/** What one pool's frontend and backend did, as the proxy counted it. */
export interface PoolTraffic {
  /** Requests (http) or connections (tcp) handed to a backend. */
  readonly requests: number;
  /** Of those, during the last whole second, and during the busiest second so far. */
  readonly lastSecond: number;
  readonly busiestSecond: number;
  /** HTTP answers by class: 1xx, 2xx, 3xx, 4xx, 5xx, other. */
  readonly responses: readonly number[];
  /** Refused by the pool's network ACL or Basic auth. */
  readonly denied: number;
  /** Refused because no instance was serving (503). */
  readonly noBackend: number;
  /** Requests or connections no backend took. */
  readonly upstreamErrors: number;
}

/** A routing table, the state of its backends by `host:port` and its pools' traffic by pool id: what the CSV is made of. */
export interface TableBackends {
  readonly table: RoutingTable;
  readonly backends: Readonly<Record<string, BackendState>>;
  readonly pools: Readonly<Record<string, PoolTraffic>>;
}

const IDLE: BackendState = { active: 0, ejected: false, total: 0 };
const QUIET: PoolTraffic = { requests: 0, lastSecond: 0, busiestSecond: 0, responses: [0, 0, 0, 0, 0, 0], denied: 0, noBackend: 0, upstreamErrors: 0 };

/**
 * HAProxy 2.x's stats columns in its order (management guide, "CSV format"), up to the last one
 * its core prints; tools index them by name from this header line (zdd.py makes a namedtuple of
 * it, so every name must be an identifier).
 */
export const HAPROXY_COLUMNS = Object.freeze(
  ('pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,' +
    'lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,' +
    'hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,' +
    'comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,' +
    'check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,' +
    'intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,' +
    'idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_check_status').split(','),
);

/** HAProxy's `type` column. */
const FRONTEND = 0;
const BACKEND = 1;
const SERVER = 2;

type Row = Partial<Record<(typeof HAPROXY_COLUMNS)[number], string | number>>;

/**
 * COMPAT(marathon-lb): `/haproxy?stats;csv` as HAProxy prints it, for the tools that read it.
 * marathon-lb gives each app port a frontend and a backend of one name, `<app id with _>_<service
 * port>`, and names servers `<host with _>_<port>`; so here each pool is a FRONTEND row (what
 * marathon-lb-autoscale reads: `rate` + `qcur`), a row per server (what zdd.py reads: `status`
 * UP or MAINT, `scur` + `qcur` to know a drain is done) and a BACKEND row. Statuses as HAProxy's:
 * a server of a port without a health check is `no check`, one draining `MAINT`, one passive
 * health ejected `DOWN`. Nothing is ever queued (`qcur` 0); counters HAProxy keeps and the proxy
 * does not are left empty, as HAProxy leaves the columns that do not apply to a row.
 */
export function haproxyStatsCsv({ table, backends, pools }: TableBackends): string {
  const lines = [`# ${HAPROXY_COLUMNS.join(',')},`];
  const line = (row: Row): string => `${HAPROXY_COLUMNS.map((c) => String(row[c] ?? '')).join(',')},`;
  let iid = 1;
  for (const pool of Object.values(table.servicePorts).sort((a, b) => a.servicePort - b.servicePort)) {
    const pxname = `${pool.appId.replace(/^\//, '').replaceAll('/', '_')}_${pool.servicePort}`;
    const traffic = pools[pool.id] ?? QUIET;
    const http = pool.mode === 'http';
    const servers = [...pool.backends.map((b) => ({ b, draining: false })), ...pool.draining.map((b) => ({ b, draining: true }))]
      .map(({ b, draining }) => ({ b, draining, state: backends[`${b.host}:${b.port}`] ?? IDLE }));
    const sessions = servers.reduce((sum, server) => sum + server.state.active, 0);
    const rates = { rate: traffic.lastSecond, rate_max: traffic.busiestSecond };
    const answers = http ? responseColumns(traffic) : {};
    const requestRates = http ? { req_rate: traffic.lastSecond, req_rate_max: traffic.busiestSecond, req_tot: traffic.requests } : {};

    lines.push(line({
      pxname, svname: 'FRONTEND', scur: sessions, stot: traffic.requests + traffic.denied + traffic.noBackend, dreq: traffic.denied, ereq: 0,
      status: 'OPEN', pid: 1, iid: iid++, sid: 0, type: FRONTEND, ...rates, ...answers, ...requestRates,
      mode: pool.mode, conn_rate: traffic.lastSecond, conn_rate_max: traffic.busiestSecond, conn_tot: traffic.requests + traffic.denied + traffic.noBackend,
    }));
    const backendIid = iid++;
    servers.forEach(({ b, draining, state }, i) => {
      lines.push(line({
        pxname, svname: `${b.host.replaceAll('.', '_')}_${b.port}`, qcur: 0, qmax: 0, scur: state.active, stot: state.total,
        status: serverStatus(pool, draining, state), weight: 1, act: 1, bck: 0, pid: 1, iid: backendIid, sid: i + 1, lbtot: state.total,
        type: SERVER, addr: `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`, mode: pool.mode,
      }));
    });
    lines.push(line({
      pxname, svname: 'BACKEND', qcur: 0, qmax: 0, scur: sessions, stot: traffic.requests, econ: traffic.upstreamErrors,
      status: pool.backends.length > 0 ? 'UP' : 'DOWN', weight: pool.backends.length, act: pool.backends.length, bck: 0,
      pid: 1, iid: backendIid, sid: 0, lbtot: traffic.requests, type: BACKEND, ...rates, ...answers, ...(http ? { req_tot: traffic.requests } : {}),
      mode: pool.mode, algo: pool.balance,
    }));
  }
  return `${lines.join('\n')}\n`;
}

function serverStatus(pool: BackendPool, draining: boolean, state: BackendState): string {
  if (draining) return 'MAINT';
  if (state.ejected) return 'DOWN';
  return pool.healthChecked === true ? 'UP' : 'no check';
}

function responseColumns(traffic: PoolTraffic): Row {
  const [r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0, other = 0] = traffic.responses;
  return { hrsp_1xx: r1, hrsp_2xx: r2, hrsp_3xx: r3, hrsp_4xx: r4, hrsp_5xx: r5, hrsp_other: other };
}
