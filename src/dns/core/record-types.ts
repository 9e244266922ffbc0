import type { DiscoveryApp, DiscoveryTask } from '../../events/types.ts';
import type { IpSource } from './ip-sources.ts';

/**
 * The records Corral's DNS serves, as plain frozen data. Owner names are lower-case and carry
 * no trailing dot; names inside rdata (targets, SOA names) are fully qualified with one.
 */

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'SOA' | 'NS' | 'PTR';

interface RecordBase {
  readonly name: string;
  readonly ttl: number;
}

export interface ARecord extends RecordBase {
  readonly type: 'A';
  readonly address: string;
}

export interface AaaaRecord extends RecordBase {
  readonly type: 'AAAA';
  readonly address: string;
}

export interface SrvRecord extends RecordBase {
  readonly type: 'SRV';
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface SoaRecord extends RecordBase {
  readonly type: 'SOA';
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  /** Also the negative-caching TTL (RFC 2308). */
  readonly minimum: number;
}

export interface NsRecord extends RecordBase {
  readonly type: 'NS';
  readonly host: string;
}

/** Reverse lookups of instance IPs (`11.0.0.127.in-addr.arpa`): beyond Mesos-DNS. */
export interface PtrRecord extends RecordBase {
  readonly type: 'PTR';
  readonly host: string;
}

export type DnsRecord = ARecord | AaaaRecord | SrvRecord | SoaRecord | NsRecord | PtrRecord;

/** Everything served at one name, by type. An empty object marks an empty non-terminal. */
export type NameRecords = { readonly [T in RecordType]?: readonly Extract<DnsRecord, { type: T }>[] };

/** An instance that is serving but got no records, and why (reported, never thrown). */
export interface SkippedTask {
  readonly taskId: string;
  readonly reason: string;
}

/** An app and its served instances, as the records were built from them (for `/v1/enumerate`). */
export interface ServedApp {
  readonly app: DiscoveryApp;
  readonly tasks: readonly DiscoveryTask[];
}

/** What a zone is built with (`buildRecords`, `ZoneMemo`). */
export interface RecordOptions {
  /** Lower-case, no trailing dot. */
  domain: string;
  /** TTL of every record, and the SOA minimum (negative-caching TTL). */
  ttl: number;
  /** SOA serial; the caller increases it whenever the records change. */
  serial: number;
  /** Address of `ns1.<domain>` when this server listens on a concrete IP; glue for the NS record. */
  nameserverAddress?: string;
  /** `--enforce-rfc952`: task labels without leading digits, at most 24 characters. */
  rfc952?: boolean;
  /** Schedulers as `host:port` (from `--master`), for `leader.D`/`master.D` when the view names none. */
  masters?: readonly string[];
  /** `--ip-sources`: where instance addresses come from; Mesos-DNS' default order when absent. */
  ipSources?: readonly IpSource[];
}

/**
 * One immutable generation of the zone. Readers take the reference once per query; a new view
 * produces a new table that replaces this one whole.
 */
export interface RecordTable {
  /** Lower-case, no trailing dot (`mesos`). */
  readonly domain: string;
  /** TTL of every record (also the SOA minimum). */
  readonly ttl: number;
  /** Task labels follow RFC 952 (`--enforce-rfc952`). */
  readonly rfc952: boolean;
  /** Where instance addresses came from (`--ip-sources`). */
  readonly ipSources: readonly IpSource[];
  /** False until the first snapshot: the table knows nothing and must not claim names are absent. */
  readonly synced: boolean;
  /** The cluster event the table reflects. */
  readonly eventId: number;
  readonly soa: SoaRecord;
  /** Every owner name, lower-case: the domain's names and the reverse (`in-addr.arpa`, `ip6.arpa`) ones. */
  readonly names: ReadonlyMap<string, NameRecords>;
  /** The apps served, with the instances their records came from (for `/v1/enumerate`). */
  readonly apps: ReadonlyMap<string, ServedApp>;
  readonly skipped: readonly SkippedTask[];
  /** Identifies the records apart from the SOA serial: equal digests, equal answers. */
  readonly digest: string;
}
