/**
 * Registry credentials in the Docker `config.json` form skopeo's `--authfile` reads:
 * `{"auths": {"host[:port]": {"auth": base64("user:password")}}}` (or `identitytoken`, an OAuth
 * refresh token for the token flow). Only checked here: skopeo reads the file itself at each pull,
 * so no secret passes through the agent's memory, argv, logs or messages. A reason never quotes
 * the file's content.
 */
export function parseRegistryAuth(text: string, source: string): { ok: true; registries: string[] } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${source} is not JSON` };
  }
  const auths = (json as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) return { ok: false, reason: `${source} has no "auths" object (Docker config.json form)` };
  const registries: string[] = [];
  for (const [registry, entry] of Object.entries(auths as Record<string, unknown>)) {
    // Docker's own key for Docker Hub is a URL; skopeo takes both.
    if (!/^(?:https?:\/\/)?[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[^\s]*)?$/.test(registry)) return { ok: false, reason: `${source}: ${JSON.stringify(registry)} is not a registry host[:port]` };
    const { auth, identitytoken } = (entry ?? {}) as { auth?: unknown; identitytoken?: unknown };
    if (typeof identitytoken === 'string' && identitytoken !== '') {
      registries.push(registry);
      continue;
    }
    if (typeof auth !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(auth)) return { ok: false, reason: `${source}: the entry of ${registry} has no base64 "auth"` };
    if (!Buffer.from(auth, 'base64').toString('utf8').includes(':')) return { ok: false, reason: `${source}: the "auth" of ${registry} is not base64 of user:password` };
    registries.push(registry);
  }
  return { ok: true, registries };
}
