/** One image of the agent's OCI layout, as garbage collection sees it. */
export interface GcImage {
  /** Its name in the layout (the ref name). */
  name: string;
  /** Its manifest digest. */
  manifest: string;
  /** Every blob it needs: manifest, config, layers. */
  blobs: readonly string[];
  /** When a task last used it or it was last pulled (ms); undefined: not known yet, so kept. */
  lastUsedMs: number | undefined;
}

export interface GcInput {
  images: readonly GcImage[];
  /** Every blob in the layout and its size, referenced or not. */
  blobSizes: ReadonlyMap<string, number>;
  /** Names a running task, a launch or a pull holds: never removed. */
  inUse: ReadonlySet<string>;
  /** Manifest digests whose unpacked root filesystem a task's overlay (or an unpack under way) uses. */
  unpackedInUse: ReadonlySet<string>;
  /** Manifest digests unpacked on the agent (lower directories of overlays). */
  unpacked: readonly string[];
  nowMs: number;
  /** `--image-gc-min-age`: an image used more recently is kept. */
  minAgeMs: number;
  /** `--image-gc-max-size`: the layout's bytes above which unused images go. */
  maxBytes: number;
}

export interface GcPlan {
  /** Names to drop from index.json, oldest-used first. */
  removeImages: string[];
  /** Blobs no kept image needs. */
  removeBlobs: string[];
  /** Unpacked root filesystems of no kept image and no task. */
  removeUnpacked: string[];
  bytesBefore: number;
  bytesAfter: number;
}

const sum = (blobs: Iterable<string>, sizes: ReadonlyMap<string, number>): number => [...blobs].reduce((total, blob) => total + (sizes.get(blob) ?? 0), 0);

/**
 * Which images go when the layout is over `maxBytes`: unused ones (no task, no pull, not used
 * within `minAgeMs`), oldest-used first, until what the kept images need fits. Layers shared with
 * a kept image stay. Nothing goes while the layout fits.
 */
export function planImageGc(input: GcInput): GcPlan {
  const bytesBefore = sum(input.blobSizes.keys(), input.blobSizes);
  const none: GcPlan = { removeImages: [], removeBlobs: [], removeUnpacked: [], bytesBefore, bytesAfter: bytesBefore };
  if (bytesBefore <= input.maxBytes) return none;
  const removable = input.images
    .filter((image) => !input.inUse.has(image.name) && image.lastUsedMs !== undefined && input.nowMs - image.lastUsedMs >= input.minAgeMs)
    .sort((a, b) => (a.lastUsedMs ?? 0) - (b.lastUsedMs ?? 0) || (a.name < b.name ? -1 : 1));
  const kept = new Set(input.images.map((image) => image.name));
  const needed = (): Set<string> => new Set(input.images.filter((image) => kept.has(image.name)).flatMap((image) => image.blobs));
  const removeImages: string[] = [];
  let bytesAfter = sum(needed(), input.blobSizes);
  for (const image of removable) {
    if (bytesAfter <= input.maxBytes) break;
    kept.delete(image.name);
    removeImages.push(image.name);
    bytesAfter = sum(needed(), input.blobSizes);
  }
  const keep = needed();
  const keptManifests = new Set(input.images.filter((image) => kept.has(image.name)).map((image) => image.manifest));
  return {
    removeImages,
    removeBlobs: [...input.blobSizes.keys()].filter((blob) => !keep.has(blob)).sort(),
    removeUnpacked: input.unpacked.filter((digest) => !keptManifests.has(digest) && !input.unpackedInUse.has(digest)).sort(),
    bytesBefore,
    bytesAfter,
  };
}

/** The blobs a manifest or index names (config, layers, child manifests). */
export function blobsNamedBy(manifest: unknown): string[] {
  const m = (manifest ?? {}) as { config?: { digest?: unknown }; layers?: unknown; manifests?: unknown };
  const digests = [m.config?.digest, ...(Array.isArray(m.layers) ? m.layers : []).map((l: { digest?: unknown } | null) => l?.digest), ...(Array.isArray(m.manifests) ? m.manifests : []).map((l: { digest?: unknown } | null) => l?.digest)];
  return digests.filter((d): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d));
}
