import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AgentError } from '../errors.ts';
import { blobPath, configDigestOf, manifestDigestOf, parseImageConfig, type ImageConfig } from './core/image-config.ts';
import { parseImageRef, plainHttpAllowed, pullSource, storeNameOf } from './core/image-ref.ts';
import { registriesConf } from './core/registry-mirrors.ts';
import { unpackedManifestDigest } from './core/rootfs.ts';
import { blobsNamedBy, planImageGc, type GcImage, type GcPlan } from './core/image-gc.ts';

const run = promisify(execFile);

/**
 * skopeo waits for ever on a registry that takes the connection and never answers, and every
 * launch of that image would join the pull: half an hour is past any pull that makes progress.
 */
const DEFAULT_PULL_TIMEOUT_MS = 30 * 60_000;

export interface ImageTools {
  skopeo: string;
  umoci: string;
}

export interface ImageStoreOptions {
  /** The OCI layout all images go into (`<work-dir>/images`): layers are blobs by digest, shared by the images that have them. */
  dir: string;
  tools: ImageTools;
  /** Registries (host or host:port) plain HTTP is allowed for beside loopback ones (`--insecure-registry`). */
  insecureRegistries: readonly string[];
  /** The environment skopeo and umoci run with (the agent's clean one: PATH, LANG, TZ). */
  env: Readonly<Record<string, string>>;
  /** Docker Hub mirrors (host[:port]), tried in order before docker.io (`--registry-mirror`). */
  registryMirrors?: readonly string[];
  /**
   * The Docker config.json-form credentials skopeo reads (`--registry-auth-file`); without one, an
   * empty file of the store's: never the host's ~/.docker/config.json or containers auth.json.
   */
  authFile?: string;
  /**
   * Garbage collection after each pull or load (`--image-gc-max-size`, `--image-gc-min-age`), with
   * what tasks hold (the images and unpacked digests of the bundles) and where to say what went.
   */
  gc?: {
    maxBytes: number;
    minAgeMs: number;
    inUse: () => Promise<{ names: string[]; manifests: string[] }>;
    onCollected: (plan: GcPlan) => void;
    onFailed: (error: Error) => void;
  };
  /** How long one pull or load may take before skopeo is killed and it fails (default DEFAULT_PULL_TIMEOUT_MS). */
  pullTimeoutMs?: number;
  /** The clock for use times (tests give their own). */
  now?: () => number;
  /** Where images are unpacked once each, by manifest digest, as the read-only lower directories of overlays. */
  unpackedDir?: string;
}

/** The last line of a tool's stderr: skopeo and umoci put the reason there. */
function toolReason(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
  const line = stderr.split('\n').filter((l) => l.trim() !== '').at(-1);
  return (line ?? (error as Error).message).replace(/^time="[^"]*" level=\w+ msg="(.*)"$/, '$1');
}

/**
 * The agent's images: pulled over the OCI distribution API with skopeo (or loaded from a
 * tarball) into one OCI layout (content-addressed, digests verified by skopeo), unpacked with
 * umoci. Pulls of different images and unpacks run together (#copyIn); only garbage collection
 * runs alone. A pull of an image already being pulled waits for that one instead of starting another.
 */
export class ImageStore {
  readonly #options: ImageStoreOptions;
  readonly #pulling = new Map<string, Promise<void>>();
  /** The last collection queued (it removes blobs: alone, never beside a copy or an unpack). */
  #queue: Promise<unknown> = Promise.resolve();
  /** Copies and unpacks running: they add to the layout or read it, so they run together. */
  readonly #readers = new Set<Promise<void>>();
  #ready: Promise<void> | undefined;
  /** Unpacks into unpackedDir under way, by manifest digest: tasks of one image wait for one. */
  readonly #unpacking = new Map<string, Promise<string>>();
  /** Images a launch holds between its pull and its bundle's marker: never collected. */
  readonly #leases = new Map<string, number>();
  /** When each image (by store name) was last pulled or used; kept in `corral-usage.json`. */
  #usage: Map<string, number> | undefined;
  #usageWrite: Promise<unknown> = Promise.resolve();
  /** index.json merges, one at a time (read, replace the name's entry, rename). */
  #indexWrites: Promise<unknown> = Promise.resolve();

  constructor(options: ImageStoreOptions) {
    this.#options = options;
  }

  /** Runs `work` alone: after every earlier operation on the layout, before any later one. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = Promise.allSettled([this.#queue, ...this.#readers]).then(work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Runs `work` beside other copies and unpacks, after the collections queued before it. */
  #shared<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work);
    const settled = next.then(() => undefined, () => undefined);
    this.#readers.add(settled);
    void settled.then(() => this.#readers.delete(settled));
    return next;
  }

  /** The layout and skopeo's policy: signatures are not checked in this slice, digests are. */
  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#options.dir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.#options.dir, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      // The agent's own registries.conf, never the host's: what is pulled from where is the agent's flags alone.
      await writeFile(join(this.#options.dir, 'registries.conf'), registriesConf(this.#options.registryMirrors ?? [], this.#options.insecureRegistries));
      await writeFile(join(this.#options.dir, 'auth.json'), JSON.stringify({ auths: {} }), { mode: 0o600 });
      await mkdir(join(this.#options.dir, 'blobs', 'sha256'), { recursive: true });
      if (!existsSync(join(this.#options.dir, 'oci-layout'))) await writeFile(join(this.#options.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      // Copies cut short by a crash: their blobs, unreferenced, go at the next collection.
      for (const name of await readdir(this.#options.dir)) if (name.startsWith('.copy-')) await rm(join(this.#options.dir, name), { recursive: true, force: true });
      const unpacked = this.#options.unpackedDir;
      if (unpacked !== undefined) {
        await mkdir(unpacked, { recursive: true, mode: 0o700 });
        // Unpacks cut short by a crash: never complete, never used.
        for (const name of await readdir(unpacked)) if (name.startsWith('.partial-')) await rm(join(unpacked, name), { recursive: true, force: true });
      }
    })();
    return this.#ready;
  }

  /**
   * Makes sure the image is in the store: pulled when missing, or always with `force`
   * (Marathon's forcePullImage). Throws an ERR_AGENT_IMAGE saying what failed.
   */
  async pull(image: string, force: boolean): Promise<void> {
    const parsed = parseImageRef(image);
    if (!parsed.ok) throw new AgentError('ERR_AGENT_IMAGE', parsed.reason);
    await this.#prepare();
    if (!force && (await this.#manifestDigest(image)) !== undefined) return;
    const name = storeNameOf(image);
    const pending = this.#pulling.get(name);
    if (pending !== undefined) return pending;
    const plain = plainHttpAllowed(parsed.ref.registry, this.#options.insecureRegistries);
    // Credentials by file (skopeo does basic and the bearer-token flow with them): never on argv.
    const authFile = this.#options.authFile ?? join(this.#options.dir, 'auth.json');
    const source = ['--src-authfile', authFile, ...(plain ? ['--src-tls-verify=false'] : []), pullSource(parsed.ref)];
    const pull = this.#copyIn(name, source, `Failed to pull image ${image}`).finally(() => this.#pulling.delete(name));
    this.#pulling.set(name, pull);
    await pull;
    await this.#afterAdding(image);
  }

  /** A new image in the layout: its use time is now, and the store may have grown past its limit. */
  async #afterAdding(image: string): Promise<void> {
    await this.touch(image);
    if (this.#options.gc !== undefined) void this.collect().catch((error: unknown) => this.#options.gc?.onFailed(error as Error));
  }

  /** Holds the image against garbage collection until the returned release is called. */
  hold(image: string): () => void {
    const name = storeNameOf(image);
    this.#leases.set(name, (this.#leases.get(name) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#leases.get(name) ?? 1) - 1;
      if (left > 0) this.#leases.set(name, left);
      else this.#leases.delete(name);
    };
  }

  async #usageMap(): Promise<Map<string, number>> {
    if (this.#usage === undefined) {
      const saved = await readFile(join(this.#options.dir, 'corral-usage.json'), 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => ({}));
      this.#usage = new Map(Object.entries(saved).filter((e): e is [string, number] => typeof e[1] === 'number'));
    }
    return this.#usage;
  }

  /** Records that a task used (or a pull brought) the image now. */
  async touch(image: string): Promise<void> {
    const usage = await this.#usageMap();
    usage.set(storeNameOf(image), (this.#options.now ?? Date.now)());
    const text = JSON.stringify(Object.fromEntries(usage));
    const path = join(this.#options.dir, 'corral-usage.json');
    this.#usageWrite = this.#usageWrite.then(async () => {
      await writeFile(`${path}.tmp`, text);
      await rename(`${path}.tmp`, path);
    }).catch(() => undefined);
    await this.#usageWrite;
  }

  /** The layout's bytes (its blobs) and images, for /state. */
  async size(): Promise<{ bytes: number; images: number }> {
    const sizes = await this.#blobSizes();
    const index = await readFile(join(this.#options.dir, 'index.json'), 'utf8').then((text) => JSON.parse(text) as { manifests?: unknown[] }, () => ({ manifests: [] }));
    return { bytes: [...sizes.values()].reduce((a, b) => a + b, 0), images: index.manifests?.length ?? 0 };
  }

  async #blobSizes(): Promise<Map<string, number>> {
    const dir = join(this.#options.dir, 'blobs', 'sha256');
    const names = await readdir(dir).catch(() => []);
    const sizes = new Map<string, number>();
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info !== undefined) sizes.set(`sha256:${name}`, info.size);
    }
    return sizes;
  }

  /**
   * Removes unused images when the layout is over `gc.maxBytes` (planImageGc): alone on the
   * layout (no pull rewrites index.json, no unpack reads it meanwhile). index.json is rewritten
   * first, so a crash in between leaves only unreferenced blobs, collected the next time.
   */
  async collect(): Promise<GcPlan | undefined> {
    const gc = this.#options.gc;
    if (gc === undefined) return undefined;
    return this.#exclusive(async () => {
      const indexPath = join(this.#options.dir, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests?: Array<{ digest?: string; annotations?: Record<string, string> }> };
      const usage = await this.#usageMap();
      const images: GcImage[] = [];
      for (const entry of index.manifests ?? []) {
        const name = entry.annotations?.['org.opencontainers.image.ref.name'];
        if (name === undefined || typeof entry.digest !== 'string') continue;
        const manifest = await this.#blob(entry.digest).catch(() => undefined);
        images.push({ name, manifest: entry.digest, blobs: [entry.digest, ...blobsNamedBy(manifest)], lastUsedMs: usage.get(name) });
      }
      const held = await gc.inUse();
      const unpackedDir = this.#options.unpackedDir;
      const unpacked = unpackedDir === undefined ? [] : (await readdir(unpackedDir).catch(() => [])).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
      const plan = planImageGc({
        images,
        blobSizes: await this.#blobSizes(),
        inUse: new Set([...held.names, ...this.#leases.keys(), ...this.#pulling.keys()]),
        unpackedInUse: new Set([...held.manifests, ...this.#unpacking.keys()]),
        unpacked,
        nowMs: (this.#options.now ?? Date.now)(),
        minAgeMs: gc.minAgeMs,
        maxBytes: gc.maxBytes,
      });
      if (plan.removeImages.length === 0 && plan.removeBlobs.length === 0 && plan.removeUnpacked.length === 0) return plan;
      const gone = new Set(plan.removeImages);
      const manifests = (index.manifests ?? []).filter((m) => !gone.has(m.annotations?.['org.opencontainers.image.ref.name'] ?? ''));
      await writeFile(`${indexPath}.tmp`, JSON.stringify({ ...index, manifests }));
      await rename(`${indexPath}.tmp`, indexPath);
      for (const name of plan.removeImages) usage.delete(name);
      for (const blob of plan.removeBlobs) await rm(join(this.#options.dir, 'blobs', 'sha256', blob.slice('sha256:'.length)), { force: true });
      for (const digest of plan.removeUnpacked) if (unpackedDir !== undefined) await rm(join(unpackedDir, digest.slice('sha256:'.length)), { recursive: true, force: true });
      gc.onCollected(plan);
      return plan;
    });
  }

  /**
   * Copies the image from a tarball in the sandbox (`docker-archive:`/`oci-archive:` source) into
   * the store under its name, every time: the fetched file is what the task says to run.
   */
  async load(image: string, source: string, archiveName: string): Promise<void> {
    await this.#prepare();
    await this.#copyIn(storeNameOf(image), [source], `Failed to load image ${image} from ${archiveName}`);
    await this.#afterAdding(image);
  }

  /**
   * skopeo copies `source` (its args) into a layout of its own beside the store's, writing blobs
   * straight into the store's (`--dest-shared-blob-dir`: by digest, through a temporary file and a
   * rename, so copies side by side share and never tear them, and blobs already there are not
   * fetched again); its index entry is then merged into the store's index.json, one merge at a
   * time. So copies of different images run together (beside unpacks too), never beside a collection.
   */
  #copyIn(name: string, source: readonly string[], failure: string): Promise<void> {
    return this.#shared(async () => {
      const dir = this.#options.dir;
      const staging = await mkdtemp(join(dir, '.copy-'));
      try {
        // --registries-conf (a hidden flag of skopeo's; CONTAINERS_REGISTRIES_CONF is not read by skopeo 1.9).
        const args = ['--policy', join(dir, 'policy.json'), '--registries-conf', join(dir, 'registries.conf'), 'copy', '--quiet', '--dest-shared-blob-dir', join(dir, 'blobs'), ...source, `oci:${staging}:${name}`];
        const timeout = this.#options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
        try {
          await run(this.#options.tools.skopeo, args, { maxBuffer: 4 * 2 ** 20, env: this.#options.env, timeout, killSignal: 'SIGKILL' });
        } catch (error) {
          const timedOut = (error as { killed?: boolean }).killed === true;
          throw new AgentError('ERR_AGENT_IMAGE', `${failure}: ${timedOut ? `no answer within ${timeout} ms` : toolReason(error)}`, { cause: error });
        }
        const copied = JSON.parse(await readFile(join(staging, 'index.json'), 'utf8')) as { manifests?: unknown[] };
        await this.#mergeIndex(name, copied.manifests ?? []);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  /** Puts `entries` in index.json in place of the name's (a rename: umoci reading it sees the old or the new). */
  #mergeIndex(name: string, entries: readonly unknown[]): Promise<void> {
    const merge = this.#indexWrites.then(async () => {
      const path = join(this.#options.dir, 'index.json');
      const index = await readFile(path, 'utf8').then((text) => JSON.parse(text) as { manifests?: unknown[] }, () => ({ schemaVersion: 2, manifests: [] }));
      const refName = (m: unknown): unknown => (m as { annotations?: Record<string, unknown> } | null)?.annotations?.['org.opencontainers.image.ref.name'];
      const manifests = [...(index.manifests ?? []).filter((m) => refName(m) !== name), ...entries.filter((m) => refName(m) === name)];
      await writeFile(`${path}.tmp`, JSON.stringify({ ...index, manifests }));
      await rename(`${path}.tmp`, path);
    });
    this.#indexWrites = merge.catch(() => undefined);
    return merge;
  }

  /** The image's config (entrypoint, cmd, env, working dir, user). */
  async config(image: string): Promise<ImageConfig> {
    const manifestDigest = await this.#manifestDigest(image);
    const manifest = manifestDigest === undefined ? undefined : await this.#blob(manifestDigest);
    const configDigest = configDigestOf(manifest);
    if (configDigest === undefined) throw new AgentError('ERR_AGENT_IMAGE', `image ${image} is not in the store, or its manifest names no config`);
    return parseImageConfig(await this.#blob(configDigest));
  }

  /** The image's manifest digest in the store (what the task runs), if it is there. */
  async #manifestDigest(image: string): Promise<string | undefined> {
    let index: unknown;
    try {
      index = JSON.parse(await readFile(join(this.#options.dir, 'index.json'), 'utf8'));
    } catch {
      return undefined;
    }
    return manifestDigestOf(index, storeNameOf(image));
  }

  /** The image's manifest digest in the store, or undefined when it has not been pulled. */
  async digest(image: string): Promise<string | undefined> {
    return this.#manifestDigest(image);
  }

  async #blob(digest: string): Promise<unknown> {
    const path = blobPath(digest);
    if (path === undefined) throw new AgentError('ERR_AGENT_IMAGE', `malformed digest ${digest} in the image store`);
    return JSON.parse(await readFile(join(this.#options.dir, ...path), 'utf8'));
  }

  /** Unpacks the image into `bundle/rootfs` (umoci, as root: owners and modes as in the image). */
  async unpack(image: string, bundle: string): Promise<void> {
    await this.#shared(async () => {
      try {
        await run(this.#options.tools.umoci, ['unpack', '--image', `${this.#options.dir}:${storeNameOf(image)}`, bundle], { maxBuffer: 4 * 2 ** 20, env: this.#options.env });
      } catch (error) {
        throw new AgentError('ERR_AGENT_IMAGE', `Failed to unpack image ${image}: ${toolReason(error)}`, { cause: error });
      }
    });
  }

  /**
   * The image's root filesystem unpacked once (`<unpackedDir>/<digest hex>/rootfs`), the
   * read-only lower directory of its tasks' overlays. It is unpacked into a partial directory
   * and renamed when complete, under the digest umoci says it unpacked: a directory there is whole.
   */
  async unpacked(image: string): Promise<string> {
    const dir = this.#options.unpackedDir;
    if (dir === undefined) throw new AgentError('ERR_AGENT_IMAGE', 'this image store unpacks no shared root filesystems');
    await this.#prepare();
    const digest = await this.#manifestDigest(image);
    if (digest === undefined || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new AgentError('ERR_AGENT_IMAGE', `image ${image} is not in the store`);
    const rootfsOf = (d: string): string => join(dir, d.slice('sha256:'.length), 'rootfs');
    if (existsSync(rootfsOf(digest))) return rootfsOf(digest);
    const pending = this.#unpacking.get(digest);
    if (pending !== undefined) return pending;
    const unpack = this.#shared(async () => {
      const partial = await mkdtemp(join(dir, '.partial-'));
      try {
        const bundle = join(partial, 'bundle');
        await run(this.#options.tools.umoci, ['unpack', '--image', `${this.#options.dir}:${storeNameOf(image)}`, bundle], { maxBuffer: 4 * 2 ** 20, env: this.#options.env });
        const got = unpackedManifestDigest(JSON.parse(await readFile(join(bundle, 'umoci.json'), 'utf8')));
        if (got === undefined) throw new Error('umoci.json names no manifest');
        // A forced pull may have moved the tag since: the directory is named for what was unpacked.
        if (!existsSync(rootfsOf(got))) await rename(bundle, join(dir, got.slice('sha256:'.length)));
        return rootfsOf(got);
      } catch (error) {
        throw new AgentError('ERR_AGENT_IMAGE', `Failed to unpack image ${image}: ${toolReason(error)}`, { cause: error });
      } finally {
        await rm(partial, { recursive: true, force: true });
      }
    }).finally(() => this.#unpacking.delete(digest));
    this.#unpacking.set(digest, unpack);
    return unpack;
  }
}
