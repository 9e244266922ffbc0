import { ipFamily } from './ip.ts';

/**
 * The reverse-lookup owner name of an IP: `11.0.0.127.in-addr.arpa` (RFC 1035 §3.5), or the
 * nibble form under `ip6.arpa` (RFC 3596 §2.5). Undefined for anything that is not an IP literal.
 */
export function reverseName(ip: string): string | undefined {
  const family = ipFamily(ip);
  if (family === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  if (family !== 6) return undefined;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = groups(tail);
  const full = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${[...full.map((group) => group.padStart(4, '0')).join('')].reverse().join('.')}.ip6.arpa`;
}

/** True for names under the reverse trees, where the table answers only names it has. */
export function isReverseName(name: string): boolean {
  return name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa');
}
