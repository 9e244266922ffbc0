import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRegistryAuth } from '../../src/agent/containers/core/registry-auth.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('--registry-auth-file: Docker config.json form checked, reasons never quote a credential', async (t) => {
  const cases: Array<[name: string, text: string, expected: string[] | RegExp]> = [
    ['basic, host:port', JSON.stringify({ auths: { '127.0.0.1:5000': { auth: b64('u:p@ss:word') } } }), ['127.0.0.1:5000']],
    ["Docker Hub's URL key and a token", JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('u:p') }, 'reg.example.com': { identitytoken: 'refresh-token' } } }), ['https://index.docker.io/v1/', 'reg.example.com']],
    ['no registries', JSON.stringify({ auths: {} }), []],
    ['not JSON', '{"auths": {"h": {"auth": "c2VjcmV0"', /^F is not JSON$/],
    ['no auths', JSON.stringify({ credsStore: 'desktop' }), /^F has no "auths" object/],
    ['auths an array', JSON.stringify({ auths: [] }), /has no "auths" object/],
    ['a bad registry key', JSON.stringify({ auths: { 'not a host': { auth: b64('u:p') } } }), /"not a host" is not a registry/],
    ['no auth', JSON.stringify({ auths: { 'r.example.com': { username: 'u', password: 'topsecret' } } }), /^F: the entry of r\.example\.com has no base64 "auth"$/],
    ['auth not base64', JSON.stringify({ auths: { 'r.example.com': { auth: 'top secret!' } } }), /has no base64 "auth"$/],
    ['auth without a colon', JSON.stringify({ auths: { 'r.example.com': { auth: b64('topsecret') } } }), /is not base64 of user:password$/],
  ];
  for (const [name, text, expected] of cases) {
    await t.test(name, () => {
      const result = parseRegistryAuth(text, 'F');
      if (Array.isArray(expected)) return assert.deepEqual(result, { ok: true, registries: expected });
      assert.equal(result.ok, false);
      const reason = result.ok ? '' : result.reason;
      assert.match(reason, expected);
      for (const secret of ['topsecret', 'top secret', 'c2VjcmV0', 'p@ss']) assert.ok(!reason.includes(secret), reason);
    });
  }
});
