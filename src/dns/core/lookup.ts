import { normalizeQueryName } from './query-name.ts';
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

/** SRV records of a name joined with their targets' addresses; SERVICE_MISS when there are none. */
export function lookupServices(table: RecordTable, service: string): readonly ServiceEntry[] {
  const name = normalizeQueryName(service);
  const rows: ServiceEntry[] = [];
  for (const srv of table.names.get(name)?.SRV ?? []) {
    const target = table.names.get(normalizeQueryName(srv.target));
    for (const address of [...(target?.A ?? []), ...(target?.AAAA ?? [])]) {
      rows.push({ service: `${name}.`, host: srv.target, ip: address.address, port: String(srv.port) });
    }
  }
  return rows.length > 0 ? rows : SERVICE_MISS;
}
