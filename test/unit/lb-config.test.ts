import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLbConfig } from '../../src/lb/config.ts';

const DEFAULTS = {
  master: 'http://127.0.0.1:8080',
  bind: '127.0.0.1',
  httpPort: '80',
  httpsPort: '443',
  statsPort: '9090',
  group: 'external',
  httpHttps: true,
  logLevel: 'info',
};

test('parseLbConfig turns the layered settings into a frozen config', () => {
  const config = parseLbConfig({ ...DEFAULTS, master: 'http://a:8080, http://b:8080', group: 'external,internal', httpPort: '0', httpHttps: false });
  assert.deepEqual(config.masters, ['http://a:8080', 'http://b:8080']);
  assert.deepEqual(config.groups, ['external', 'internal']);
  assert.equal(config.httpPort, 0);
  assert.equal(config.httpHttps, false);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.masters));
});

test('parseLbConfig reads certificates, strict mode and client limits', () => {
  const defaults = parseLbConfig(DEFAULTS);
  assert.deepEqual(defaults.limits, { maxHeaderBytes: 16384, maxHeaders: 100, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
  assert.equal(defaults.appIdPort, 9091);
  assert.equal(defaults.strictMode, false);
  assert.deepEqual(defaults.sslCerts, []);
  const config = parseLbConfig({ ...DEFAULTS, sslCerts: '/a.pem, /b.pem', strictMode: true, headerTimeout: '500ms', idleTimeout: '5s', maxHeaders: '50' });
  assert.deepEqual(config.sslCerts, ['/a.pem', '/b.pem']);
  assert.equal(config.strictMode, true);
  assert.equal(config.limits.headersTimeoutMs, 500);
  assert.equal(config.limits.idleTimeoutMs, 5000);
  assert.equal(config.limits.maxHeaders, 50);
  assert.ok(Object.isFrozen(config.limits));
});

test('parseLbConfig reads --workers: 0 (one process) unless asked', () => {
  assert.equal(parseLbConfig(DEFAULTS).workers, 0);
  assert.equal(parseLbConfig({ ...DEFAULTS, workers: '2' }).workers, 2);
  assert.equal(parseLbConfig({ ...DEFAULTS, workers: ' 64 ' }).workers, 64);
});

test('parseLbConfig accepts booleans spelled as strings (environment, config file)', () => {
  assert.equal(parseLbConfig({ ...DEFAULTS, httpHttps: 'false' }).httpHttps, false);
  assert.equal(parseLbConfig({ ...DEFAULTS, httpHttps: 'true' }).httpHttps, true);
});

test('parseLbConfig rejects bad values with a message naming the setting', () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ httpPort: '65536' }, /--http-port: expected a port/],
    [{ statsPort: 'abc' }, /--stats-port: expected a port/],
    [{ httpsPort: '-1' }, /--https-port: expected a port/],
    [{ bind: 'localhost' }, /--bind: expected an IP address/],
    [{ master: 'ftp://x' }, /--master: 'ftp:\/\/x' must be http/],
    [{ master: 'not a url' }, /--master: 'not a url' is not a URL/],
    [{ master: ' , ' }, /--master: expected at least one scheduler URL/],
    [{ group: '' }, /--group: expected at least one group/],
    [{ httpHttps: 'maybe' }, /--http-https: expected true or false/],
    [{ logLevel: 'loud' }, /--log-level: expected one of/],
    [{ httpPort: '9090', statsPort: '9090' }, /--http-port: 9090 is also --stats-port/],
    [{ httpsPort: '9091' }, /--https-port: 9091 is also --app-id-port/],
    [{ maxHeaders: '0' }, /--max-headers: expected a whole number >= 1/],
    [{ maxHeaderBytes: '100' }, /--max-header-bytes: expected at least 1024 bytes/],
    [{ headerTimeout: 'soon' }, /--header-timeout: expected a duration/],
    [{ headerTimeout: '2m', requestTimeout: '1m' }, /--header-timeout: must not be longer than --request-timeout/],
    [{ strictMode: 'perhaps' }, /--strict-mode: expected true or false/],
    [{ workers: '-1' }, /--workers: expected a whole number from 0 to 64, got '-1'/],
    [{ workers: '65' }, /--workers: expected a whole number from 0 to 64, got '65'/],
    [{ workers: 'two' }, /--workers: expected a whole number from 0 to 64, got 'two'/],
    [{ workers: '1.5' }, /--workers: expected a whole number from 0 to 64/],
  ];
  for (const [override, message] of cases) {
    assert.throws(() => parseLbConfig({ ...DEFAULTS, ...override }), (err: Error & { code?: string }) => {
      assert.match(err.message, message);
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      return true;
    });
  }
  // An east-west LB never binds the HTTP port, so sharing the number with stats is fine.
  assert.doesNotThrow(() => parseLbConfig({ ...DEFAULTS, httpPort: '9090', statsPort: '9090', httpHttps: false }));
});

test('parseLbConfig reads --stats-bind: --bind unless given; on its own address the stats port may share a number', () => {
  assert.equal(parseLbConfig(DEFAULTS).statsBind, '127.0.0.1');
  assert.equal(parseLbConfig({ ...DEFAULTS, bind: '10.0.0.1' }).statsBind, '10.0.0.1');
  const apart = parseLbConfig({ ...DEFAULTS, statsBind: '127.0.0.2', statsPort: '80' });
  assert.deepEqual([apart.statsBind, apart.statsPort, apart.httpPort], ['127.0.0.2', 80, 80]);
  assert.throws(() => parseLbConfig({ ...DEFAULTS, statsBind: '127.0.0.1', statsPort: '80' }), /--http-port: 80 is also --stats-port/);
  assert.throws(() => parseLbConfig({ ...DEFAULTS, statsBind: 'private' }), /--stats-bind: expected an IP address/);
});
