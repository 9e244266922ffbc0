import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nameserversOf } from '../../src/dns/core/resolv-conf.ts';

test('nameserversOf: the nameserver lines of a resolv.conf, as --resolvers takes them (table-driven)', () => {
  const cases: [about: string, text: string, resolvers: string[]][] = [
    ['systemd-resolved\'s stub', '# managed by systemd\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n', ['127.0.0.53']],
    ['several, in order, IPv6 too', 'nameserver 10.0.0.2\nnameserver 2001:db8::53\nnameserver 10.0.0.3\n', ['10.0.0.2', '2001:db8::53', '10.0.0.3']],
    ['at most three, as glibc', 'nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['commented, indented and trailing comments', '#nameserver 10.0.0.9\n;nameserver 10.0.0.8\n  nameserver\t10.0.0.7 # office\n', ['10.0.0.7']],
    ['not an IP, a zone-scoped IPv6 or a repeat', 'nameserver dns.example\nnameserver fe80::1%eth0\nnameserver 10.0.0.5\nnameserver 10.0.0.5\n', ['10.0.0.5']],
    ['no nameserver line: forwarding off', 'search example.com\noptions ndots:2\n', []],
    ['an empty file', '', []],
  ];
  for (const [about, text, resolvers] of cases) assert.deepEqual(nameserversOf(text), resolvers, about);
});
