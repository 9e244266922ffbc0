import type { HostPort } from '../shared/address.ts';
import { parseHostPort } from '../shared/address.ts';
import type { Settings } from '../shared/settings.ts';

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
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 2181 §8 caps TTLs at 2^31 - 1; a week is plenty for records that change by the second. */
const MAX_TTL = 604_800;
const MAX_UDP_WORKERS = 16;

/** Throws an Error naming the setting and the value it could not accept. */
export function parseDnsConfig(settings: Settings): DnsConfig {
  return Object.freeze({
    masters: Object.freeze(parseMasters(text(settings, 'master'))),
    listen: Object.freeze(hostPort(settings, 'listen')),
    http: Object.freeze(hostPort(settings, 'http')),
    domain: parseDomain(text(settings, 'domain')),
    resolvers: Object.freeze(parseResolvers(text(settings, 'resolvers', ''))),
    ttl: parseTtl(text(settings, 'ttl')),
    enforceRfc952: bool(settings, 'enforceRfc952', false),
    forwardTimeoutMs: parseTimeout(text(settings, 'forwardTimeout', '2000')),
    udpWorkers: parseWorkers(text(settings, 'udpWorkers', '0')),
    logLevel: parseLogLevel(text(settings, 'logLevel', 'info')),
  });
}

function text(settings: Settings, key: string, fallback?: string): string {
  const value = settings[key];
  if (typeof value === 'string') return value.trim();
  if (value === undefined && fallback !== undefined) return fallback;
  throw new Error(`--${flagName(key)}: expected a value, got ${JSON.stringify(value ?? null)}`);
}

function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function parseMasters(value: string): string[] {
  const masters = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (masters.length === 0) throw new Error('--master: expected at least one scheduler URL');
  return masters.map((master) => {
    let url: URL;
    try {
      url = new URL(master);
    } catch {
      throw new Error(`--master: '${master}' is not a URL (expected e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--master: '${master}' must be http:// or https://`);
    // The origin only: credentials (user:pass@) never reach logs or /v1/config.
    return url.origin;
  });
}

function hostPort(settings: Settings, key: string): HostPort {
  try {
    return parseHostPort(text(settings, key));
  } catch (err) {
    throw new Error(`--${flagName(key)}: ${(err as Error).message}`);
  }
}

function parseDomain(value: string): string {
  const domain = value.toLowerCase().replace(/\.$/, '');
  const labels = domain.split('.');
  if (domain === '' || domain.length > 253 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    throw new Error(`--domain: '${value}' is not a valid domain name (letters, digits and '-' in dot-separated labels)`);
  }
  return domain;
}

function parseResolvers(value: string): HostPort[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return /^\[.*\]:\d+$|^[^:]+:\d+$/.test(part) ? parseHostPort(part) : { host: part.replace(/^\[|\]$/g, ''), port: 53 };
      } catch (err) {
        throw new Error(`--resolvers: ${(err as Error).message}`);
      }
    });
}

function parseTtl(value: string): number {
  const ttl = Number(value);
  if (value === '' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw new Error(`--ttl: expected whole seconds between 0 and ${MAX_TTL}, got '${value}'`);
  }
  return ttl;
}

function bool(settings: Settings, key: string, fallback: boolean): boolean {
  const value = settings[key];
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  const lowered = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(lowered)) return true;
  if (['false', '0', 'no', ''].includes(lowered)) return false;
  throw new Error(`--${flagName(key)}: expected true or false, got '${value}'`);
}

function parseTimeout(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw new Error(`--forward-timeout: expected milliseconds between 1 and 60000, got '${value}'`);
  return ms;
}

function parseWorkers(value: string): number {
  const workers = Number(value);
  if (value === '' || !Number.isInteger(workers) || workers < 0 || workers > MAX_UDP_WORKERS) {
    throw new Error(`--udp-workers: expected a whole number between 0 and ${MAX_UDP_WORKERS}, got '${value}'`);
  }
  return workers;
}

function parseLogLevel(value: string): string {
  if (!LOG_LEVELS.has(value)) throw new Error(`--log-level: expected one of ${[...LOG_LEVELS].join(', ')}, got '${value}'`);
  return value;
}
