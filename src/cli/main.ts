#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ConfigError } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import { commandDefaults, layerSettings, type Settings } from '../shared/settings.ts';
import { registerClientCommands } from './client/index.ts';

type Starter = (settings: Settings) => Promise<Service>;

/** Runs one part until SIGINT/SIGTERM, then closes it; the only place that exits the process. */
async function run(command: string, flags: Settings, load: () => Promise<Starter>): Promise<void> {
  const { config, ...rest } = flags;
  let settings: Settings;
  try {
    settings = layerSettings(command, commandDefaults(command), rest, process.env, typeof config === 'string' ? config : undefined);
  } catch (err) {
    // An unreadable or malformed --config file: a settings problem, said in one line.
    process.stderr.write(`corral ${command}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let running: { service: Service; logger: ReturnType<typeof createLogger> } | undefined;
  let asked: { signal: string; exitCode: number } | undefined;
  let stopping = false;
  const stop = (signal: string, exitCode = 0): void => {
    asked ??= { signal, exitCode };
    // Asked while starting: the part stops as soon as it is up (it may have children to stop).
    if (stopping || running === undefined) return;
    stopping = true;
    const { service, logger } = running;
    logger.info({ signal }, `stopping ${command}`);
    service.close().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  // Before the start: a signal between the part's 'ready' line and a later handler would end it
  // the default way, without closing it (`corral up` would leave its parts running).
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    running = { service: await (await load())(settings), logger: createLogger('cli', String(settings.logLevel)) };
  } catch (err) {
    // Bad settings go to stderr alone: with a bad --log-level no logger can be made.
    if (!(err instanceof ConfigError)) createLogger('cli', String(settings.logLevel)).fatal({ err: (err as Error).message }, `${command} failed to start`);
    process.stderr.write(`corral ${command}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { service, logger } = running;
  void service.failed?.then((reason) => {
    logger.fatal({ reason }, `${command} failed`);
    process.stderr.write(`corral ${command}: ${reason}; stopping\n`);
    stop('failure', 1);
  });
  if (asked !== undefined) stop(asked.signal, asked.exitCode);
}

const program = new Command('corral')
  .description('Run long-lived services on a pool of machines; find them by DNS; reach them through a hot-reloading proxy.')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

function subcommand(name: string, description: string, example: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--config <file>', 'JSON settings file (flags > CORRAL_<FLAG> env > this file > config/defaults.json)')
    .option('--log-level <level>', 'pino log level')
    .addHelpText('after', `\nExample:\n  ${example}\n`);
}

subcommand('scheduler', 'Own cluster state and serve the Marathon-compatible REST API and event stream', 'corral scheduler --listen 127.0.0.1:8080 --data-dir ./data/scheduler')
  .option('--listen <host:port>', 'API address (default 127.0.0.1:8080)')
  .option('--data-dir <dir>', 'where the file store keeps its log (default ./data/scheduler)')
  .addOption(new Option('--store <kind>', 'state store: file (default, in --data-dir) or etcd (see --etcd)').choices(['file', 'etcd']))
  .option('--etcd <urls>', 'with --store etcd: the etcd cluster\'s client URL(s), comma-separated (default http://127.0.0.1:2379)')
  .option('--etcd-prefix <prefix>', 'with --store etcd: the key prefix holding the state (default /corral)')
  .option('--leader-lease <duration>', 'with --store etcd: the etcd lease holding the lead, whole seconds 1s..60s; a killed leader is replaced about this long after (default 2s)')
  .option('--agent-timeout <duration>', 'mark an agent unreachable after this long without contact (default 15s)')
  .option('--agent-reregister-timeout <duration>', 'after a restart, give the agents known from before this long to register again before their tasks are unreachable (default 10m, as Mesos\' --agent_reregister_timeout)')
  .option('--registry-max-agent-age <duration>', 'remove an agent from the registry after this long unreachable (default 2w)')
  .option('--deployment-timeout <duration>', 'fail deployments still running after this long, 0 = never (default 1h)')
  .option('--max-versions <n>', 'versions kept per app, besides those a deployment or instance still uses (default 50, as Marathon\'s --zk_max_versions)')
  .option('--join-token-file <file>', 'agent admission: agents register only with this file\'s token, then use the credential they are issued (revoke with `corral agent revoke`); off when not given')
  .option('--repair', 'start even though the state log is damaged: keep the records before the damage, drop (and report) the rest; the files are copied to <data dir>/damaged-<time>/ first')
  .option('--auth', 'require a token (or Basic password) on every request except /ping and enforce grants; on first start writes an admin token to <data dir>/admin.token (mode 0600)')
  .option('--insecure', 'allow listening on a non-loopback address without --auth (anyone reaching it may run commands on every agent)')
  .option('--tls-cert <file>', 'serve the API over HTTPS with this PEM certificate (chain); needs --tls-key')
  .option('--tls-key <file>', 'the unencrypted PEM private key of --tls-cert')
  .option('--admin-token-file <file>', 'where --auth writes the admin token on first start (default <data dir>/admin.token)')
  .option('--allowed-origins <origins>', 'comma-separated origins (https://ui.example.com) whose web pages may call the API besides the scheduler\'s own; other Origins are refused')
  .option('--allowed-hosts <names>', 'comma-separated host names (.example.com: and below) the API answers to besides loopback names, IP addresses and this machine\'s name; checked by default on loopback only (DNS rebinding); * for any')
  .option('--event-callback-timeout <duration>', 'how long one POST to an event subscriber (/v2/eventSubscriptions) may take (default 10s)')
  .option('--event-callback-drop-after <duration>', 'unsubscribe an event subscriber that has failed this long, at least 5 times in a row (default 5m)')
  .option('--dns-api <url>', 'the DNS HTTP API (corral dns --http), read for the web UI\'s "How to reach it" (GET /corral/v1/reach/{app}); not shown when not given')
  .option('--lb-api <url>', 'the LB stats port (corral lb --stats-port), read for the web UI\'s "How to reach it"; not shown when not given')
  .action((flags: Settings) => run('scheduler', flags, async () => (await import('../scheduler/main.ts')).startScheduler));

subcommand('agent', 'Advertise this machine\'s resources and run tasks as process groups in sandboxes', 'corral agent --ip 127.0.0.11 --resources "cpus:2;mem:1024;ports:[31000-31999]"')
  .option('--master <urls>', 'scheduler URL(s), comma-separated (default http://127.0.0.1:8080)')
  .option('--ip <ip>', 'address tasks are reached at (default 127.0.0.1)')
  .option('--hostname <name>', 'name reported for this agent (default: the ip)')
  .option('--resources <mesos-resources>', 'e.g. "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"; what is left out is detected from the machine')
  .option('--attributes <attrs>', 'e.g. "rack:a;zone:1"')
  .option('--work-dir <dir>', 'sandboxes and agent state (default ./data/agent)')
  .option('--listen <host:port>', 'the agent\'s own HTTP endpoint: /files, /metrics, /state (default 127.0.0.1:0)')
  .option('--join-token-file <file>', 'the scheduler\'s join token (its --join-token-file): sent on the first registration; the credential it gets back is kept in <work dir>/agent-credential')
  .option('--metrics-token-file <file>', 'a long-lived token (one line, 16+ characters) that also opens /metrics, for Prometheus (its credentials_file); nothing else of the agent\'s API')
  .option('--sandbox-max-age <duration>', 'remove sandboxes of ended tasks after this long (default 7d)')
  .option('--log-max-bytes <n>', 'rotate a task\'s stdout/stderr above this size (default 10485760)')
  .option('--log-keep <n>', 'rotated copies kept per file (default 5)')
  .option('--cgroups-root <dir>', 'where cgroups are mounted (default /sys/fs/cgroup)')
  .option('--cgroups-parent <name>', 'cgroup that task cgroups are made under (default corral)')
  // Both forms, so that commander sets no default and CORRAL_CGROUPS_ENABLE_CFS / --config can decide.
  .option('--cgroups-enable-cfs', 'also hold each task to a hard CFS quota of its cpus (Mesos --cgroups_enable_cfs); without it a task gets CPU shares/weight only and may use idle cores (default)')
  .option('--no-cgroups-enable-cfs', 'CPU shares/weight only (default)')
  .option('--tls-cert <file>', 'serve the agent\'s own HTTP (/files, /metrics, /state) over HTTPS with this PEM certificate; needs --tls-key')
  .option('--tls-key <file>', 'the unencrypted PEM private key of --tls-cert')
  .option('--ca <file>', 'trust only these PEM certificates for an https:// --master (then every --master must be https)')
  .option('--default-user <user>', 'OS user of tasks whose app names no `user` (default nobody)')
  .option('--switch-user', 'run each task as its app\'s `user` (or --default-user); needs the agent to run as root (default)')
  .option('--no-switch-user', 'run every task as the agent\'s own user, whatever the app says (Mesos --switch_user=false)')
  .option('--allow-root-tasks', 'let tasks run as root (uid 0); refused otherwise')
  .option('--no-allow-root-tasks', 'refuse tasks that would run as root (default)')
  .option('--registry-auth-file <file>', 'registry credentials in Docker\'s config.json form ({"auths": {"host:port": {"auth": base64(user:password)}}}, as skopeo --authfile reads), basic or token auth; mode 0600')
  .option('--image-gc-max-size <bytes>', 'remove unused images (oldest-used first) when the image store is over this size (default 10GiB)')
  .option('--image-gc-min-age <duration>', 'never remove an image used or pulled within this time (default 1h)')
  .option('--registry-mirror <urls>', 'Docker Hub mirrors (https://host[:port], comma-separated) images are pulled from before docker.io')
  .option('--allow-privileged-containers', 'run containers whose app asks for docker.privileged (every capability); refused otherwise')
  .option('--no-allow-privileged-containers', 'refuse privileged containers (default)')
  .option('--host-volume-paths <dirs>', 'absolute directories (comma-separated) under which containers may bind-mount host paths (container.volumes hostPath); none by default')
  .option('--insecure-registry <hosts>', 'registries (host or host:port, comma-separated) images may be pulled from over plain HTTP, beside those on loopback')
  .option('--disk-watch-interval <duration>', 'how often persistent volumes\' disk usage is measured; a task past its volume\'s size fails (default 15s)')
  .option('--cni-plugin-dir <dir>', 'where the CNI plugins bridge, host-local and portmap are (default /usr/lib/cni); without them no bridge or container networks')
  .option('--bridge-subnet <cidr>', 'IPv4 subnet of this agent\'s bridge for container/bridge apps (default: a /24 in 172.18.0.0-172.31.255.0 chosen by the work dir)')
  .option('--container-networks <list>', 'named container networks this agent has, name=subnet, comma-separated (e.g. dev=10.90.0.0/24)')
  .action((flags: Settings) => run('agent', flags, async () => (await import('../agent/main.ts')).startAgent));

subcommand('dns', 'Serve Mesos-DNS compatible names for running tasks (UDP, TCP and an HTTP API)', 'corral dns --listen 127.0.0.1:8053 --domain mesos')
  .option('--master <urls>', 'scheduler URL(s), comma-separated (default http://127.0.0.1:8080)')
  .option('--listen <host:port>', 'DNS address, UDP and TCP (default 127.0.0.1:8053)')
  .option('--http <host:port>', 'HTTP API address (default 127.0.0.1:8123)')
  .option('--domain <domain>', 'authoritative domain (default mesos)')
  .option('--resolvers <ips>', 'upstream resolvers, comma-separated; empty turns forwarding off (default 127.0.0.53)')
  .option('--ttl <seconds>', 'TTL of answers in the domain (default 60)')
  .option('--forward-timeout <ms>', 'wait for each upstream resolver before trying the next (default 2000)')
  .option('--udp-workers <n>', 'extra processes answering UDP from the same socket, for more than one process can send (default 0)')
  .option('--token-file <file>', 'a scheduler with --auth: the file holding a read-only token (POST /v2/auth/tokens; needs read on /), sent as Bearer by every follower')
  // Both forms, so that commander sets no default and CORRAL_ENFORCE_RFC952 / --config can decide.
  .option('--enforce-rfc952', 'task labels as RFC 952 hostnames: no leading digits, at most 24 characters (Mesos-DNS option)')
  .option('--no-enforce-rfc952', 'task labels as RFC 1123 labels (default)')
  .option('--tls-cert <file>', 'serve the HTTP API over HTTPS with this PEM certificate; needs --tls-key')
  .option('--tls-key <file>', 'the unencrypted PEM private key of --tls-cert')
  .option('--ca <file>', 'trust only these PEM certificates for an https:// --master (then every --master must be https)')
  .option('--ip-sources <list>', 'where task addresses come from, first populated first: netinfo, mesos, docker, host (Mesos-DNS IPSources; default netinfo,mesos,host)')
  .action((flags: Settings) => run('dns', flags, async () => (await import('../dns/main.ts')).startDns));

subcommand('lb', 'Route HTTP by virtual host and proxy service ports to running tasks (marathon-lb labels)', 'corral lb --http-port 9080 --group external')
  .option('--master <urls>', 'scheduler URL(s), comma-separated (default http://127.0.0.1:8080)')
  .option('--bind <ip>', 'address every listener binds (default 127.0.0.1)')
  .option('--http-port <port>', 'shared HTTP vhost port (default 80)')
  .option('--https-port <port>', 'shared HTTPS vhost port, certificate chosen by SNI (default 443)')
  .option('--app-id-port <port>', 'routes by the X-Marathon-App-Id header (default 9091)')
  .option('--stats-port <port>', 'stats, health and metrics (default 9090)')
  .option('--stats-bind <ip>', 'address of the stats port alone, e.g. a private one on an edge LB (default: --bind)')
  .option('--group <groups>', 'HAPROXY_GROUP values served, comma-separated, * for all (default external)')
  .option('--ssl-certs <files>', 'PEM files (certificate + key) for the HTTPS port, comma-separated; the first is the default')
  .option('--strict-mode', 'expose only ports labelled HAPROXY_{n}_ENABLED=true')
  // Both forms, so that commander sets no default and CORRAL_HTTP_HTTPS / --config can decide.
  .option('--http-https', 'serve the shared HTTP, HTTPS and app-id ports (default)')
  .option('--no-http-https', 'serve only service ports (east-west LB)')
  .option('--max-header-bytes <n>', 'request line and headers larger than this get 431 (default 16384)')
  .option('--max-headers <n>', 'requests with more header fields get 431 (default 100)')
  .option('--header-timeout <duration>', 'headers not complete after this long get 408 (default 10s)')
  .option('--request-timeout <duration>', 'requests not received completely after this long get 408 (default 60s)')
  .option('--idle-timeout <duration>', 'idle keep-alive client connections are closed after this long (default 60s)')
  .option('--workers <n>', 'proxy processes sharing every listening socket, this one keeping the stats port; 0 = one process (default 0, at most 64)')
  .option('--token-file <file>', 'a scheduler with --auth: the file holding a read-only token (POST /v2/auth/tokens; needs read on /), sent as Bearer by every follower')
  .option('--tls-cert <file>', 'serve the stats port over HTTPS with this PEM certificate (the vhost HTTPS port uses --ssl-certs); needs --tls-key')
  .option('--tls-key <file>', 'the unencrypted PEM private key of --tls-cert')
  .option('--ca <file>', 'trust only these PEM certificates for an https:// --master (then every --master must be https)')
  .action((flags: Settings) => run('lb', flags, async () => (await import('../lb/main.ts')).startLb));

subcommand('up', 'Run the whole stack on loopback: scheduler, agents, dns and lb', 'corral up --agents 2')
  .option('--agents <n>', 'number of agents (default 2)')
  .option('--data-dir <dir>', 'state and logs of every part (default ./data)')
  .option('--scheduler-listen <host:port>', 'scheduler API (default 127.0.0.1:8080; port 0 = any)')
  .option('--dns-listen <host:port>', 'DNS, UDP and TCP (default 127.0.0.1:8053)')
  .option('--dns-http <host:port>', 'DNS HTTP API (default 127.0.0.1:8123)')
  .option('--dns-resolvers <ips>', 'upstream resolvers of the DNS, as corral dns --resolvers; empty turns forwarding off (default: the nameservers of /etc/resolv.conf, off when it names none)')
  .option('--lb-http-port <port>', 'LB vhost port (default 9080)')
  .option('--lb-stats-port <port>', 'LB stats port (default 9090)')
  .option('--lb-https-port <port>', 'LB HTTPS vhost port (default 9443; 0 when --lb-http-port is 0)')
  .option('--lb-app-id-port <port>', 'LB X-Marathon-App-Id port (default 9091; 0 when --lb-http-port is 0)')
  .option('--lb-workers <n>', 'proxy processes of the LB, as corral lb --workers (default 0 = one process)')
  .option('--lb-ssl-certs <files>', 'PEM files (certificate + key) for the LB\'s HTTPS port, as corral lb --ssl-certs (default: a self-signed one made once in <data dir>/lb-default-cert.pem, 0600)')
  .option('--internal-lb', 'also start an east-west LB serving the service ports of HAPROXY_GROUP=internal apps')
  .option('--agent-ports-base <port>', 'agent n offers host ports base+(n-1)*1000 .. +999 (default 31000)')
  .option('--agent-http-port-base <port>', 'agent n serves its own HTTP (/files, /state, /metrics) on 127.0.0.1:base+(n-1), as Mesos agents use 5051; 0 = ports the OS picks (default 5051)')
  .option('--cgroups-enable-cfs', 'agents also hold each task to a hard CFS quota of its cpus, as corral agent --cgroups-enable-cfs (default: shares only)')
  .option('--auth', 'the scheduler runs with --auth (default): admin token in <data dir>/admin.token (0600), DNS and LB follow with a read-only token in <data dir>/followers.token')
  .option('--no-auth', 'no authentication, for local experiments only: anyone who reaches the scheduler port may run commands on every agent')
  .option('--default-user <user>', 'OS user of tasks whose app names none, as corral agent --default-user (default nobody; run as another user than root, tasks run as that user)')
  .option('--allow-root-tasks', 'agents let tasks run as root, as corral agent --allow-root-tasks')
  .option('--registry-mirror <urls>', 'Docker Hub mirrors for every agent, as corral agent --registry-mirror (default none)')
  .option('--ha', 'three schedulers (--scheduler-listen port + 0, 1, 2) on a local etcd (Debian\'s etcd-server, data in <data dir>/etcd), everything else following all three; a scheduler that dies is restarted')
  .option('--etcd-client-port <port>', 'with --ha: etcd\'s client port on 127.0.0.1 (default 12379; 0 = a free one)')
  .option('--etcd-peer-port <port>', 'with --ha: etcd\'s peer port on 127.0.0.1 (default 12380; 0 = a free one)')
  .option('--tls', 'every part\'s HTTP over TLS: a CA (<data dir>/ca.pem, what the CLI trusts) and a loopback certificate made once with openssl and reused; agents, DNS and LB trust the CA')
  .action((flags: Settings) => run('up', flags, async () => (await import('./up.ts')).startUp));

// The operator's client commands (app, group, deployment, task, logs, agent, queue, why, events).
registerClientCommands(program, process);

await program.parseAsync(process.argv);
