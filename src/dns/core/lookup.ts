import { marathonTaskName } from '../../shared/marathon-names.ts';
import { normalizeQueryName } from './query-name.ts';
import { instanceRecords, MARATHON } from './records.ts';
import type { RecordTable } from './record-types.ts';

/** `/v1/hosts/{host}` rows (Mesos-DNS shape). */
export interface HostEntry {
  host: string;
  ip: string;
}

/** `/v1/services/{service}` rows (Mesos-DNS shape: the port is a string). */
export interface ServiceEntry {
  service: string;
  host: string;
  ip: string;
  port: string;
}

// COMPAT(mesos-dns): a miss is one row of empty strings, not an empty list or a 404.
export const HOST_MISS: readonly HostEntry[] = Object.freeze([Object.freeze({ host: '', ip: '' })]);
export const SERVICE_MISS: readonly ServiceEntry[] = Object.freeze([Object.freeze({ service: '', host: '', ip: '', port: '' })]);

/** A and AAAA records of a name, as `[{host: "<name>.", ip}]`; HOST_MISS when there are none. */
export function lookupHosts(table: RecordTable, host: string): readonly HostEntry[] {
  const name = normalizeQueryName(host);
  const entry = table.names.get(name);
  const rows = [...(entry?.A ?? []), ...(entry?.AAAA ?? [])].map((record) => ({ host: `${name}.`, ip: record.address }));
  return rows.length > 0 ? rows : HOST_MISS;
}

/**
 * SRV records of a name joined with their targets' addresses; SERVICE_MISS when there are none.
 * COMPAT(mesos-dns): `service` echoes the name as asked (its case, with or without the trailing dot).
 */
export function lookupServices(table: RecordTable, service: string): readonly ServiceEntry[] {
  const name = normalizeQueryName(service);
  const rows: ServiceEntry[] = [];
  for (const srv of table.names.get(name)?.SRV ?? []) {
    const target = table.names.get(normalizeQueryName(srv.target));
    for (const address of [...(target?.A ?? []), ...(target?.AAAA ?? [])]) {
      rows.push({ service, host: srv.target, ip: address.address, port: String(srv.port) });
    }
  }
  return rows.length > 0 ? rows : SERVICE_MISS;
}

/** `/v1/enumerate` (Mesos-DNS shape): every served task with the records it gave rise to. */
export interface Enumeration {
  frameworks: { name: string; tasks: EnumeratedTask[] }[];
}

export interface EnumeratedTask {
  /** Marathon's task name (`api.backend.prod`). */
  name: string;
  id: string;
  records: { name: string; host: string; rtype: 'A' | 'AAAA' | 'SRV' }[];
}

/**
 * COMPAT(mesos-dns): a record shared by several tasks (the app's A record when two instances share
 * an agent) is listed once, under the first task that gave rise to it, as Mesos-DNS does.
 */
export function enumerate(table: RecordTable): Enumeration {
  const tasks: EnumeratedTask[] = [];
  const listed = new Set<string>();
  const list = (records: EnumeratedTask['records'], row: EnumeratedTask['records'][number]): void => {
    const key = `${row.rtype} ${row.name} ${row.host}`;
    if (listed.has(key)) return;
    listed.add(key);
    records.push(row);
  };
  for (const { app, tasks: served } of table.apps.values()) {
    for (const task of served) {
      const records: EnumeratedTask['records'] = [];
      instanceRecords(
        {
          add: (record) => {
            // COMPAT(mesos-dns): SRV rows carry `target:port` as the host; PTR is ours, not listed.
            if (record.type === 'A' || record.type === 'AAAA') list(records, { name: `${record.name}.`, host: record.address, rtype: record.type });
            else if (record.type === 'SRV') list(records, { name: `${record.name}.`, host: `${record.target}:${record.port}`, rtype: 'SRV' });
          },
        },
        app,
        task,
        table,
      );
      tasks.push({ name: marathonTaskName(app.id), id: task.id, records });
    }
  }
  return { frameworks: [{ name: MARATHON, tasks }] };
}

/** One record of an app's instances, as `/corral/v1/apps/{appId}` lists it. */
export type AppRecord =
  | { name: string; type: 'A' | 'AAAA'; address: string }
  | { name: string; type: 'SRV'; target: string; port: number };

/** `/corral/v1/apps/{appId}`: what the DNS serves for one app (the web UI's "How to reach it"). */
export interface AppRecords {
  appId: string;
  domain: string;
  /** Instances that gave rise to records (running, not being killed). */
  instances: number;
  records: AppRecord[];
  /** Instances serving but given no records, and why. */
  skipped: { taskId: string; reason: string }[];
}

/**
 * The A, AAAA and SRV records an app's instances give rise to (PTRs left out), each once, sorted
 * by name then value; names carry no trailing dot. An app that is unknown or has no instance
 * serving has none.
 */
export function appRecords(table: RecordTable, appId: string): AppRecords {
  const served = table.apps.get(appId);
  const records = new Map<string, AppRecord>();
  const skipped: AppRecords['skipped'] = [];
  for (const task of served?.tasks ?? []) {
    const reason = served === undefined ? undefined : instanceRecords(
      {
        add: (record) => {
          if (record.type === 'A' || record.type === 'AAAA') records.set(`${record.name} ${record.type} ${record.address}`, { name: record.name, type: record.type, address: record.address });
          else if (record.type === 'SRV') records.set(`${record.name} SRV ${record.target}:${record.port}`, { name: record.name, type: 'SRV', target: record.target, port: record.port });
        },
      },
      served.app,
      task,
      table,
    );
    if (reason !== undefined) skipped.push({ taskId: task.id, reason });
  }
  const sorted = [...records.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, record]) => record);
  return { appId, domain: table.domain, instances: served?.tasks.length ?? 0, records: sorted, skipped };
}
