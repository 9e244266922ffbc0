import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import {
  absolutePath,
  byteSize,
  ConfigError,
  duration,
  flag,
  hostPort,
  integer,
  ipAddress,
  list,
  logLevel,
  masterUrls,
  oneOf,
  optional,
  parseConfig,
  port,
  positiveInteger,
  text,
  type FieldParser,
  type RawSetting,
} from '../../src/shared/config.ts';
import { layerSettings } from '../../src/shared/settings.ts';

type Case = [parser: string, field: FieldParser<unknown>, raw: RawSetting, expected: unknown];
type BadCase = [parser: string, field: FieldParser<unknown>, raw: RawSetting, message: RegExp];

test('field parsers: accepted values (table-driven)', () => {
  const cases: Case[] = [
    ['text', text, '  a b ', 'a b'],
    ['text', text, '', ''],
    ['optional(text)', optional(text), undefined, undefined],
    ['list', list(), ' a, ,b ,', ['a', 'b']],
    ['list', list(), '', []],
    ['integer', integer(0, 64), ' 64 ', 64],
    ['integer', integer(0), '0', 0],
    ['positiveInteger', positiveInteger, '50', 50],
    ['port', port, '0', 0],
    ['port', port, '65535', 65535],
    ['duration', duration(), '15s', 15_000],
    ['duration', duration(), '500ms', 500],
    ['duration', duration(), '2w', 1_209_600_000],
    ['duration', duration(), '0', 0],
    ['duration', duration(1), '1ms', 1],
    ['byteSize', byteSize(), '10485760', 10_485_760],
    ['byteSize', byteSize(), '16KiB', 16_384],
    ['byteSize', byteSize(), '10MiB', 10_485_760],
    ['byteSize', byteSize(), '1g', 2 ** 30],
    ['byteSize', byteSize(1024), '1024B', 1024],
    ['hostPort', hostPort, '127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['hostPort', hostPort, '[::1]:0', { host: '::1', port: 0 }],
    ['ipAddress', ipAddress, '127.0.0.1', '127.0.0.1'],
    ['ipAddress', ipAddress, '::1', '::1'],
    ['absolutePath', absolutePath, 'data/x', resolve('data/x')],
    ['masterUrls', masterUrls, 'http://127.0.0.1:8080', ['http://127.0.0.1:8080']],
    ['masterUrls', masterUrls, 'http://a:1/, https://b:2/path', ['http://a:1', 'https://b:2']],
    // Credentials never travel further than the parser (logs, /v1/config).
    ['masterUrls', masterUrls, 'http://user:secret@a:1', ['http://a:1']],
    ['flag', flag, true, true],
    ['flag', flag, false, false],
    ['flag', flag, 'true', true],
    ['flag', flag, 'FALSE', false],
    ['flag', flag, '1', true],
    ['flag', flag, 'no', false],
    ['flag', flag, '', false],
    ['oneOf', oneOf(['file', 'etcd']), 'etcd', 'etcd'],
    ['logLevel', logLevel, 'debug', 'debug'],
  ];
  for (const [name, field, raw, expected] of cases) assert.deepEqual(field(raw), expected, `${name}(${JSON.stringify(raw)})`);
});

test('field parsers: refused values say what was expected and what came (table-driven)', () => {
  const cases: BadCase[] = [
    ['text', text, undefined, /Error: expected a value$/],
    ['text', text, true, /expected a value, got true$/],
    ['list', list('group'), ' , ', /expected at least one group$/],
    ['integer', integer(0, 64), '65', /expected a whole number from 0 to 64, got '65'/],
    ['integer', integer(0, 64), '-1', /from 0 to 64, got '-1'/],
    ['integer', integer(0), '1.5', /expected a whole number >= 0, got '1.5'/],
    ['integer', integer(0), 'two', /got 'two'/],
    ['positiveInteger', positiveInteger, '0', /expected a whole number >= 1, got '0'/],
    ['port', port, '65536', /expected a port 0-65535 \(0 = any free port\), got '65536'/],
    ['port', port, 'http', /expected a port/],
    ['duration', duration(), 'x', /expected a duration like 15s or 500ms, got 'x'/],
    ['duration', duration(), '-1s', /expected a duration/],
    ['duration', duration(1), '0', /expected at least 1ms, got '0'/],
    ['byteSize', byteSize(), '10 parsecs', /expected a size in bytes like 16384 or 10MiB, got '10 parsecs'/],
    ['byteSize', byteSize(), '-1', /expected a size in bytes/],
    ['byteSize', byteSize(1024), '100', /expected at least 1024 bytes, got '100'/],
    ['hostPort', hostPort, 'nope', /expected host:port, got 'nope'/],
    ['hostPort', hostPort, '127.0.0.1:99999', /expected host:port/],
    ['ipAddress', ipAddress, 'localhost', /expected an IP address, got 'localhost'/],
    ['absolutePath', absolutePath, ' ', /expected a path/],
    ['masterUrls', masterUrls, '', /expected at least one scheduler URL/],
    ['masterUrls', masterUrls, '127.0.0.1:8080', /'127.0.0.1:8080' is not a URL \(expected e.g. http:\/\/127.0.0.1:8080\)/],
    ['masterUrls', masterUrls, 'http://a:1,ftp://b', /'ftp:\/\/b' must be http:\/\/ or https:\/\//],
    ['flag', flag, 'maybe', /expected true or false, got 'maybe'/],
    ['oneOf', oneOf(['file']), 'etcd', /expected one of file, got 'etcd'/],
    ['logLevel', logLevel, 'loud', /expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'/],
  ];
  for (const [name, field, raw, message] of cases) assert.throws(() => field(raw), message, `${name}(${JSON.stringify(raw)})`);
});

const SPEC = {
  listen: hostPort,
  agentTimeoutMs: ['agentTimeout', duration()],
  workers: integer(0, 4),
  repair: optional(flag),
} as const;

test('parseConfig: a frozen typed config, settings over defaults', () => {
  const config = parseConfig({ listen: '127.0.0.1:0' }, SPEC, { defaults: { listen: '127.0.0.1:8080', agentTimeout: '15s', workers: '0' } });
  assert.deepEqual(config, { listen: { host: '127.0.0.1', port: 0 }, agentTimeoutMs: 15_000, workers: 0, repair: undefined });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listen));
  const listen: { readonly host: string; readonly port: number } = config.listen;
  const timeout: number = config.agentTimeoutMs;
  assert.equal(listen.port + timeout, 15_000);
});

test('parseConfig: every bad value is listed at once, in one coded ConfigError (table-driven)', () => {
  const cases: [settings: Record<string, string | boolean>, problems: [flag: string, message: RegExp][]][] = [
    [{ listen: 'nope', agentTimeout: 'x', workers: '9' }, [['--listen', /host:port/], ['--agent-timeout', /duration/], ['--workers', /from 0 to 4/]]],
    [{ listen: '127.0.0.1:1', agentTimeout: '1s', workers: true }, [['--workers', /expected a value, got true/]]],
    [{ listen: '127.0.0.1:1', agentTimeout: '1s', workers: '1', repair: 'perhaps' }, [['--repair', /true or false/]]],
    [{ agentTimeout: '1s', workers: '1' }, [['--listen', /^expected a value$/]]],
  ];
  for (const [settings, expected] of cases) {
    assert.throws(() => parseConfig(settings, SPEC), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.deepEqual(err.problems.map((p) => p.flag), expected.map(([flag]) => flag));
      for (const [i, [, message]] of expected.entries()) assert.match(err.problems[i]?.message ?? '', message);
      assert.match(err.message, /^invalid settings: --/);
      for (const [flag] of expected) assert.ok(err.message.includes(`${flag}: `), `${err.message} names ${flag}`);
      return true;
    }, JSON.stringify(settings));
  }
});

test('parseConfig: a value from CORRAL_* names the variable, one from --config the file', () => {
  const settings = layerSettings('scheduler', { listen: '127.0.0.1:8080', agentTimeout: '15s', workers: '0' }, { workers: '7' }, { CORRAL_AGENT_TIMEOUT: 'soon' }, undefined);
  assert.throws(() => parseConfig(settings, SPEC), (err: ConfigError) => {
    assert.deepEqual(err.problems.map((p) => [p.flag, p.source]), [['--agent-timeout', 'CORRAL_AGENT_TIMEOUT'], ['--workers', undefined]]);
    assert.match(err.message, /--agent-timeout \(CORRAL_AGENT_TIMEOUT\): expected a duration like 15s or 500ms, got 'soon'; --workers: expected a whole number from 0 to 4, got '7'/);
    return true;
  });
});

test('parseConfig: rules across settings run once every field parsed, their problems listed together', () => {
  const spec = { low: integer(0), high: integer(0) };
  const check = ({ low, high }: { low: number; high: number }) => [
    ...(low > high ? [['low', 'must not be above --high'] as const] : []),
    ...(high > 10 ? [['high', 'must be at most 10'] as const] : []),
  ];
  assert.deepEqual(parseConfig({ low: '1', high: '2' }, spec, { check }), { low: 1, high: 2 });
  assert.throws(() => parseConfig({ low: '30', high: '20' }, spec, { check }), /invalid settings: --low: must not be above --high; --high: must be at most 10/);
  // A field that does not parse leaves the rules unchecked (they would read a missing value).
  assert.throws(() => parseConfig({ low: 'x', high: '20' }, spec, { check }), (err: ConfigError) => err.problems.length === 1);
});
