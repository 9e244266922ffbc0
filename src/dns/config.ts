import { serviceTokenFile } from '../auth/secret-files.ts';
import type { HostPort } from '../shared/address.ts';
import { parseHostPort } from '../shared/address.ts';
import { flag, hostPort, integer, logLevel, masterUrls, optional, parseConfig, text, type FieldParser } from '../shared/config.ts';
import { commandDefaults, type Settings } from '../shared/settings.ts';
import { caFile, plainMasterProblems, tlsCertFile, tlsKeyFile, tlsPairProblems } from '../shared/tls.ts';
import { parseIpSources, type IpSource } from './core/ip-sources.ts';

/** `corral dns` settings, validated once at start-up, then frozen. */
export interface DnsConfig {
  readonly masters: readonly string[];
  readonly listen: HostPort;
  readonly http: HostPort;
  /** Lower-case, no trailing dot. */
  readonly domain: string;
  /** Upstream resolvers as host:port (port 53 when omitted); empty turns forwarding off. */
  readonly resolvers: readonly HostPort[];
  readonly ttl: number;
  /** Task labels as RFC 952 hostnames (no leading digits, 24 characters), as Mesos-DNS' `--enforce-rfc952`. */
  readonly enforceRfc952: boolean;
  /** Per upstream resolver, before the next one is tried. */
  readonly forwardTimeoutMs: number;
  /** Extra processes answering from the same UDP socket (0: the main process alone). */
  readonly udpWorkers: number;
  readonly logLevel: string;
  /** `--token-file`: the read-only token the followers present to a scheduler with `--auth` (read at start). */
  readonly tokenFile?: string;
  /** `--tls-cert`/`--tls-key`: the HTTP API is HTTPS (both or neither). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** `--ca`: the certificates trusted for the (then https) scheduler URLs; the UDP helpers read the file too. */
  readonly ca?: string;
  /** `--ip-sources`: where instance addresses come from, first populated first; absent = Mesos-DNS' default order. */
  readonly ipSources?: readonly IpSource[];
}

const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 2181 §8 caps TTLs at 2^31 - 1; a week is plenty for records that change by the second. */
const MAX_TTL = 604_800;
const MAX_UDP_WORKERS = 16;

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseDnsConfig(settings: Settings): DnsConfig {
  const { tokenFile, tlsCert, tlsKey, ca, ipSources, ...config } = parseConfig(settings, {
    masters: ['master', masterUrls],
    listen: hostPort,
    http: hostPort,
    domain,
    resolvers,
    ttl,
    enforceRfc952: flag,
    forwardTimeoutMs: ['forwardTimeout', integer(1, 60_000)],
    udpWorkers: integer(0, MAX_UDP_WORKERS),
    logLevel,
    tokenFile: optional(serviceTokenFile),
    tlsCert: tlsCertFile,
    tlsKey: tlsKeyFile,
    ca: caFile,
    ipSources: optional((raw) => parseIpSources(text(raw))),
  }, { defaults: commandDefaults('dns'), check: (parsed) => [...tlsPairProblems(parsed), ...plainMasterProblems(parsed)] });
  return Object.freeze({ ...config, ...(tokenFile !== undefined ? { tokenFile } : {}), ...(tlsCert !== undefined ? { tlsCert, tlsKey } : {}), ...(ca !== undefined ? { ca } : {}), ...(ipSources !== undefined ? { ipSources: Object.freeze(ipSources) } : {}) });
}

const domain: FieldParser<string> = (raw) => {
  const value = text(raw);
  const name = value.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (name === '' || name.length > 253 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    throw new Error(`'${value}' is not a valid domain name (letters, digits and '-' in dot-separated labels)`);
  }
  return name;
};

const resolvers: FieldParser<HostPort[]> = (raw) =>
  text(raw)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => (/^\[.*\]:\d+$|^[^:]+:\d+$/.test(part) ? parseHostPort(part) : { host: part.replace(/^\[|\]$/g, ''), port: 53 }));

const ttl: FieldParser<number> = (raw) => {
  const value = text(raw);
  const seconds = Number(value);
  if (value === '' || !Number.isInteger(seconds) || seconds < 0 || seconds > MAX_TTL) {
    throw new Error(`expected whole seconds between 0 and ${MAX_TTL}, got '${value}'`);
  }
  return seconds;
};
