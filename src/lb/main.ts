import { join } from 'node:path';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { serverTls } from '../shared/tls.ts';
import { parseLbConfig, type LbConfig } from './config.ts';
import { defaultCertificateIfPossible, describeCertificate, privateCertificateDir } from './default-certificate.ts';
import { explainBind, startLbInstance, type InstanceHealth, type InstanceStats, type SharedAddresses } from './lb-instance.ts';
import { mergeBackends, mergeHealth, mergeMetrics, mergeStats } from './stats/cluster-stats.ts';
import { haproxyStatsCsv, type TableBackends } from './stats/core/haproxy-csv.ts';
import { StatsServer, type StatsSources } from './stats/stats-server.ts';
import { LbWorkerPool } from './worker-pool.ts';

/** A running `corral lb`: the addresses it bound, for `corral up` and tests. */
export interface LbService extends Service {
  /** The shared ports; undefined for an east-west LB (`--no-http-https`). */
  readonly httpAddress: HostPort | undefined;
  readonly httpsAddress: HostPort | undefined;
  readonly appIdAddress: HostPort | undefined;
  readonly statsAddress: HostPort;
}

/**
 * Starts `corral lb`: binds the shared HTTP, HTTPS, app-id and stats ports, then follows the
 * cluster and swaps in a new routing table (and opens/closes service-port listeners) on each
 * change. With `--workers N`, N worker processes do all of that but the stats port, which this
 * process keeps. Logs one `ready` line with the bound addresses once listening.
 */
export async function startLb(settings: Settings): Promise<LbService> {
  const parsed = parseLbConfig(settings);
  const logger = createLogger('lb', parsed.logLevel);
  if (!parsed.httpHttps || parsed.sslCerts.length > 0) return start(parsed, settings, logger, parsed.sslCerts[0] === undefined ? undefined : describeCertificate(parsed.sslCerts[0]));
  // No certificate given: a self-signed one, made once per user and reused (workers read the same file).
  const path = defaultCertificateIfPossible(() => join(privateCertificateDir(), 'default-cert.pem'), (message) => logger.warn(message));
  if (path === undefined) return start(parsed, settings, logger, undefined);
  const config = Object.freeze({ ...parsed, sslCerts: [path] });
  return start(config, { ...settings, sslCerts: path }, logger, `${describeCertificate(path)}; give yours with --ssl-certs`);
}

/** `defaultCertificate`: what the HTTPS port offers a client naming no known host, for the ready line. */
function start(config: LbConfig, settings: Settings, logger: Logger, defaultCertificate: string | undefined): Promise<LbService> {
  const ready: ReadyFields = defaultCertificate === undefined ? {} : { defaultCertificate };
  return config.workers > 0 ? startPrimary(config, settings, logger, ready) : startSingle(config, logger, ready);
}

async function startSingle(config: LbConfig, logger: Logger, ready: ReadyFields): Promise<LbService> {
  const instance = await startLbInstance(config, logger);
  const sources: StatsSources = {
    health: () => instance.health(),
    routes: () => instance.routes(),
    stats: () => instance.stats(),
    metrics: () => instance.metricsText(),
    haproxyCsv: () => haproxyStatsCsv(instance.backends()),
  };
  return serveStats(config, logger, sources, () => instance.bound, {
    start: (statsPort) => instance.follow([statsPort]),
    close: () => instance.close(),
  }, ready);
}

async function startPrimary(config: LbConfig, settings: Settings, logger: Logger, ready: ReadyFields): Promise<LbService> {
  const workers = new LbWorkerPool({ count: config.workers, settings, logger });
  const sources: StatsSources = {
    health: async () => mergeHealth(await workers.query<InstanceHealth>('health'), workers.count),
    // Every worker follows the same stream: one answer shows the table.
    routes: async () => (await workers.query('routes'))[0]?.value ?? {},
    stats: async () => mergeStats(await workers.query<InstanceStats>('stats')),
    metrics: async () => mergeMetrics((await workers.query<MetricObjectWithValues<MetricValue<string>>[]>('metrics')).map((answer) => answer.value)),
    haproxyCsv: async () => haproxyStatsCsv(mergeBackends((await workers.query<TableBackends>('backends')).map((answer) => answer.value))),
  };
  return serveStats(config, logger, sources, () => workers.bound, {
    start: (statsPort) => workers.start([statsPort]),
    close: () => workers.close(),
  }, ready);
}

/**
 * Binds the stats port, then starts the proxying part (which must keep off the stats port), logs
 * `ready`, and closes in reverse order.
 */
async function serveStats(
  config: LbConfig,
  logger: Logger,
  sources: StatsSources,
  /** Known once the proxying part started. */
  bound: () => SharedAddresses,
  proxying: { start(statsPort: number): Promise<void> | void; close(): Promise<void> },
  ready: ReadyFields,
): Promise<LbService> {
  const statsServer = new StatsServer({ bind: config.statsBind, port: config.statsPort, logger, sources, tls: serverTls(config), listening: bound });
  const close = async (): Promise<void> => {
    for (const closer of [() => proxying.close(), () => statsServer.close()]) {
      try {
        await closer();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while closing');
      }
    }
  };
  try {
    const statsPort = await explainBind('--stats-port', config.statsBind, config.statsPort, () => statsServer.listen());
    await proxying.start(statsPort);
    const shared = bound();
    const statsAddress = { host: config.statsBind, port: statsPort };
    logReady(logger, config, shared, statsAddress, ready);
    return { httpAddress: shared.http, httpsAddress: shared.https, appIdAddress: shared.appId, statsAddress, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Said once, in the ready line, beside the bound addresses. */
type ReadyFields = Readonly<Record<string, string>>;

function logReady(logger: Logger, config: LbConfig, bound: SharedAddresses, stats: HostPort, ready: ReadyFields): void {
  const fields: Record<string, unknown> = { stats: formatHostPort(stats), groups: config.groups, masters: config.masters, ...ready };
  if (config.workers > 0) fields.workers = config.workers;
  for (const [name, address] of Object.entries(bound)) if (address) fields[name] = formatHostPort(address);
  logger.info(fields, 'ready');
}
