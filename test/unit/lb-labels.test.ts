import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesGroups, parseLabelBool, parsePortLabels } from '../../src/lb/core/labels.ts';

test('parsePortLabels reads the skeleton subset per port index', async (t) => {
  const cases: { name: string; labels: Record<string, string>; index: number; expect: Partial<ReturnType<typeof parsePortLabels>> }[] = [
    { name: 'no labels', labels: {}, index: 0, expect: { groups: [], enabled: true, vhosts: [], paths: [], mode: undefined, bindPort: undefined, problems: [] } },
    { name: 'app-wide group', labels: { HAPROXY_GROUP: 'external' }, index: 1, expect: { groups: ['external'] } },
    { name: 'group list is trimmed', labels: { HAPROXY_GROUP: 'external, internal,' }, index: 0, expect: { groups: ['external', 'internal'] } },
    {
      name: 'port group replaces the app group',
      labels: { HAPROXY_GROUP: 'internal', HAPROXY_0_GROUP: 'external' },
      index: 0,
      expect: { groups: ['external'] },
    },
    { name: 'port group of another index does not apply', labels: { HAPROXY_GROUP: 'internal', HAPROXY_0_GROUP: 'external' }, index: 1, expect: { groups: ['internal'] } },
    { name: 'ENABLED=false hides', labels: { HAPROXY_0_ENABLED: 'false' }, index: 0, expect: { enabled: false } },
    { name: 'ENABLED=yes shows', labels: { HAPROXY_0_ENABLED: 'yes' }, index: 0, expect: { enabled: true } },
    { name: 'ENABLED=nonsense hides (marathon-lb string_to_bool)', labels: { HAPROXY_0_ENABLED: 'on' }, index: 0, expect: { enabled: false } },
    { name: 'vhosts are split and lower-cased', labels: { HAPROXY_0_VHOST: 'Shop.Example.com, www.example.com' }, index: 0, expect: { vhosts: ['shop.example.com', 'www.example.com'] } },
    { name: 'path list with -i', labels: { HAPROXY_0_PATH: '-i /api /v2' }, index: 0, expect: { paths: ['/api', '/v2'], pathIgnoreCase: true } },
    { name: 'bad path', labels: { HAPROXY_0_PATH: 'api' }, index: 0, expect: { problems: ["path 'api' must start with / (only the -i flag is supported)"] } },
    { name: 'mode is case-insensitive', labels: { HAPROXY_0_MODE: 'HTTP' }, index: 0, expect: { mode: 'http' } },
    { name: 'bad mode', labels: { HAPROXY_0_MODE: 'udp' }, index: 0, expect: { mode: undefined, problems: ["HAPROXY_0_MODE must be tcp or http, got 'udp'"] } },
    { name: 'port override', labels: { HAPROXY_1_PORT: '8081' }, index: 1, expect: { bindPort: 8081 } },
    { name: 'bad port', labels: { HAPROXY_0_PORT: '70000' }, index: 0, expect: { bindPort: undefined, problems: ["HAPROXY_0_PORT must be a port 1-65535, got '70000'"] } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const parsed = parsePortLabels(c.labels, c.index);
      for (const [key, value] of Object.entries(c.expect)) {
        assert.deepEqual(parsed[key as keyof typeof parsed], value, key);
      }
    });
  }
});

test('matchesGroups: * on the LB side takes all; otherwise the lists must intersect', () => {
  const cases: [lb: string[], port: string[], expected: boolean][] = [
    [['external'], ['external'], true],
    [['external'], ['internal', 'external'], true],
    [['internal', 'external'], ['external'], true],
    [['external'], ['internal'], false],
    [['external'], [], false],
    [['*'], [], true],
    [['*'], ['anything'], true],
    [['external'], ['*'], false],
  ];
  for (const [lb, port, expected] of cases) {
    assert.equal(matchesGroups(lb, port), expected, `lb ${lb.join(',')} / port ${port.join(',')}`);
  }
});

test('parseLabelBool follows marathon-lb', () => {
  for (const yes of ['true', 'TRUE', 't', 'yes', 'Y']) assert.equal(parseLabelBool(yes), true, yes);
  for (const no of ['false', '0', '1', 'on', '']) assert.equal(parseLabelBool(no), false, no);
});
