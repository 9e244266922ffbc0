import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { UI_SECURITY_HEADERS, uiAsset, wantsHtml } from '../core/ui-assets.ts';
import { unknownPath } from './route-helpers.ts';

/** dist/ui from src/scheduler/api (tsx) and from dist/scheduler/api (built) alike. */
export const UI_DIR = join(import.meta.dirname, '..', '..', '..', 'dist', 'ui');

interface Loaded { mtimeMs: number; body: Buffer; gzipped: Buffer }

/**
 * The web UI (src/ui, issue #19) as static files at /ui/, open to all: it holds no data, and
 * the API calls it makes carry the operator's token. Files are read when asked (a rebuild shows
 * without a restart) and gzipped once per version.
 */
export function registerUiRoutes(server: FastifyInstance, dir = UI_DIR): void {
  const cache = new Map<string, Loaded>();
  const load = async (file: string): Promise<Loaded | undefined> => {
    const path = join(dir, file);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || !info.isFile()) return undefined;
    const cached = cache.get(file);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs) return cached;
    const body = await readFile(path);
    const loaded = { mtimeMs: info.mtimeMs, body, gzipped: gzipSync(body) };
    cache.set(file, loaded);
    return loaded;
  };

  server.get('/', async (request, reply) => {
    if (!wantsHtml(request.headers.accept)) throw unknownPath(request);
    return reply.redirect('/ui/', 302);
  });
  server.get('/ui', async (_request, reply) => reply.redirect('/ui/', 301));
  server.get('/ui/*', async (request, reply) => {
    const asset = uiAsset((request.params as { '*': string })['*']);
    const loaded = asset === undefined ? undefined : await load(asset.file);
    if (asset === undefined || loaded === undefined) {
      if (asset?.file === 'index.html') return reply.code(404).send({ message: `The web UI is not built (no ${join(dir, 'index.html')}); run npm run build` });
      throw unknownPath(request);
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    void reply.headers({ ...UI_SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': asset.cacheControl, vary: 'accept-encoding' });
    if (gzip) void reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? loaded.gzipped : loaded.body);
  });
}
