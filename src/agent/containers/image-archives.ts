import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import type { FetchUri } from '../../shared/agent-protocol.ts';
import { planFetch } from '../core/fetch-plan.ts';
import { imageArchiveKind, imageArchiveSource, type ImageArchiveKind } from './core/image-archive.ts';

/** manifest.json / index.json of an image archive are small; anything bigger is not one. */
const METADATA_MAX_BYTES = 4 * 2 ** 20;

/** An image tarball fetched into the sandbox, as skopeo reads it. */
export interface ImageArchive {
  /** Its name in the sandbox, for the task's messages. */
  name: string;
  /** skopeo's source (`docker-archive:<file>:<ref>` or `oci-archive:<file>:<ref>`). */
  source: string;
}

/** The top names of a tar and the text of the metadata file of each kind, or undefined for a file that is no tar. */
async function readArchive(file: string): Promise<{ kind: ImageArchiveKind; metadata: unknown } | undefined> {
  const names: string[] = [];
  const texts = new Map<string, string>();
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/^\.\//, '');
        names.push(name);
        if ((name === 'manifest.json' || name === 'index.json') && entry.size <= METADATA_MAX_BYTES) {
          let text = '';
          entry.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          entry.on('end', () => texts.set(name, text));
        }
      },
    });
  } catch {
    return undefined;
  }
  const kind = imageArchiveKind(names);
  if (kind === undefined) return undefined;
  try {
    return { kind, metadata: JSON.parse(texts.get(kind === 'oci-archive' ? 'index.json' : 'manifest.json') ?? '') };
  } catch {
    return undefined;
  }
}

/**
 * Mesos' "image from a URI": the first `.tar` the task fetched that is a `docker save` or OCI
 * archive (by its content) holding `image`; undefined when none does (the image is pulled).
 */
export async function findImageArchive(fetch: readonly FetchUri[], sandbox: string, image: string): Promise<ImageArchive | undefined> {
  for (const entry of fetch) {
    const plan = planFetch(entry);
    if (!plan.ok || !plan.value.target.endsWith('.tar')) continue;
    const file = join(sandbox, plan.value.target);
    if (!existsSync(file)) continue;
    const archive = await readArchive(file);
    const source = archive === undefined ? undefined : imageArchiveSource(archive.kind, archive.metadata, image, file);
    if (source !== undefined) return { name: plan.value.target, source };
  }
  return undefined;
}
