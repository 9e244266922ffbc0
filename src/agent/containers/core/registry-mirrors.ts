import { plainHttpAllowed } from './image-ref.ts';

export type MirrorsResult = { ok: true; hosts: string[] } | { ok: false; reason: string };

/**
 * `--registry-mirror` values as Docker takes them (`https://mirror.example.com`,
 * `http://127.0.0.1:5000`, or a bare `host[:port]`) → the mirrors' `host[:port]`. A plain
 * http:// mirror must be one plain HTTP is allowed for (loopback, or --insecure-registry).
 */
export function parseRegistryMirrors(values: readonly string[], insecure: readonly string[]): MirrorsResult {
  const hosts: string[] = [];
  for (const value of values) {
    const match = /^(?:(https?):\/\/)?([^/\s]+)\/?$/.exec(value);
    if (match === null) return { ok: false, reason: `--registry-mirror ${JSON.stringify(value)}: expected https://host[:port], http://host[:port] or host[:port]` };
    const host = match[2] as string;
    if (match[1] === 'http' && !plainHttpAllowed(host, insecure)) {
      return { ok: false, reason: `--registry-mirror ${value}: plain HTTP only for loopback registries or those in --insecure-registry` };
    }
    hosts.push(host);
  }
  return { ok: true, hosts };
}

/**
 * The registries.conf (containers-registries.conf(5), v2) skopeo reads for Docker Hub mirrors:
 * tried in order before docker.io itself, for tags and digests alike (as Docker's mirrors).
 * Empty without mirrors.
 */
export function registriesConf(mirrors: readonly string[], insecure: readonly string[]): string {
  if (mirrors.length === 0) return '';
  const entries = mirrors.map((host) => `[[registry.mirror]]\nlocation = ${JSON.stringify(host)}\ninsecure = ${plainHttpAllowed(host, insecure)}\n`);
  return `[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n${entries.join('\n')}`;
}
