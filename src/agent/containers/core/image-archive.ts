import { parseImageRef, pullSource } from './image-ref.ts';

/** The image tarballs skopeo reads: `docker save` output, or an OCI image layout in a tar. */
export type ImageArchiveKind = 'docker-archive' | 'oci-archive';

/** An archive's kind from the names at its top (by content, not by file name): undefined for any other tar. */
export function imageArchiveKind(names: readonly string[]): ImageArchiveKind | undefined {
  const top = new Set(names.map((name) => name.replace(/^\.\//, '')));
  if (top.has('oci-layout') && top.has('index.json')) return 'oci-archive';
  if (top.has('manifest.json')) return 'docker-archive';
  return undefined;
}

/** The same image as Docker reads both names (`busybox:1` is `docker.io/library/busybox:1`). */
function sameImage(a: string, b: string): boolean {
  const pa = parseImageRef(a);
  const pb = parseImageRef(b);
  return pa.ok && pb.ok && pullSource(pa.ref) === pullSource(pb.ref);
}

/**
 * skopeo's source for `image` in an archive at `file`, given the archive's `manifest.json`
 * (docker-archive) or `index.json` (oci-archive); undefined when the archive does not hold it.
 * An image is held when a RepoTag (docker) or a ref name (OCI: the full name, or its tag) names it,
 * or when the archive holds one image that has no name at all.
 */
export function imageArchiveSource(kind: ImageArchiveKind, metadata: unknown, image: string, file: string): string | undefined {
  // skopeo splits `<transport>:<path>:<ref>` at the colon after the path.
  if (file.includes(':')) return undefined;
  const wanted = parseImageRef(image);
  if (!wanted.ok || (wanted.ref.digest !== undefined && wanted.ref.tag === undefined)) return undefined;
  if (kind === 'docker-archive') {
    const images = Array.isArray(metadata) ? (metadata as Array<{ RepoTags?: unknown }>) : [];
    const tags = images.flatMap((entry) => (Array.isArray(entry?.RepoTags) ? entry.RepoTags.filter((t): t is string => typeof t === 'string') : []));
    const tag = tags.find((t) => sameImage(t, image));
    if (tag !== undefined) return `docker-archive:${file}:${tag}`;
    return images.length === 1 && tags.length === 0 ? `docker-archive:${file}` : undefined;
  }
  const manifests = (metadata as { manifests?: unknown } | null)?.manifests;
  const list = Array.isArray(manifests) ? (manifests as Array<{ annotations?: Record<string, unknown> }>) : [];
  const names = list.map((m) => m?.annotations?.['org.opencontainers.image.ref.name']).filter((n): n is string => typeof n === 'string');
  // skopeo's oci-archive ref is the ref name itself, which never holds a colon-separated path.
  const name = names.find((n) => n === image || n === wanted.ref.tag || sameImage(n, image));
  if (name !== undefined) return `oci-archive:${file}:${name}`;
  return list.length === 1 && names.length === 0 ? `oci-archive:${file}` : undefined;
}
