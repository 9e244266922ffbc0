import { serviceTokenFile } from '../auth/secret-files.ts';
import { byteSize, duration, flag, integer, ipAddress, list, logLevel, masterUrls, optional, parseConfig, port, positiveInteger } from '../shared/config.ts';
import { commandDefaults, toFlagName, type Settings } from '../shared/settings.ts';
import { caFile, plainMasterProblems, tlsCertFile, tlsKeyFile, tlsPairProblems } from '../shared/tls.ts';

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
  /** `--stats-bind`: the stats port's own address (a private one on an edge LB); `bind` when not given. */
  readonly statsBind: string;
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
  /** `--token-file`: the read-only token the followers present to a scheduler with `--auth` (read at start). */
  readonly tokenFile?: string;
  /** `--tls-cert`/`--tls-key`: the stats port is HTTPS (both or neither). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** `--ca`: the certificates trusted for the (then https) scheduler URLs; workers read the file too. */
  readonly ca?: string;
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

/** More processes than this only compete for the same cores. */
export const MAX_WORKERS = 64;
/** How long a burst of events is coalesced before the table is rebuilt. */
const DEBOUNCE_MS = 5;

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseLbConfig(settings: Settings): LbConfig {
  const parsed = parseConfig(settings, {
    masters: ['master', masterUrls],
    bind: ipAddress,
    httpPort: port,
    httpsPort: port,
    appIdPort: port,
    statsPort: port,
    statsBind: optional(ipAddress),
    sslCerts: list(),
    strictMode: flag,
    maxHeaderBytes: byteSize(1024),
    maxHeaders: positiveInteger,
    headersTimeoutMs: ['headerTimeout', duration(1)],
    requestTimeoutMs: ['requestTimeout', duration(1)],
    idleTimeoutMs: ['idleTimeout', duration(1)],
    groups: ['group', list('group (or * for all)')],
    httpHttps: flag,
    logLevel,
    workers: integer(0, MAX_WORKERS),
    tokenFile: optional<string>(serviceTokenFile),
    tlsCert: tlsCertFile,
    tlsKey: tlsKeyFile,
    ca: caFile,
  }, { defaults: commandDefaults('lb'), check: (config) => [...clashes(config), ...tlsPairProblems(config), ...plainMasterProblems(config)] });
  const { maxHeaderBytes, maxHeaders, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs, tokenFile, tlsCert, tlsKey, ca, statsBind, ...rest } = parsed;
  return Object.freeze({
    ...rest,
    statsBind: statsBind ?? rest.bind,
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    ...(tlsCert !== undefined ? { tlsCert, tlsKey } : {}),
    ...(ca !== undefined ? { ca } : {}),
    limits: Object.freeze({ maxHeaderBytes, maxHeaders, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs }),
    debounceMs: DEBOUNCE_MS,
  });
}

type Parsed = { readonly bind: string; readonly statsBind: string | undefined; readonly httpHttps: boolean; readonly httpPort: number; readonly httpsPort: number; readonly appIdPort: number; readonly statsPort: number; readonly headersTimeoutMs: number; readonly requestTimeoutMs: number };

function clashes(config: Parsed): [key: string, message: string][] {
  const found: [string, string][] = [];
  if (config.httpHttps) {
    const shared: [string, number][] = [['httpPort', config.httpPort], ['httpsPort', config.httpsPort], ['appIdPort', config.appIdPort]];
    // On an address of its own the stats port may share a number with the public ports.
    if ((config.statsBind ?? config.bind) === config.bind) shared.push(['statsPort', config.statsPort]);
    for (const [i, [key, value]] of shared.entries()) {
      const clash = shared.slice(i + 1).find(([, other]) => other === value && value !== 0);
      if (clash) found.push([key, `${value} is also ${toFlagName(clash[0])}`]);
    }
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) found.push(['headerTimeout', 'must not be longer than --request-timeout']);
  return found;
}
