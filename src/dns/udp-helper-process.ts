import type dgram from 'node:dgram';
import { createLogger } from '../shared/log.ts';
import { parseDnsConfig } from './config.ts';
import { QueryCounters } from './metrics.ts';
import { createPipeline } from './pipeline.ts';
import { DnsServer } from './server.ts';
import type { HelperMessage } from './udp-helper-pool.ts';

/**
 * A UDP helper process (see UdpHelperPool): given the main process' settings and its UDP socket,
 * it follows the cluster with a table of its own and answers its share of the datagrams. It ends
 * when told (SIGTERM) or when the main process goes away (the IPC channel closes).
 */

const STATS_INTERVAL_MS = 1000;

function send(message: HelperMessage): void {
  process.send?.(message);
}

process.once('message', (message: HelperMessage, handle: unknown) => {
  if (message.type !== 'start' || handle === undefined) return;
  const config = parseDnsConfig(message.settings);
  const logger = createLogger('dns-udp-helper', config.logLevel);
  const { tables, follower, forwarder } = createPipeline(config, logger);
  const counters = new QueryCounters();
  const server = DnsServer.adoptUdp(handle as dgram.Socket, { tables, logger, counters, ...(forwarder === undefined ? {} : { forwarder }) });
  follower.start();
  const report = setInterval(() => send({ type: 'stats', queries: counters.snapshot(), forwarding: forwarder?.stats }), STATS_INTERVAL_MS);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(report);
    follower.close();
    tables.close();
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  // Ctrl-C reaches the whole process group; the main process stops too.
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  send({ type: 'ready' });
});
