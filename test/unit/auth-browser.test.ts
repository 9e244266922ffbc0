import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkContentType, checkHost, checkOrigin, hostAllowList, normalizeOrigin, type BodyHeaders, type HostAllowList } from '../../src/auth/core/browser.ts';

test('normalizeOrigin keeps only http(s) origins, in their canonical form', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['https://UI.example.com:443/', 'https://ui.example.com'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:80', 'http://localhost'],
    ['null', undefined],
    ['file:///etc/passwd', undefined],
    ['http://ui.example.com/path', undefined],
    ['http://user:pw@ui.example.com', undefined],
    ['ui.example.com', undefined],
  ];
  for (const [input, expected] of cases) await t.test(input, () => assert.equal(normalizeOrigin(input), expected));
});

test('checkOrigin lets through no Origin, the own origin and allowed ones; refuses the rest', async (t) => {
  const allowed = ['https://ui.example.com'];
  const cases: Array<[name: string, origin: string | undefined, host: string | undefined, ok: boolean]> = [
    ['no Origin (curl, CLI, agents, DNS/LB)', undefined, '127.0.0.1:8080', true],
    ['same origin', 'http://127.0.0.1:8080', '127.0.0.1:8080', true],
    ['same origin over TLS', 'https://sched.example:8443', 'sched.example:8443', true],
    ['same origin, Host in capitals', 'http://sched.example:8080', 'SCHED.example:8080', true],
    ['same origin, default port spelled out in Host', 'http://localhost', 'localhost:80', true],
    ['allowed by --allowed-origins', 'https://ui.example.com', '127.0.0.1:8080', true],
    ['allowed, written with its default port', 'https://ui.example.com:443', '127.0.0.1:8080', true],
    ['foreign site', 'http://evil.example', '127.0.0.1:8080', false],
    ['same host, other port', 'http://127.0.0.1:9999', '127.0.0.1:8080', false],
    ['allowed host, other scheme', 'http://ui.example.com', '127.0.0.1:8080', false],
    ['null origin (sandboxed frame, file:)', 'null', '127.0.0.1:8080', false],
    ['garbage', 'not an origin', '127.0.0.1:8080', false],
    ['no Host', 'http://127.0.0.1:8080', undefined, false],
    ['a Host that is no host', 'http://127.0.0.1:8080', 'a b', false],
  ];
  for (const [name, origin, host, ok] of cases) {
    await t.test(name, () => {
      const decision = checkOrigin(origin, host, allowed);
      assert.equal(decision.ok, ok);
      if (!decision.ok) assert.match(decision.reason, /cross-site requests are refused/);
    });
  }
});

test('checkContentType wants JSON on every write that carries a body or a type', async (t) => {
  const json = 'application/json';
  const cases: Array<[name: string, method: string, headers: BodyHeaders, ok: boolean]> = [
    ['GET needs nothing', 'GET', { 'content-type': 'text/plain', 'content-length': '3' }, true],
    ['HEAD needs nothing', 'HEAD', {}, true],
    ['JSON post', 'POST', { 'content-type': json, 'content-length': '2' }, true],
    ['JSON with a charset, any case', 'PUT', { 'content-type': 'Application/JSON; charset=utf-8', 'content-length': '2' }, true],
    ['chunked JSON', 'PATCH', { 'content-type': json, 'transfer-encoding': 'chunked' }, true],
    ['bodiless restart', 'POST', {}, true],
    ['bodiless delete, length 0', 'DELETE', { 'content-length': '0' }, true],
    ['bodiless delete naming JSON', 'DELETE', { 'content-type': json }, true],
    ['form post', 'POST', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' }, false],
    ['text/plain form post', 'POST', { 'content-type': 'text/plain', 'content-length': '9' }, false],
    ['multipart form', 'PUT', { 'content-type': 'multipart/form-data; boundary=x', 'content-length': '90' }, false],
    ['an empty form post still names its type', 'POST', { 'content-type': 'text/plain', 'content-length': '0' }, false],
    ['a body without a type (fetch of a Blob)', 'POST', { 'content-length': '2' }, false],
    ['chunked body without a type', 'DELETE', { 'transfer-encoding': 'chunked' }, false],
    ['a JSON look-alike', 'POST', { 'content-type': 'application/jsonp', 'content-length': '2' }, false],
  ];
  for (const [name, method, headers, ok] of cases) {
    await t.test(name, () => {
      const decision = checkContentType(method, headers);
      assert.equal(decision.ok, ok);
      if (!decision.ok) assert.match(decision.reason, /must be sent as Content-Type: application\/json/);
    });
  }
});

test('hostAllowList: on loopback, the loopback names, the machine, the listen name and --allowed-hosts; elsewhere only when told', async (t) => {
  const cases: Array<[name: string, listenHost: string, allowedHosts: string[], expected: HostAllowList]> = [
    ['loopback', '127.0.0.1', [], ['localhost', '.localhost', 'box.corp.example']],
    ['loopback by name', 'localhost', [], ['localhost', '.localhost', 'box.corp.example']],
    ['loopback, listen name and flag kept once, lower case', 'LOCALHOST', ['Sched.Example', 'box.corp.example'], ['localhost', '.localhost', 'box.corp.example', 'sched.example']],
    ['a name to listen on is one of them', 'sched.example', ['ui.example'], ['localhost', '.localhost', 'box.corp.example', 'sched.example', 'ui.example']],
    ['not loopback, no flag: any (--auth or --insecure guards it)', '0.0.0.0', [], 'any'],
    ['not loopback, the flag turns the check on', '10.0.0.5', ['sched.example'], ['localhost', '.localhost', 'box.corp.example', 'sched.example']],
    ['* turns it off', '127.0.0.1', ['*'], 'any'],
  ];
  for (const [name, listenHost, allowedHosts, expected] of cases) {
    await t.test(name, () => assert.deepEqual(hostAllowList({ listenHost, machineHostname: 'box.corp.example', allowedHosts }), expected));
  }
  // An agent's --hostname: answered, but it turns no check on by itself.
  await t.test('names on loopback', () => assert.deepEqual(hostAllowList({ listenHost: '127.0.0.1', machineHostname: 'box', allowedHosts: [], names: ['Agent-1.example'] }), ['localhost', '.localhost', 'box', 'agent-1.example']));
  await t.test('names off loopback', () => assert.equal(hostAllowList({ listenHost: '0.0.0.0', machineHostname: 'box', allowedHosts: [], names: ['agent-1.example'] }), 'any'));
});

test('checkHost: IP literals and allowed names pass, on any port; a rebound name is refused', async (t) => {
  const allowed: HostAllowList = ['localhost', '.localhost', 'box', '.team.example'];
  const cases: Array<[name: string, host: string | undefined, list: HostAllowList, ok: boolean]> = [
    ['no Host (HTTP/1.0; browsers always send one)', undefined, allowed, true],
    ['127.0.0.1', '127.0.0.1:8080', allowed, true],
    ['another IPv4 literal (no DNS, no rebinding)', '10.1.2.3:8080', allowed, true],
    ['IPv6 literal', '[::1]:8080', allowed, true],
    ['localhost', 'localhost:8080', allowed, true],
    ['localhost, capitals and a trailing dot', 'LocalHost.:8080', allowed, true],
    ['a name under .localhost', 'corral.localhost:8080', allowed, true],
    ['the machine, no port', 'box', allowed, true],
    ['a subdomain of a leading-dot entry', 'sched.team.example:443', allowed, true],
    ['the leading-dot entry itself', 'team.example', allowed, true],
    ['any, when the list is off', 'evil.example:8080', 'any', true],
    ['a rebound name', 'evil.example:8080', allowed, false],
    ['a name that merely ends like an entry', 'evilbox:8080', allowed, false],
    ['not below .team.example', 'evilteam.example', allowed, false],
    ['localhost as a prefix', 'localhost.evil.example:8080', allowed, false],
    ['empty', '', allowed, false],
  ];
  for (const [name, host, list, ok] of cases) {
    await t.test(name, () => {
      const decision = checkHost(host, list);
      assert.equal(decision.ok, ok);
      if (!decision.ok) assert.match(decision.reason, /^Host .* is not a name this scheduler answers to .*--allowed-hosts/);
    });
  }
  await t.test('the agent\'s refusal names its --hostname', () => {
    const decision = checkHost('evil.example', allowed, 'agent');
    assert.ok(!decision.ok && /this agent answers to .*its --hostname/.test(decision.reason));
  });
});
