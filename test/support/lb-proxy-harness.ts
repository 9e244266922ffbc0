import type { ClientLimits } from '../../src/lb/config.ts';
import { Balancer } from '../../src/lb/core/balancer.ts';
import { findAppIdPool, findVhostPool } from '../../src/lb/core/route-lookup.ts';
import { EMPTY_ROUTING_TABLE, buildRoutingTable, certificatesOf, type RoutingOptions, type RoutingTable } from '../../src/lb/core/routing-table.ts';
import { CertificateStore } from '../../src/lb/proxy/certificates.ts';
import { HttpForwarder } from '../../src/lb/proxy/http-forwarder.ts';
import { RoutedListener } from '../../src/lb/proxy/routed-listener.ts';
import { ServicePortListeners } from '../../src/lb/proxy/service-port-listeners.ts';
import { RouteStats } from '../../src/lb/stats/route-stats.ts';
import type { ClusterView } from '../../src/events/core/view.ts';
import { createLogger } from '../../src/shared/log.ts';

export const TEST_LIMITS: ClientLimits = { maxHeaderBytes: 8192, maxHeaders: 50, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000 };

/**
 * The proxy parts of `corral lb` on 127.0.0.1 ephemeral ports (shared HTTP, HTTPS, app-id, and
 * service-port listeners), fed tables the test builds from hand-made views. No scheduler.
 */
export class ProxyHarness {
  readonly stats = new RouteStats();
  readonly balancer: Balancer;
  readonly certificates = new CertificateStore();
  readonly forwarder: HttpForwarder;
  readonly servicePorts: ServicePortListeners;
  readonly tables: { current: RoutingTable } = { current: EMPTY_ROUTING_TABLE };
  readonly #listeners: RoutedListener[];
  readonly #reserved = new Set<number>();
  ports = { http: 0, https: 0, appId: 0 };

  constructor(limits: ClientLimits = TEST_LIMITS, balancer = new Balancer({ random: Math.random }), defaultCert?: string) {
    const logger = createLogger('lb-test', 'silent');
    this.balancer = balancer;
    this.forwarder = new HttpForwarder({ balancer, stats: this.stats, logger });
    const shared = { bind: '127.0.0.1', port: 0, tables: this.tables, forwarder: this.forwarder, stats: this.stats, logger, limits };
    const vhost = (table: RoutingTable, req: { headers: { host?: string }; url?: string }) => findVhostPool(table, req.headers.host, req.url);
    const why = () => `no route for host`;
    if (defaultCert !== undefined) this.certificates.refresh([defaultCert]);
    const pem = defaultCert === undefined ? undefined : this.certificates.pem(defaultCert);
    this.#listeners = [
      new RoutedListener({ ...shared, route: vhost, why: (req) => `no route for host '${req.headers.host ?? ''}'` }),
      new RoutedListener({
        ...shared,
        route: vhost,
        why,
        tls: {
          ...(pem ? { cert: pem, key: pem } : {}),
          SNICallback: (name, callback) => {
            const path = this.tables.current.sniCerts[name];
            callback(null, path === undefined ? undefined : this.certificates.context(path));
          },
        },
      }),
      new RoutedListener({ ...shared, route: (table, req) => findAppIdPool(table, req.headers['x-marathon-app-id']), why }),
    ];
    this.servicePorts = new ServicePortListeners({
      bind: '127.0.0.1', tables: this.tables, forwarder: this.forwarder, balancer, stats: this.stats, logger, limits, certificates: this.certificates, reservedPorts: this.#reserved,
    });
  }

  async start(): Promise<this> {
    const [http, https, appId] = await Promise.all(this.#listeners.map((l) => l.listen()));
    this.ports = { http: http ?? 0, https: https ?? 0, appId: appId ?? 0 };
    for (const port of Object.values(this.ports)) this.#reserved.add(port);
    return this;
  }

  /** Builds the table for `view` (certificates loaded as the LB does) and opens/closes service ports. */
  async route(view: ClusterView, options: RoutingOptions = { groups: ['g'] }): Promise<RoutingTable> {
    let table = buildRoutingTable(view, options);
    const bad = this.certificates.refresh(certificatesOf(table));
    if (bad.size > 0) table = buildRoutingTable(view, { ...options, badCertificates: bad });
    this.tables.current = table;
    await this.servicePorts.reconcile(table);
    return table;
  }

  async close(): Promise<void> {
    await this.servicePorts.close();
    await Promise.all(this.#listeners.map((l) => l.close()));
    await this.forwarder.close();
  }
}
