import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesGroups, parseDeploymentLabels, parseLabelBool, parsePortLabels } from '../../src/lb/core/labels.ts';

test('parsePortLabels reads every marathon-lb port label', async (t) => {
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
    {
      name: 'defaults of the later labels',
      labels: {},
      index: 0,
      expect: {
        bindAddr: undefined, balance: 'roundrobin', sticky: false, redirectToHttps: false, useHsts: false, sslCerts: [], auth: undefined,
        proxyPassPath: undefined, revProxyPath: undefined, redirectRoot: undefined, weight: 0, allowedNetworks: [], healthCheckPortIndex: undefined,
      },
    },
    { name: 'bind address', labels: { HAPROXY_0_BIND_ADDR: '127.0.0.2' }, index: 0, expect: { bindAddr: '127.0.0.2', problems: [] } },
    { name: 'bad bind address', labels: { HAPROXY_0_BIND_ADDR: 'localhost' }, index: 0, expect: { problems: ["HAPROXY_0_BIND_ADDR must be an IP address, got 'localhost'"] } },
    { name: 'balance leastconn', labels: { HAPROXY_0_BALANCE: 'leastconn' }, index: 0, expect: { balance: 'leastconn' } },
    { name: 'balance source, any case', labels: { HAPROXY_0_BALANCE: 'Source' }, index: 0, expect: { balance: 'source' } },
    { name: 'balance random', labels: { HAPROXY_0_BALANCE: 'random' }, index: 0, expect: { balance: 'random' } },
    { name: 'unknown balance', labels: { HAPROXY_0_BALANCE: 'uri' }, index: 0, expect: { problems: ["HAPROXY_0_BALANCE must be one of roundrobin, leastconn, source, random, got 'uri'"] } },
    {
      name: 'flags',
      labels: { HAPROXY_0_STICKY: 'true', HAPROXY_0_REDIRECT_TO_HTTPS: 'yes', HAPROXY_0_USE_HSTS: 'T' },
      index: 0,
      expect: { sticky: true, redirectToHttps: true, useHsts: true },
    },
    { name: 'certificate list', labels: { HAPROXY_0_SSL_CERT: '/etc/a.pem, /etc/b.pem' }, index: 0, expect: { sslCerts: ['/etc/a.pem', '/etc/b.pem'] } },
    {
      name: 'auth with a sha-512 crypt hash',
      labels: { HAPROXY_0_AUTH: 'shop:admin:$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/Iny8S8uF3fVWTMuC1' },
      index: 0,
      expect: { auth: { realm: 'shop', user: 'admin', hash: '$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/Iny8S8uF3fVWTMuC1' }, problems: [] },
    },
    {
      name: 'auth with a bcrypt hash',
      labels: { HAPROXY_0_AUTH: 'r:u:$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK' },
      index: 0,
      expect: { auth: { realm: 'r', user: 'u', hash: '$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK' } },
    },
    { name: 'auth with a plain password', labels: { HAPROXY_0_AUTH: 'r:u:secret' }, index: 0, expect: { auth: undefined, problems: ['HAPROXY_0_AUTH: the password must be a bcrypt ($2a$/$2b$/$2y$) or crypt ($1$/$5$/$6$) hash'] } },
    { name: 'auth missing a part', labels: { HAPROXY_0_AUTH: 'r:u' }, index: 0, expect: { problems: ['HAPROXY_0_AUTH must be realm:user:password-hash'] } },
    {
      name: 'proxypass, revproxy and redirect paths',
      labels: { HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/app', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/app', HAPROXY_0_HTTP_BACKEND_REDIR: '/home' },
      index: 0,
      expect: { proxyPassPath: '/app', revProxyPath: '/app', redirectRoot: '/home', problems: [] },
    },
    { name: 'a path label must be a path', labels: { HAPROXY_0_HTTP_BACKEND_REDIR: 'home' }, index: 0, expect: { problems: ["HAPROXY_0_HTTP_BACKEND_REDIR must be a path starting with /, got 'home'"] } },
    { name: 'weight', labels: { HAPROXY_0_BACKEND_WEIGHT: '10' }, index: 0, expect: { weight: 10 } },
    { name: 'bad weight', labels: { HAPROXY_0_BACKEND_WEIGHT: 'heavy' }, index: 0, expect: { weight: 0, problems: ["HAPROXY_0_BACKEND_WEIGHT must be an integer, got 'heavy'"] } },
    {
      name: 'network ACL, spaces or commas',
      labels: { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '127.0.0.0/8 10.1.55.43, ::1' },
      index: 0,
      expect: { problems: [] },
    },
    {
      name: 'bad CIDR',
      labels: { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/33' },
      index: 0,
      expect: { allowedNetworks: [], problems: ["HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/33' is not an IP address or CIDR range"] },
    },
    { name: 'health check port index', labels: { HAPROXY_1_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, index: 1, expect: { healthCheckPortIndex: 0 } },
    { name: 'bad health check port index', labels: { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '-1' }, index: 0, expect: { problems: ["HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX must be a port index (0, 1, ...), got '-1'"] } },
    { name: 'several problems are all reported', labels: { HAPROXY_0_MODE: 'x', HAPROXY_0_BALANCE: 'y' }, index: 0, expect: { problems: ["HAPROXY_0_MODE must be tcp or http, got 'x'", "HAPROXY_0_BALANCE must be one of roundrobin, leastconn, source, random, got 'y'"] } },
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

test('--strict-mode: only ENABLED=true exposes a port', () => {
  assert.equal(parsePortLabels({}, 0, true).enabled, false);
  assert.equal(parsePortLabels({ HAPROXY_0_ENABLED: 'true' }, 0, true).enabled, true);
  assert.equal(parsePortLabels({ HAPROXY_1_ENABLED: 'true' }, 0, true).enabled, false);
  assert.equal(parsePortLabels({}, 0, false).enabled, true);
});

test('parseDeploymentLabels reads the blue-green labels of an app', () => {
  assert.equal(parseDeploymentLabels({}), undefined);
  assert.deepEqual(
    parseDeploymentLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10101', HAPROXY_DEPLOYMENT_STARTED_AT: '2024-01-02T00:00:00Z', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3' }),
    { group: 'shop', altPort: 10101, startedAt: Date.parse('2024-01-02T00:00:00Z'), targetInstances: 3 },
  );
  assert.deepEqual(parseDeploymentLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop' }), { group: 'shop', altPort: undefined, startedAt: 0, targetInstances: undefined });
  assert.match(String(parseDeploymentLabels({ HAPROXY_DEPLOYMENT_GROUP: 'g', HAPROXY_DEPLOYMENT_ALT_PORT: 'x' })), /ALT_PORT must be a port/);
  assert.match(String(parseDeploymentLabels({ HAPROXY_DEPLOYMENT_GROUP: 'g', HAPROXY_DEPLOYMENT_STARTED_AT: 'yesterday' })), /STARTED_AT must be an ISO date/);
  assert.match(String(parseDeploymentLabels({ HAPROXY_DEPLOYMENT_GROUP: 'g', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: 'all' })), /TARGET_INSTANCES must be a count/);
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
