import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseSchedulerConfig, startupWarnings } from '../../src/scheduler/config.ts';
import { ConfigError } from '../../src/shared/config.ts';

test('parseSchedulerConfig: config/defaults.json alone gives the documented defaults, frozen', () => {
  const config = parseSchedulerConfig({});
  assert.deepEqual(config, {
    listen: { host: '127.0.0.1', port: 8080 },
    dataDir: resolve('data/scheduler'),
    store: 'file',
    etcd: ['http://127.0.0.1:2379'],
    etcdPrefix: '/corral',
    leaderLeaseMs: 2000,
    agentTimeoutMs: 15_000,
    agentReregisterTimeoutMs: 600_000,
    registryMaxAgentAgeMs: 14 * 86_400_000,
    deploymentTimeoutMs: 3_600_000,
    logLevel: 'info',
    repair: false,
    maxVersions: 50,
    auth: false,
    insecure: false,
    allowedOrigins: [],
    allowedHosts: [],
    eventCallbackTimeoutMs: 10_000,
    eventCallbackDropAfterMs: 300_000,
  });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listen));
});

test('parseSchedulerConfig: accepted settings (table-driven)', () => {
  const cases: [settings: Record<string, string | boolean>, pick: (c: ReturnType<typeof parseSchedulerConfig>) => unknown, expected: unknown][] = [
    [{ listen: '127.0.0.1:0' }, (c) => c.listen.port, 0],
    [{ agentTimeout: '500ms' }, (c) => c.agentTimeoutMs, 500],
    [{ agentReregisterTimeout: '30s' }, (c) => c.agentReregisterTimeoutMs, 30_000],
    [{ deploymentTimeout: '0' }, (c) => c.deploymentTimeoutMs, 0],
    [{ repair: true }, (c) => c.repair, true],
    [{ repair: 'true' }, (c) => c.repair, true],
    [{ maxVersions: '3' }, (c) => c.maxVersions, 3],
    [{ auth: true }, (c) => c.auth, true],
    [{ listen: '0.0.0.0:8080', auth: true, joinTokenFile: '/etc/corral/join.token' }, (c) => c.listen.host, '0.0.0.0'],
    [{ listen: '0.0.0.0:8080', auth: true, insecure: true }, (c) => c.insecure, true],
    [{ listen: '10.0.0.1:8080', insecure: 'true' }, (c) => c.insecure, true],
    [{ listen: 'localhost:8080' }, (c) => c.listen.host, 'localhost'],
    [{ store: 'etcd' }, (c) => c.store, 'etcd'],
    [{ etcd: 'http://127.0.0.1:2379, https://etcd-2.example:2379/' }, (c) => c.etcd, ['http://127.0.0.1:2379', 'https://etcd-2.example:2379']],
    [{ etcdPrefix: '/corral/prod/' }, (c) => c.etcdPrefix, '/corral/prod'],
    [{ leaderLease: '5s' }, (c) => c.leaderLeaseMs, 5000],
    [{ leaderLease: '1' }, (c) => c.leaderLeaseMs, 1000],
    [{ leaderLease: '1m' }, (c) => c.leaderLeaseMs, 60_000],
    [{ allowedOrigins: 'https://UI.example.com:443, http://127.0.0.1:3000' }, (c) => c.allowedOrigins, ['https://ui.example.com', 'http://127.0.0.1:3000']],
    [{ allowedHosts: 'Sched.Example.com, .corp.example, *' }, (c) => c.allowedHosts, ['sched.example.com', '.corp.example', '*']],
    [{ eventCallbackTimeout: '300ms' }, (c) => c.eventCallbackTimeoutMs, 300],
    [{ eventCallbackDropAfter: '2s' }, (c) => c.eventCallbackDropAfterMs, 2000],
  ];
  for (const [settings, pick, expected] of cases) assert.deepEqual(pick(parseSchedulerConfig(settings)), expected, JSON.stringify(settings));
});

test('parseSchedulerConfig: every bad setting is named at once', () => {
  const bad = { listen: 'nope', agentTimeout: 'x', store: 'zookeeper', etcd: 'ftp://h:1', etcdPrefix: 'corral', maxVersions: '0', logLevel: 'loud', repair: 'perhaps', allowedOrigins: 'null', allowedHosts: 'sched.example.com:8080' };
  assert.throws(() => parseSchedulerConfig(bad), (err: ConfigError) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.flag), ['--listen', '--store', '--etcd', '--etcd-prefix', '--agent-timeout', '--log-level', '--repair', '--max-versions', '--allowed-origins', '--allowed-hosts']);
    return true;
  });
});

test('parseSchedulerConfig: off loopback, --auth and agent admission both, unless --insecure', () => {
  const cases: Array<[settings: Record<string, string | boolean>, refused: string[]]> = [
    [{ listen: '10.0.0.1:8080' }, ['--listen']],
    [{ listen: '10.0.0.1:8080', auth: true }, ['--join-token-file']],
    [{ listen: '10.0.0.1:8080', joinTokenFile: '/j' }, ['--listen']],
    [{ listen: '10.0.0.1:8080', auth: true, joinTokenFile: '/j' }, []],
    [{ listen: '10.0.0.1:8080', insecure: true }, []],
    [{ listen: '127.0.0.1:8080', auth: true }, []],
  ];
  for (const [settings, refused] of cases) {
    let flags: string[] = [];
    try {
      parseSchedulerConfig(settings);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      flags = err.problems.map((p) => p.flag);
      if (refused.includes('--join-token-file')) assert.match(err.problems[0]?.message ?? '', /any client that reaches it may register as an agent .*add --join-token-file/);
    }
    assert.deepEqual(flags, refused, JSON.stringify(settings));
  }
});

test('parseSchedulerConfig: --leader-lease is whole seconds from 1s to 60s', () => {
  for (const leaderLease of ['500ms', '1500ms', '61s', '0', 'x']) {
    assert.throws(() => parseSchedulerConfig({ leaderLease }), (err: ConfigError) => err.problems.map((p) => p.flag).join() === '--leader-lease', leaderLease);
  }
});

test('parseSchedulerConfig: without --auth a non-loopback listen address needs --insecure', () => {
  for (const listen of ['0.0.0.0:0', '10.0.0.1:8080', '[::]:8080']) {
    assert.throws(() => parseSchedulerConfig({ listen }), (err: ConfigError) => {
      assert.deepEqual(err.problems.map((p) => p.flag), ['--listen']);
      assert.match(err.message, /not a loopback address: without --auth .*--insecure/);
      return true;
    }, listen);
  }
});

test('startupWarnings: --auth on a non-loopback address without --tls-cert sends tokens in clear', () => {
  const on = (host: string) => ({ host, port: 8080 });
  const cases: Array<[config: Parameters<typeof startupWarnings>[0], warned: boolean]> = [
    [{ listen: on('0.0.0.0'), auth: true }, true],
    [{ listen: on('10.0.0.1'), auth: true }, true],
    [{ listen: on('::'), auth: true }, true],
    [{ listen: on('127.0.0.1'), auth: true }, false],
    [{ listen: on('127.0.0.2'), auth: true }, false],
    [{ listen: on('localhost'), auth: true }, false],
    [{ listen: on('::1'), auth: true }, false],
    [{ listen: on('10.0.0.1'), auth: true, tlsCert: '/etc/corral/api.crt' }, false],
    // Without --auth there is no token to leak (and the start needs --insecure anyway).
    [{ listen: on('10.0.0.1'), auth: false }, false],
  ];
  for (const [config, warned] of cases) {
    const warnings = startupWarnings(config);
    if (warned) assert.match(warnings.join('\n'), /not a loopback address.*without --tls-cert.*in clear/, JSON.stringify(config));
    else assert.deepEqual(warnings, [], JSON.stringify(config));
  }
  // Parsed settings go in as they are.
  assert.equal(startupWarnings(parseSchedulerConfig({ listen: '0.0.0.0:8080', auth: 'true', joinTokenFile: '/etc/corral/join.token' })).length, 1);
});
