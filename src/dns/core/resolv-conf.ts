import { ipFamily } from './ip.ts';

/** glibc reads at most three `nameserver` lines (MAXNS); later ones are ignored there too. */
const MAX_NAMESERVERS = 3;

/**
 * The upstream resolvers a resolv.conf names, in order, as `--resolvers` takes them: the
 * `nameserver` lines with a plain IP (comments and other options skipped; zone-scoped IPv6
 * addresses skipped, as UDP to them needs an interface). None: forwarding off.
 */
export function nameserversOf(resolvConf: string): string[] {
  const found: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const [keyword, address] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined || ipFamily(address) === undefined || found.includes(address)) continue;
    found.push(address);
    if (found.length === MAX_NAMESERVERS) break;
  }
  return found;
}
