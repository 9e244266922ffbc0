import { isIP } from 'node:net';
import { parseDuration } from '../shared/duration.ts';
import type { Settings } from '../shared/settings.ts';
import { LbConfigError } from './errors.ts';

/** `corral lb` settings, validated once at start-up and frozen. */
export interface LbConfig {
  readonly masters: readonly string[];
  /** Address every listener binds. */
  readonly bind: string;
  /** Shared vhost port; 0 = an ephemeral port. Unused when `httpHttps` is false. */
  readonly httpPort: number;
  /** Shared HTTPS vhost port (certificate by SNI); unused when `httpHttps` is false. */
  readonly httpsPort: number;
  /** marathon-lb's `X-Marathon-App-Id` port; unused when `httpHttps` is false. */
  readonly appIdPort: number;
  readonly statsPort: number;
  /** `--ssl-certs`: PEM files (certificate + key) the HTTPS port offers by SNI, the first being the default. */
  readonly sslCerts: readonly string[];
  /** `--strict-mode`: only ports with `HAPROXY_{n}_ENABLED=true` are exposed. */
  readonly strictMode: boolean;
  readonly limits: ClientLimits;
  /** `*` = every group. */
  readonly groups: readonly string[];
  /** False for an east-west LB that serves service ports only. */
  readonly httpHttps: boolean;
  readonly logLevel: string;
  /** How long a burst of events is coalesced before the table is rebuilt. */
  readonly debounceMs: number;
  /** `--workers`: proxy processes beside a primary that keeps the stats port; 0 = one process does everything. */
  readonly workers: number;
}

/** What a client may cost the proxy before it is answered 400/408/431 and closed. */
export interface ClientLimits {
  /** Request line plus headers, in bytes (431 beyond). */
  readonly maxHeaderBytes: number;
  /** Header fields per request (431 beyond). */
  readonly maxHeaders: number;
  /** From connection (or the end of the previous request) to the last header byte (408 beyond). */
  readonly headersTimeoutMs: number;
  /** Whole request, body included (408 beyond). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** More processes than this only compete for the same cores. */
export const MAX_WORKERS = 64;

/** Reads the layered settings (see src/shared/settings.ts); throws LbConfigError naming the bad setting. */
export function parseLbConfig(settings: Settings): LbConfig {
  const masters = list(text(settings, 'master', 'http://127.0.0.1:8080'));
  if (masters.length === 0) throw new LbConfigError('--master needs at least one scheduler URL');
  for (const master of masters) {
    let url: URL;
    try {
      url = new URL(master);
    } catch {
      throw new LbConfigError(`--master: '${master}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LbConfigError(`--master: '${master}' must be http:// or https://`);
  }

  const bind = text(settings, 'bind', '127.0.0.1');
  if (isIP(bind) === 0) throw new LbConfigError(`--bind must be an IP address, got '${bind}'`);

  const groups = list(text(settings, 'group', 'external'));
  if (groups.length === 0) throw new LbConfigError('--group needs at least one group (or * for all)');

  const logLevel = text(settings, 'logLevel', 'info');
  if (!LOG_LEVELS.includes(logLevel)) throw new LbConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);

  const config: LbConfig = {
    masters,
    bind,
    httpPort: port(settings, 'httpPort', '--http-port', '80'),
    httpsPort: port(settings, 'httpsPort', '--https-port', '443'),
    appIdPort: port(settings, 'appIdPort', '--app-id-port', '9091'),
    statsPort: port(settings, 'statsPort', '--stats-port', '9090'),
    sslCerts: Object.freeze(list(text(settings, 'sslCerts', ''))),
    strictMode: bool(settings, 'strictMode', '--strict-mode', false),
    limits: Object.freeze({
      maxHeaderBytes: count(settings, 'maxHeaderBytes', '--max-header-bytes', '16384', 1024),
      maxHeaders: count(settings, 'maxHeaders', '--max-headers', '100', 1),
      headersTimeoutMs: duration(settings, 'headerTimeout', '--header-timeout', '10s'),
      requestTimeoutMs: duration(settings, 'requestTimeout', '--request-timeout', '60s'),
      idleTimeoutMs: duration(settings, 'idleTimeout', '--idle-timeout', '60s'),
    }),
    groups,
    httpHttps: bool(settings, 'httpHttps', '--http-https', true),
    logLevel,
    debounceMs: 5,
    workers: count(settings, 'workers', '--workers', '0', 0, MAX_WORKERS),
  };
  if (config.httpHttps) {
    const shared: [string, number][] = [['--http-port', config.httpPort], ['--https-port', config.httpsPort], ['--app-id-port', config.appIdPort], ['--stats-port', config.statsPort]];
    for (const [i, [flag, value]] of shared.entries()) {
      const clash = shared.slice(i + 1).find(([, other]) => other === value && value !== 0);
      if (clash) throw new LbConfigError(`${flag} and ${clash[0]} are both ${value}`);
    }
  }
  if (config.limits.headersTimeoutMs > config.limits.requestTimeoutMs) {
    throw new LbConfigError('--header-timeout must not be longer than --request-timeout');
  }
  return Object.freeze({ ...config, masters: Object.freeze([...masters]), groups: Object.freeze([...groups]) });
}

function text(settings: Settings, key: string, fallback: string): string {
  const value = settings[key];
  return value === undefined || typeof value === 'boolean' ? fallback : value.trim();
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

function port(settings: Settings, key: string, flag: string, fallback: string): number {
  const value = text(settings, key, fallback);
  const number = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(number >= 0 && number <= 65535)) throw new LbConfigError(`${flag} must be a port 0-65535 (0 = any free port), got '${value}'`);
  return number;
}

function count(settings: Settings, key: string, flag: string, fallback: string, min: number, max?: number): number {
  const value = text(settings, key, fallback);
  const number = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= (max ?? Infinity))) {
    throw new LbConfigError(`${flag} must be a whole number ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`}, got '${value}'`);
  }
  return number;
}

function duration(settings: Settings, key: string, flag: string, fallback: string): number {
  const value = text(settings, key, fallback);
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    ms = NaN;
  }
  if (!(ms >= 1)) throw new LbConfigError(`${flag} must be a duration like 10s or 500ms, got '${value}'`);
  return ms;
}

/** Flags arrive as booleans; CORRAL_* variables and config files may spell them as strings. */
function bool(settings: Settings, key: string, flag: string, fallback: boolean): boolean {
  const value = settings[key];
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  const lowered = value.trim().toLowerCase();
  if (lowered === 'true' || lowered === '1' || lowered === 'yes') return true;
  if (lowered === 'false' || lowered === '0' || lowered === 'no') return false;
  throw new LbConfigError(`${flag} must be true or false, got '${value}'`);
}
