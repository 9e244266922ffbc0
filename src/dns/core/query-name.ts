/** How a name from a query (or an HTTP path) is matched against the table's owner names. */
export function normalizeQueryName(name: string): string {
  // COMPAT(mesos-dns): `.*` wildcard labels are removed, so `web.*.marathon.mesos` finds `web.marathon.mesos`.
  return name.replaceAll('.*', '').replace(/\.+$/, '').toLowerCase();
}

/** True for the apex and every name below it; both arguments already normalized. */
export function isInDomain(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}
