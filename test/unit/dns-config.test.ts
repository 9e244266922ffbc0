import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDnsConfig } from '../../src/dns/config.ts';
import type { Settings } from '../../src/shared/settings.ts';

const DEFAULTS: Settings = {
  master: 'http://127.0.0.1:8080',
  listen: '127.0.0.1:8053',
  http: '127.0.0.1:8123',
  domain: 'mesos',
  resolvers: '127.0.0.53',
  ttl: '60',
  logLevel: 'info',
};

test('parseDnsConfig: defaults become a frozen typed config', () => {
  const config = parseDnsConfig(DEFAULTS);
  assert.deepEqual(config, {
    masters: ['http://127.0.0.1:8080'],
    listen: { host: '127.0.0.1', port: 8053 },
    http: { host: '127.0.0.1', port: 8123 },
    domain: 'mesos',
    resolvers: [{ host: '127.0.0.53', port: 53 }],
    ttl: 60,
    enforceRfc952: false,
    forwardTimeoutMs: 2000,
    udpWorkers: 0,
    logLevel: 'info',
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.masters));
  assert.ok(Object.isFrozen(config.listen));
});

test('parseDnsConfig: accepted variations (table-driven)', () => {
  const cases: [overrides: Settings, check: (c: ReturnType<typeof parseDnsConfig>) => unknown, expected: unknown][] = [
    [{ master: 'http://127.0.0.1:8080, http://127.0.0.2:8080/' }, (c) => c.masters, ['http://127.0.0.1:8080', 'http://127.0.0.2:8080']],
    [{ domain: 'Corral.Example.' }, (c) => c.domain, 'corral.example'],
    [{ resolvers: '' }, (c) => c.resolvers, []],
    [{ resolvers: '127.0.0.53:5353,[::1]:53,::1' }, (c) => c.resolvers, [{ host: '127.0.0.53', port: 5353 }, { host: '::1', port: 53 }, { host: '::1', port: 53 }]],
    [{ listen: '127.0.0.1:0' }, (c) => c.listen, { host: '127.0.0.1', port: 0 }],
    [{ ttl: '0' }, (c) => c.ttl, 0],
  ];
  for (const [overrides, check, expected] of cases) {
    assert.deepEqual(check(parseDnsConfig({ ...DEFAULTS, ...overrides })), expected, JSON.stringify(overrides));
  }
});

test('parseDnsConfig: bad values are clear errors naming the flag (table-driven)', () => {
  const cases: [overrides: Settings, message: RegExp][] = [
    [{ master: '' }, /--master: expected at least one/],
    [{ master: 'not a url' }, /--master: 'not a url' is not a URL/],
    [{ master: 'ftp://x' }, /--master: 'ftp:\/\/x' must be http/],
    [{ listen: '8053' }, /--listen: expected host:port/],
    [{ http: '127.0.0.1:99999' }, /--http: expected host:port/],
    [{ domain: 'bad_domain' }, /--domain: 'bad_domain' is not a valid domain/],
    [{ domain: '' }, /--domain/],
    [{ ttl: '-1' }, /--ttl: expected whole seconds/],
    [{ ttl: '1.5' }, /--ttl/],
    [{ ttl: 'sixty' }, /--ttl/],
    [{ logLevel: 'loud' }, /--log-level: expected one of/],
    [{ domain: true }, /--domain: expected a value/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => parseDnsConfig({ ...DEFAULTS, ...overrides }), message, JSON.stringify(overrides));
  }
});

test('parseDnsConfig: --ip-sources (table-driven)', () => {
  const cases: [value: string | undefined, expected: unknown][] = [
    [undefined, undefined],
    ['host,netinfo', ['host', 'netinfo']],
    ['netinfo, mesos, docker, host', ['netinfo', 'mesos', 'docker', 'host']],
    ['rkt', /--ip-sources: 'rkt' is not an IP source/],
    ['host,host', /--ip-sources: 'host' is given twice/],
    ['', /--ip-sources: expected at least one/],
  ];
  for (const [value, expected] of cases) {
    const settings = { ...DEFAULTS, ...(value === undefined ? {} : { ipSources: value }) };
    if (expected instanceof RegExp) assert.throws(() => parseDnsConfig(settings), expected, value);
    else assert.deepEqual(parseDnsConfig(settings).ipSources, expected, value);
  }
});
