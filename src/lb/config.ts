import { isIP } from 'node:net';
import type { Settings } from '../shared/settings.ts';
import { LbConfigError } from './errors.ts';

/** `corral lb` settings, validated once at start-up and frozen. */
export interface LbConfig {
  readonly masters: readonly string[];
  /** Address every listener binds. */
  readonly bind: string;
  /** Shared vhost port; 0 = an ephemeral port. Unused when `httpHttps` is false. */
  readonly httpPort: number;
  /** Validated now, opened once TLS lands. */
  readonly httpsPort: number;
  readonly statsPort: number;
  /** `*` = every group. */
  readonly groups: readonly string[];
  /** False for an east-west LB that serves service ports only. */
  readonly httpHttps: boolean;
  readonly logLevel: string;
  /** How long a burst of events is coalesced before the table is rebuilt. */
  readonly debounceMs: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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
    statsPort: port(settings, 'statsPort', '--stats-port', '9090'),
    groups,
    httpHttps: bool(settings, 'httpHttps', '--http-https', true),
    logLevel,
    debounceMs: 5,
  };
  if (config.httpHttps && config.httpPort !== 0 && config.httpPort === config.statsPort) {
    throw new LbConfigError(`--http-port and --stats-port are both ${config.httpPort}`);
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
