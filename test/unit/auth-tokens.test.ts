import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkToken, hashSecret, tokenLapsed, isExpired, parseAuthorization, sameHash, splitToken, type Authorization } from '../../src/auth/core/tokens.ts';
import { Unauthenticated } from '../../src/auth/errors.ts';
import { SECRET_BYTES, newToken } from '../../src/auth/token-secrets.ts';
import type { TokenRecord } from '../../src/auth/types.ts';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

test('parseAuthorization reads Bearer, DC/OS token= and Basic, and turns anything else into a reason', async (t) => {
  const cases: Array<[name: string, header: string | undefined, expected: Authorization | RegExp]> = [
    ['no header', undefined, { scheme: 'none' }],
    ['Bearer', 'Bearer abc.DEF-123_x', { scheme: 'bearer', token: 'abc.DEF-123_x' }],
    ['bearer, any case, spaces around', '  bEaReR   abc=  ', { scheme: 'bearer', token: 'abc=' }],
    ['DC/OS token=', 'token=eyJhbGciOi.JSUzI1NiJ9.x-y_z', { scheme: 'dcos', token: 'eyJhbGciOi.JSUzI1NiJ9.x-y_z' }],
    ['Basic', `Basic ${b64('lb:s3cret')}`, { scheme: 'basic', user: 'lb', password: 's3cret' }],
    ['Basic, colon in the password', `basic ${b64('ops:a:b:c')}`, { scheme: 'basic', user: 'ops', password: 'a:b:c' }],
    ['Basic, empty password', `Basic ${b64('ops:')}`, { scheme: 'basic', user: 'ops', password: '' }],
    ['Basic, UTF-8', `Basic ${b64('zoë:pässwörd')}`, { scheme: 'basic', user: 'zoë', password: 'pässwörd' }],
    // Malformed.
    ['empty', '', /header is empty/],
    ['blank', '   ', /header is empty/],
    ['huge', `Bearer ${'a'.repeat(5000)}`, /longer than 4096/],
    ['long token', `Bearer ${'a'.repeat(600)}`, /token is longer than 512/],
    ['scheme alone', 'Bearer', /Bearer scheme carries no credentials/],
    ['Basic alone', 'Basic ', /Basic scheme carries no credentials/],
    ['two credentials', 'Bearer abc def', /not `<scheme> <credentials>`/],
    ['unknown scheme', 'Digest username="x"', /scheme is not Bearer, Basic or token=/],
    ['a bare token', 'abc', /scheme is not Bearer, Basic or token=/],
    ['unknown scheme, several parameters', 'Digest username="x", realm="y"', /not `<scheme> <credentials>`/],
    ['token= with nothing', 'token=', /token is empty/],
    ['bearer with a quote', 'Bearer ab"c', /characters a token may not/],
    ['bad base64', 'Basic !!!!', /not base64/],
    ['base64 of wrong length', 'Basic YWJj=', /not base64/],
    ['base64 padding in the middle', 'Basic YQ==YWJj', /not base64/],
    ['not UTF-8', `Basic ${Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64')}`, /not UTF-8/],
    ['no colon', `Basic ${b64('justauser')}`, /no colon/],
    ['no user', `Basic ${b64(':secret')}`, /no user/],
    ['control character', `Basic ${b64('ops:a\nb')}`, /control characters/],
    ['NUL in the user', `Basic ${b64('o\u0000ps:x')}`, /control characters/],
  ];
  for (const [name, header, expected] of cases) {
    await t.test(name, () => {
      const result = parseAuthorization(header);
      if (!(expected instanceof RegExp)) return assert.deepEqual(result, expected);
      assert.equal(result.scheme, 'invalid');
      assert.ok(result.scheme === 'invalid' && expected.test(result.reason), JSON.stringify(result));
    });
  }
});

test('a reason never quotes the credentials', () => {
  for (const header of ['Bearer s3cr3t"x', `Basic ${b64('ops:s3cr3t\n')}`, 's3cr3t', 'token=s3cr3t!']) {
    const result = parseAuthorization(header);
    assert.ok(result.scheme === 'invalid' && !result.reason.includes('s3cr3t'), JSON.stringify(result));
  }
});

test('sameHash compares whole hashes', () => {
  const h = hashSecret('secret');
  assert.equal(h, '2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b');
  const cases: Array<[a: string, b: string, equal: boolean]> = [
    [h, h, true],
    [h, hashSecret('secreT'), false],
    [h, `${h.slice(0, -1)}c`, false],
    [h, h.slice(0, -1), false],
    ['', '', true],
  ];
  for (const [a, b, equal] of cases) assert.equal(sameHash(a, b), equal, `${a} vs ${b}`);
});

test('splitToken takes <id>.<secret> and nothing else', () => {
  const secret = 'A'.repeat(43);
  const cases: Array<[token: string, expected: ReturnType<typeof splitToken>['ok']]> = [
    [`0b3f-12.${secret}`, true],
    [`0b3f-12.${'A'.repeat(42)}`, false],
    [`.${secret}`, false],
    [`a.b.${secret}`, false],
    [secret, false],
    [`${'a'.repeat(65)}.${secret}`, false],
  ];
  for (const [token, ok] of cases) assert.equal(splitToken(token).ok, ok, token);
  assert.deepEqual(splitToken(`t1.${secret}`), { ok: true, id: 't1', secret });
});

test('isExpired and checkToken at a given time', async (t) => {
  const secret = 'S'.repeat(43);
  const base: TokenRecord = { id: 't1', identityId: 'alice', hash: hashSecret(secret), createdAt: 1_000 };
  const cases: Array<{ name: string; record?: TokenRecord; secret?: string; now: number; reason?: RegExp }> = [
    { name: 'no expiry', record: base, now: 10 ** 13 },
    { name: 'before its expiry', record: { ...base, expiresAt: 2_000 }, now: 1_999 },
    { name: 'at its expiry', record: { ...base, expiresAt: 2_000 }, now: 2_000, reason: /t1 has expired/ },
    { name: 'revoked', record: { ...base, revokedAt: 1_500 }, now: 1_500, reason: /t1 was revoked/ },
    { name: 'revocation still to come', record: { ...base, revokedAt: 1_500 }, now: 1_499 },
    { name: 'wrong secret', record: base, secret: 'T'.repeat(43), now: 1_000, reason: /t1: wrong secret/ },
    { name: 'unknown id', now: 1_000, reason: /no token t1/ },
  ];
  for (const { name, record, now, reason, ...rest } of cases) {
    await t.test(name, () => {
      const result = checkToken(record, { id: 't1', secret: rest.secret ?? secret }, now);
      if (reason === undefined) assert.deepEqual(result, { ok: true, record });
      else assert.ok(!result.ok && reason.test(result.reason), JSON.stringify(result));
    });
  }
  const failed = checkToken(undefined, { id: 't9', secret }, 0);
  assert.ok(!failed.ok);
  const error = new Unauthenticated(failed.reason);
  assert.deepEqual([error.code, error.reason], ['ERR_AUTH_UNAUTHENTICATED', 'no token t9']);
  assert.ok(!error.message.includes('t9'), 'the client is not told why');
  assert.equal(isExpired({ expiresAt: 5 }, 4), false);
  assert.equal(isExpired({ expiresAt: 5 }, 5), true);
  assert.equal(isExpired({}, Number.MAX_SAFE_INTEGER), false);
});

test('tokenLapsed: when the token an open stream was opened with stops letting it in', async (t) => {
  const base: TokenRecord = { id: 't1', identityId: 'alice', hash: 'h', createdAt: 1_000 };
  const cases: Array<[name: string, record: TokenRecord | undefined, now: number, expected: string | undefined]> = [
    ['still good', base, 10 ** 13, undefined],
    ['before its expiry', { ...base, expiresAt: 2_000 }, 1_999, undefined],
    ['expired', { ...base, expiresAt: 2_000 }, 2_000, 'token t1 has expired'],
    ['revoked', { ...base, revokedAt: 1_500 }, 1_600, 'token t1 was revoked'],
    ['revocation still to come', { ...base, revokedAt: 1_500 }, 1_499, undefined],
    ['no longer stored', undefined, 1_000, 'the token is gone'],
  ];
  for (const [name, record, now, expected] of cases) await t.test(name, () => assert.equal(tokenLapsed(record, now), expected));
});

test('newToken issues a random secret, stores only its hash, and the token checks out through every step', () => {
  const { token, record } = newToken('alice', 1_000, 60_000);
  const other = newToken('alice', 1_000);
  assert.notEqual(token, other.token);
  assert.equal(other.record.expiresAt, undefined);
  assert.equal(record.expiresAt, 61_000);
  assert.ok(!JSON.stringify(record).includes(token.split('.')[1] ?? '?'), 'the record holds no secret');

  const parsed = parseAuthorization(`Bearer ${token}`);
  assert.equal(parsed.scheme, 'bearer');
  const presented = splitToken(parsed.scheme === 'bearer' ? parsed.token : '');
  assert.ok(presented.ok);
  assert.equal(presented.id, record.id);
  assert.ok(Buffer.from(presented.secret, 'base64url').length >= SECRET_BYTES);
  assert.deepEqual(checkToken(record, presented, 60_999), { ok: true, record });
  assert.equal(checkToken(record, presented, 61_000).ok, false);
  assert.deepEqual(parseAuthorization(`token=${token}`), { scheme: 'dcos', token });
});
