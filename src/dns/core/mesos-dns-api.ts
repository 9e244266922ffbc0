import type { HostPort } from '../../shared/address.ts';
import { DEFAULT_IP_SOURCES, type IpSource } from './ip-sources.ts';
import type { RecordTable } from './record-types.ts';

/**
 * Bodies of Mesos-DNS' `/v1/version`, `/v1/config` and `/v1/axfr`, key for key and in its order
 * (Go serialises struct fields in declaration order), so tools written against Mesos-DNS read them.
 */

// COMPAT(mesos-dns): the service name and URL it reports; `Version` is ours (its is a build stamp).
export const MESOS_DNS_SERVICE = 'Mesos-DNS';
export const MESOS_DNS_URL = 'https://github.com/mesosphere/mesos-dns';

export function versionBody(version: string): { Service: string; URL: string; Version: string } {
  return { Service: MESOS_DNS_SERVICE, URL: MESOS_DNS_URL, Version: version };
}

/**
 * Mesos-DNS regenerates its records every `RefreshSeconds` (60 by default); Corral applies
 * events as they come, so this is only its default, kept for clients that size a poll by it.
 */
export const REFRESH_SECONDS = 60;

/** What `/v1/config` is built from: the settings that map onto Mesos-DNS' fields, and the bound addresses. */
export interface ConfigFacts {
  masters: readonly string[];
  domain: string;
  ttl: number;
  resolvers: readonly HostPort[];
  forwardTimeoutMs: number;
  enforceRfc952: boolean;
  ca: string | undefined;
  dns: HostPort;
  http: HostPort;
  /** `--ip-sources`; absent = Mesos-DNS' default order. */
  ipSources?: readonly IpSource[];
}

/** Mesos-DNS' `records.Config` as it serialises it; settings Corral lacks hold Mesos-DNS' defaults or zero values. */
export function configBody(facts: ConfigFacts, table: RecordTable): Record<string, unknown> {
  const forwarding = facts.resolvers.length > 0;
  return {
    RefreshSeconds: REFRESH_SECONDS,
    Port: facts.dns.port,
    // Whole seconds in Mesos-DNS; rounded up so a short timeout never reads as 0 (none).
    Timeout: Math.ceil(facts.forwardTimeoutMs / 1000),
    StateTimeoutSeconds: 300,
    ZkDetectionTimeout: 30,
    HttpPort: facts.http.port,
    TTL: facts.ttl,
    SRVRecordDefaultWeight: 1,
    SOASerial: table.soa.serial,
    SOARefresh: table.soa.refresh,
    SOARetry: table.soa.retry,
    SOAExpire: table.soa.expire,
    SOAMinttl: table.soa.minimum,
    SOAMname: table.soa.mname,
    SOARname: table.soa.rname,
    Masters: facts.masters.map(masterHostPort),
    ZoneResolvers: {},
    Resolvers: facts.resolvers.map((r) => (r.port === 53 ? r.host : r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`)),
    IPSources: facts.ipSources ?? DEFAULT_IP_SOURCES,
    Zk: '',
    Domain: facts.domain,
    File: '',
    Listener: facts.dns.host,
    HTTPListener: facts.http.host,
    RecurseOn: forwarding,
    DnsOn: true,
    HttpOn: true,
    ExternalOn: forwarding,
    EnforceRFC952: facts.enforceRfc952,
    SetTruncateBit: true,
    EnumerationOn: true,
    MesosHTTPSOn: facts.masters.some((m) => m.startsWith('https:')),
    CACertFile: facts.ca ?? '',
    CertFile: '',
    KeyFile: '',
    // Corral's followers authenticate with a bearer token file, not Mesos credentials: never shown here.
    MesosCredentials: { Principal: '', Secret: '' },
    IAMConfigFile: '',
    MesosAuthentication: '',
  };
}

/** `http://host:port/` → `host:port` (Mesos-DNS lists masters as `ip:port`). */
function masterHostPort(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Mesos-DNS' `/v1/axfr`: owner name (fully qualified) → values, per type; SRV values are `target:port`. */
export interface AxfrBody {
  TTL: number;
  Serial: number;
  RefreshSeconds: number;
  Mname: string;
  Rname: string;
  Domain: string;
  Records: { As: Record<string, string[]>; AAAAs: Record<string, string[]>; SRVs: Record<string, string[]> };
}

/** The zone's A, AAAA and SRV records (SOA, NS and PTR are not in Mesos-DNS' transfer). */
export function axfrBody(table: RecordTable): AxfrBody {
  const As: Record<string, string[]> = {};
  const AAAAs: Record<string, string[]> = {};
  const SRVs: Record<string, string[]> = {};
  const suffix = `.${table.domain}`;
  for (const [name, records] of table.names) {
    if (name !== table.domain && !name.endsWith(suffix)) continue;
    const owner = `${name}.`;
    if (records.A !== undefined && records.A.length > 0) As[owner] = unique(records.A.map((r) => r.address));
    if (records.AAAA !== undefined && records.AAAA.length > 0) AAAAs[owner] = unique(records.AAAA.map((r) => r.address));
    if (records.SRV !== undefined && records.SRV.length > 0) SRVs[owner] = unique(records.SRV.map((r) => `${r.target}:${r.port}`));
  }
  return {
    TTL: table.ttl,
    Serial: table.soa.serial,
    RefreshSeconds: REFRESH_SECONDS,
    Mname: table.soa.mname,
    Rname: table.soa.rname,
    Domain: table.domain,
    Records: { As, AAAAs, SRVs },
  };
}

const unique = (values: string[]): string[] => [...new Set(values)];
