import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAgentConfig } from '../../src/agent/config.ts';
import { parseDnsConfig } from '../../src/dns/config.ts';
import { parseLbConfig } from '../../src/lb/config.ts';
import { parseSchedulerConfig } from '../../src/scheduler/config.ts';
import type { Settings } from '../../src/shared/settings.ts';
import { isUntrustedCertificate, plainMasterProblems, serverTls, withTls } from '../../src/shared/tls.ts';
import { issueCertificate, makeAuthority } from '../support/lb-certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-tls-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const authority = makeAuthority(dir);
const server = issueCertificate(authority, dir, ['127.0.0.1']);
const keyBody = readFileSync(server.key, 'utf8').split('\n')[1] ?? '';
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'hello\n');
const brokenCert = join(dir, 'broken.crt');
writeFileSync(brokenCert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

const HTTPS = 'https://127.0.0.1:8443';
type Parse = (settings: Settings) => { tlsCert?: string | undefined; tlsKey?: string | undefined };
const servers: [command: string, parse: Parse][] = [
  ['scheduler', (settings) => parseSchedulerConfig({ dataDir: dir, ...settings })],
  ['agent', (settings) => parseAgentConfig({ workDir: dir, master: HTTPS, ...settings })],
  ['dns', (settings) => parseDnsConfig({ master: HTTPS, ...settings })],
  ['lb', (settings) => parseLbConfig({ master: HTTPS, ...settings })],
];

test('--tls-cert/--tls-key: both or neither, readable PEM, the key of the certificate (table-driven, every server)', () => {
  const cases: [what: string, settings: Settings, expected: RegExp | { tlsCert?: string; tlsKey?: string }][] = [
    ['neither', {}, {}],
    ['both, matching', { tlsCert: server.cert, tlsKey: server.key }, { tlsCert: server.cert, tlsKey: server.key }],
    ['empty strings are unset', { tlsCert: '', tlsKey: '' }, {}],
    ['key alone', { tlsKey: server.key }, /--tls-cert: missing: --tls-key needs --tls-cert/],
    ['certificate alone', { tlsCert: server.cert }, /--tls-key: missing: --tls-cert needs --tls-key/],
    ['missing certificate', { tlsCert: join(dir, 'absent.crt'), tlsKey: server.key }, /--tls-cert: .*absent\.crt: cannot read the certificate \(ENOENT\)/],
    ['missing key', { tlsCert: server.cert, tlsKey: join(dir, 'absent.key') }, /--tls-key: .*absent\.key: cannot read the private key \(ENOENT\)/],
    ['a directory', { tlsCert: dir, tlsKey: server.key }, /--tls-cert: .*cannot read the certificate \(EISDIR\)/],
    ['not PEM', { tlsCert: notPem, tlsKey: server.key }, /--tls-cert: .*not\.pem: not a PEM certificate/],
    ['a broken certificate', { tlsCert: brokenCert, tlsKey: server.key }, /--tls-cert: .*broken\.crt: a certificate in it cannot be parsed/],
    ['the key as certificate', { tlsCert: server.key, tlsKey: server.key }, /--tls-cert: .*not a PEM certificate/],
    ['the certificate as key', { tlsCert: server.cert, tlsKey: server.cert }, /--tls-key: .*not an unencrypted PEM private key/],
    ['another key', { tlsCert: server.cert, tlsKey: authority.key }, /--tls-key: .*corral-test-ca\.key is not the private key of .*127\.0\.0\.1-server\.crt/],
  ];
  for (const [command, parse] of servers) {
    for (const [what, settings, expected] of cases) {
      if (expected instanceof RegExp) {
        assert.throws(() => parse(settings), (err: Error) => {
          assert.match(err.message, expected, `${command}, ${what}`);
          assert.ok(!err.message.includes(keyBody), `${command}, ${what}: no key material in the error`);
          return true;
        });
      } else {
        const config = parse(settings);
        assert.deepEqual({ tlsCert: config.tlsCert, tlsKey: config.tlsKey }, { tlsCert: expected.tlsCert, tlsKey: expected.tlsKey }, `${command}, ${what}`);
      }
    }
  }
});

test('--ca: a readable PEM certificate; then every --master must be https (table-driven, every client part)', () => {
  const clients: [command: string, parse: (settings: Settings) => { ca?: string | undefined }][] = [
    ['agent', (settings) => parseAgentConfig({ workDir: dir, ...settings })],
    ['dns', parseDnsConfig],
    ['lb', parseLbConfig],
  ];
  const cases: [what: string, settings: Settings, expected: RegExp | string | undefined][] = [
    ['no CA, plain master', { master: 'http://127.0.0.1:8080' }, undefined],
    ['no CA, https master', { master: HTTPS }, undefined],
    ['CA, https master', { master: HTTPS, ca: authority.cert }, authority.cert],
    ['CA, one plain master of two', { master: `${HTTPS},http://127.0.0.2:8080`, ca: authority.cert }, /--master: http:\/\/127\.0\.0\.2:8080 is plain HTTP although --ca is given: use https:\/\//],
    ['missing CA', { master: HTTPS, ca: join(dir, 'absent.crt') }, /--ca: .*absent\.crt: cannot read the CA certificate \(ENOENT\)/],
    ['CA file is a key', { master: HTTPS, ca: server.key }, /--ca: .*not a PEM certificate/],
  ];
  for (const [command, parse] of clients) {
    for (const [what, settings, expected] of cases) {
      if (expected instanceof RegExp) assert.throws(() => parse(settings), expected, `${command}, ${what}`);
      else assert.equal(parse(settings).ca, expected, `${command}, ${what}`);
    }
  }
});

test('plainMasterProblems, isUntrustedCertificate, withTls, serverTls (table-driven)', () => {
  const plain: [config: { ca?: string; masters: string[] }, problems: number][] = [
    [{ masters: ['http://a:1'] }, 0],
    [{ ca: '/ca.pem', masters: ['https://a:1', 'https://b:1'] }, 0],
    [{ ca: '/ca.pem', masters: ['https://a:1', 'http://b:1'] }, 1],
  ];
  for (const [config, problems] of plain) assert.equal(plainMasterProblems(config).length, problems, JSON.stringify(config));
  const codes: [code: unknown, untrusted: boolean][] = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', true],
    ['SELF_SIGNED_CERT_IN_CHAIN', true],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', true],
    ['CERT_HAS_EXPIRED', true],
    ['ECONNREFUSED', false],
    ['UND_ERR_CONNECT_TIMEOUT', false],
    [undefined, false],
    [42, false],
  ];
  for (const [code, untrusted] of codes) assert.equal(isUntrustedCertificate(code), untrusted, String(code));
  assert.deepEqual(withTls({ logger: false }, undefined), { logger: false });
  assert.deepEqual(withTls({ logger: false }, { cert: 'C', key: 'K' }), { logger: false, https: { cert: 'C', key: 'K' } });
  assert.equal(serverTls({}), undefined);
  assert.deepEqual(serverTls({ tlsCert: server.cert, tlsKey: server.key }), { cert: readFileSync(server.cert, 'utf8'), key: readFileSync(server.key, 'utf8') });
});
