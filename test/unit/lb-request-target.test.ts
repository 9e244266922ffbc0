import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeTarget, type TargetVerdict } from '../../src/lb/proxy/core/request-target.ts';

const forward = (host: string | undefined, path: string): TargetVerdict => ({ kind: 'forward', host, path });

test('judgeTarget: origin, absolute and asterisk forms; Host lines per RFC 9112 §3.2', () => {
  const cases: [method: string, target: string, hosts: string[], version: string, expected: TargetVerdict | 'refuse'][] = [
    ['GET', '/a/b?c=1', ['web.test'], '1.1', forward('web.test', '/a/b?c=1')],
    ['GET', '/', [], '1.0', forward(undefined, '/')],
    ['GET', '/', [], '1.1', 'refuse'],
    ['GET', '/', ['a.test', 'b.test'], '1.1', 'refuse'],
    ['GET', '/', ['a.test', 'a.test'], '1.0', 'refuse'],
    ['GET', '/', ['Web.Test:8080'], '1.1', forward('Web.Test:8080', '/')],
    ['GET', '/', ['[::1]:80'], '1.1', forward('[::1]:80', '/')],
    ['GET', '/', ['10.0.0.1'], '1.1', forward('10.0.0.1', '/')],
    ['GET', '/', ['web test'], '1.1', 'refuse'],
    ['GET', '/', ['web.test/x'], '1.1', 'refuse'],
    ['GET', '/', ['web.test:80:80'], '1.1', 'refuse'],
    // Absolute form: the authority routes, whatever Host says; the backend gets origin form.
    ['GET', 'http://web.test/a?b', ['other.test'], '1.1', forward('web.test', '/a?b')],
    ['GET', 'HTTPS://Web.Test:8443', ['web.test'], '1.1', forward('Web.Test:8443', '/')],
    ['GET', 'http://web.test?q=1', ['web.test'], '1.1', forward('web.test', '/?q=1')],
    ['GET', 'http://web.test/', [], '1.0', forward('web.test', '/')],
    ['GET', 'http:///x', ['web.test'], '1.1', 'refuse'],
    ['GET', 'http://user@web.test/', ['web.test'], '1.1', 'refuse'],
    ['GET', 'ftp://web.test/', ['web.test'], '1.1', 'refuse'],
    ['OPTIONS', '*', ['web.test'], '1.1', { kind: 'server-options' }],
    ['GET', '*', ['web.test'], '1.1', 'refuse'],
    ['OPTIONS', '*', [], '1.1', 'refuse'],
    ['GET', 'nonsense', ['web.test'], '1.1', 'refuse'],
  ];
  for (const [method, target, hosts, version, expected] of cases) {
    const verdict = judgeTarget(method, target, hosts, version);
    const label = `${method} ${target} ${JSON.stringify(hosts)} HTTP/${version}`;
    if (expected === 'refuse') assert.equal(verdict.kind, 'refuse', label);
    else assert.deepEqual(verdict, expected, label);
  }
});
