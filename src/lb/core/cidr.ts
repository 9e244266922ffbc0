/**
 * IPv4/IPv6 address ranges for `HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL`, as plain data (the
 * core may not use node:net). An IPv4 address is compared as its IPv4-mapped IPv6 form, so a
 * client reaching a dual-stack socket as `::ffff:10.0.0.1` matches `10.0.0.0/8`.
 */

export interface Cidr {
  /** The network address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96). */
  readonly network: string;
  /** Prefix length out of 128. */
  readonly prefix: number;
  /** As written in the label, for reports. */
  readonly text: string;
}

const V4_MAPPED = 0xffffn << 32n;

/** Parses `10.0.0.0/8`, `10.1.2.3`, `fd00::/8` or `::1`; undefined when it is not an address range. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText, ...rest] = text.trim().split('/');
  if (address === undefined || rest.length > 0) return undefined;
  const v4 = parseIpv4(address);
  const value = v4 ?? parseIpv6(address);
  if (value === undefined) return undefined;
  const width = v4 === undefined ? 128 : 32;
  let prefix = width;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return undefined;
    prefix = Number(prefixText);
  }
  const full = width === 32 ? prefix + 96 : prefix;
  return { network: mask(value, full).toString(), prefix: full, text: text.trim() };
}

/** True when `address` (as Node reports a peer, e.g. `127.0.0.1` or `::ffff:127.0.0.1`) is in one of `ranges`. */
export function inRanges(address: string | undefined, ranges: readonly Cidr[]): boolean {
  if (address === undefined) return false;
  const value = parseIpv4(address) ?? parseIpv6(address);
  if (value === undefined) return false;
  return ranges.some((range) => mask(value, range.prefix).toString() === range.network);
}

function mask(value: bigint, prefix: number): bigint {
  const hostBits = BigInt(128 - prefix);
  return (value >> hostBits) << hostBits;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((sum, part) => (sum << 8n) | BigInt(Number(part)), 0n) | V4_MAPPED;
}

function parseIpv6(text: string): bigint | undefined {
  const zoneless = text.replace(/%.*$/, '');
  const halves = zoneless.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): string[] | undefined => {
    if (half === undefined || half === '') return [];
    const items = half.split(':');
    // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
    const last = items.at(-1) ?? '';
    if (last.includes('.')) {
      const v4 = parseIpv4(last);
      if (v4 === undefined) return undefined;
      const low = Number(v4 & 0xffffffffn);
      items.splice(-1, 1, (low >>> 16).toString(16), (low & 0xffff).toString(16));
    }
    return items;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.reduce((sum, group) => (sum << 16n) | BigInt(parseInt(group, 16)), 0n);
}
