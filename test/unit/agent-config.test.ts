import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAgentConfig } from '../../src/agent/config.ts';
import { ConfigError } from '../../src/shared/config.ts';

const workDir = mkdtempSync(join(tmpdir(), 'corral-agent-config-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

test('parseAgentConfig: config/defaults.json fills what is not given; hostname falls back to the ip', () => {
  const config = parseAgentConfig({ workDir, ip: '127.0.0.11', resources: 'cpus:2;mem:512;disk:100;ports:[31000-31009]' });
  assert.deepEqual(config.masters, ['http://127.0.0.1:8080']);
  assert.equal(config.hostname, '127.0.0.11');
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(config.logMaxBytes, 10_485_760);
  assert.equal(config.logKeep, 5);
  assert.equal(config.sandboxMaxAgeMs, 7 * 86_400_000);
  assert.equal(config.diskWatchIntervalMs, 15_000);
  assert.equal(config.cgroupsEnableCfs, false);
  assert.deepEqual([config.defaultUser, config.switchUser, config.allowRootTasks], ['nobody', true, false]);
  assert.deepEqual(config.resources.find((r) => r.name === 'cpus')?.scalar, 2);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.resources));
});

test('parseAgentConfig: accepted settings (table-driven)', () => {
  const cases: [settings: Record<string, string | boolean>, pick: (c: ReturnType<typeof parseAgentConfig>) => unknown, expected: unknown][] = [
    [{ hostname: 'node-1' }, (c) => c.hostname, 'node-1'],
    [{ master: 'http://a:1/, http://b:2' }, (c) => c.masters, ['http://a:1', 'http://b:2']],
    [{ logMaxBytes: '1MiB' }, (c) => c.logMaxBytes, 1_048_576],
    [{ cgroupsEnableCfs: 'true' }, (c) => c.cgroupsEnableCfs, true],
    [{ defaultUser: 'corral', switchUser: false, allowRootTasks: 'true' }, (c) => [c.defaultUser, c.switchUser, c.allowRootTasks], ['corral', false, true]],
    [{ attributes: 'rack:a;zone:1' }, (c) => Object.keys(c.attributes), ['rack', 'zone']],
    [{ diskWatchInterval: '200ms' }, (c) => c.diskWatchIntervalMs, 200],
  ];
  for (const [settings, pick, expected] of cases) assert.deepEqual(pick(parseAgentConfig({ workDir, ...settings })), expected, JSON.stringify(settings));
});

test('parseAgentConfig: every bad setting is named at once', () => {
  const bad = { workDir, master: 'ftp://x', ip: 'here', resources: 'cpus:lots', listen: '5051', logMaxBytes: '10', logKeep: '-1', cgroupsEnableCfs: 'perhaps', diskWatchInterval: '0s' };
  assert.throws(() => parseAgentConfig(bad), (err: ConfigError) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.flag), ['--master', '--ip', '--resources', '--listen', '--log-max-bytes', '--log-keep', '--cgroups-enable-cfs', '--disk-watch-interval']);
    assert.match(err.message, /--resources: bad resource 'cpus:lots'/);
    return true;
  });
});
