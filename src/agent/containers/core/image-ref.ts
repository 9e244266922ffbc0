/**
 * Docker image references: `[registry[:port]/]path[:tag][@sha256:<hex>]`. As Docker reads them,
 * the first path component is a registry only if it has a `.` or a `:` or is `localhost`;
 * otherwise the image is on Docker Hub (`docker.io`), under `library/` when it has one component.
 */
export interface ImageRef {
  registry: string;
  repository: string;
  /** Absent with a digest alone; `latest` when neither is given. */
  tag?: string;
  digest?: string;
}

export type ImageRefResult = { ok: true; ref: ImageRef } | { ok: false; reason: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

export function parseImageRef(image: string): ImageRefResult {
  const bad = (why: string): ImageRefResult => ({ ok: false, reason: `${JSON.stringify(image)} is not an image reference: ${why}` });
  const at = image.indexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const named = at === -1 ? image : image.slice(0, at);
  if (digest !== undefined && !DIGEST.test(digest)) return bad('a digest is sha256: and 64 hex digits');
  const slash = named.indexOf('/');
  const first = slash === -1 ? '' : named.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasRegistry ? first : 'docker.io';
  if (hasRegistry && !REGISTRY.test(registry)) return bad(`${registry} is not a registry host[:port]`);
  let path = hasRegistry ? named.slice(slash + 1) : named;
  // The tag is after the last colon of the path (the registry's port is gone by now).
  const colon = path.lastIndexOf(':');
  const tag = colon === -1 ? undefined : path.slice(colon + 1);
  if (colon !== -1) path = path.slice(0, colon);
  if (tag !== undefined && !TAG.test(tag)) return bad(`${JSON.stringify(tag)} is not a tag`);
  const components = path.split('/');
  if (path === '' || !components.every((c) => COMPONENT.test(c))) return bad('the name has lower-case letters, digits and separators (. _ -) between slashes');
  const repository = registry === 'docker.io' && components.length === 1 ? `library/${path}` : path;
  return { ok: true, ref: { registry, repository, ...(tag !== undefined || digest === undefined ? { tag: tag ?? 'latest' } : {}), ...(digest !== undefined ? { digest } : {}) } };
}

/** What skopeo copies from: `docker://registry/repository:tag` (the digest wins when both are given, as in Docker). */
export function pullSource(ref: ImageRef): string {
  return `docker://${ref.registry}/${ref.repository}${ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/**
 * Plain HTTP (and unverified TLS) is for registries on this machine, or those the operator lists
 * (`--insecure-registry host[:port]`, matched with or without the port): never a default.
 */
export function plainHttpAllowed(registry: string, insecure: readonly string[]): boolean {
  if (LOOPBACK.test(registry)) return true;
  const host = registry.replace(/:\d+$/, '');
  return insecure.includes(registry) || insecure.includes(host);
}

/**
 * The name an image has in the agent's OCI layout (its `org.opencontainers.image.ref.name`):
 * the reference as written, with every character other than letters, digits, `.` and `-`
 * written `_xx` (hex) so that distinct references never share a name, and skopeo's
 * `oci:<dir>:<name>` is never ambiguous.
 */
export function storeNameOf(image: string): string {
  return image.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
