import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inRanges, parseCidr } from '../../src/lb/core/cidr.ts';

test('parseCidr accepts IPv4/IPv6 addresses and ranges, nothing else', () => {
  for (const good of ['10.0.0.0/8', '10.1.55.43', '0.0.0.0/0', '::1', 'fd00::/8', '::ffff:127.0.0.1', '2001:db8::1/128', '::/0']) assert.ok(parseCidr(good), good);
  for (const bad of ['10.0.0.0/33', '256.0.0.1', '10.0.0', 'fd00::/129', '1:2:3:4:5:6:7:8:9', 'a::b::c', 'localhost', '10.0.0.0/8/1', '']) assert.equal(parseCidr(bad), undefined, bad);
});

test('inRanges matches peers as Node reports them', () => {
  const ranges = ['127.0.0.0/8', '10.1.55.43', 'fd00::/8'].map((text) => parseCidr(text)!);
  const cases: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::ffff:127.0.0.1', true],
    ['10.1.55.43', true],
    ['10.1.55.44', false],
    ['fd12::1', true],
    ['fe80::1', false],
    ['::1', false],
    [undefined, false],
    ['garbage', false],
  ];
  for (const [address, expected] of cases) assert.equal(inRanges(address, ranges), expected, String(address));
});
