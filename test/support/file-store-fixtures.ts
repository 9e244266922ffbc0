import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { applyOps, type emptyState } from '../../src/scheduler/core/state-ops.ts';
import { FileStore, type FileStoreOptions } from '../../src/scheduler/store/file-store.ts';
import type { CommitRecord } from '../../src/scheduler/store/state-store.ts';
import type { StateOp } from '../../src/scheduler/types.ts';

export const silentLogger = pino({ level: 'silent' });

/** Record n: puts meta key `k<n>` and carries event id n. */
export function record(n: number): CommitRecord {
  const op: StateOp = { op: 'put', coll: 'meta', key: `k${n}`, value: n };
  return { ops: [op], events: [{ eventId: n, event: { eventType: 'app_terminated_event', timestamp: 't', appId: `/a${n}` } }] };
}

export async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-store-'));
  try {
    await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends record(from..to), one at a time, over `loaded`; the store's revision after. */
export async function appendRange(store: FileStore, loaded: { state: ReturnType<typeof emptyState>; revision: number }, from: number, to: number): Promise<number> {
  let { state, revision } = loaded;
  for (let n = from; n <= to; n += 1) {
    state = applyOps(state, record(n).ops);
    revision = await store.append([record(n)], state, revision);
  }
  return revision;
}

/** Writes record(1..count) through a store that compacts as soon as the log is as large as the snapshot. */
export async function writeRecords(dir: string, count: number, compactEvery = 1000): Promise<void> {
  const store = new FileStore({ dir, logger: silentLogger, compactEvery, logToSnapshot: 1 });
  await appendRange(store, await store.load(), 1, count);
  await store.close();
}

/** Loads the store in `dir`, then closes it (releasing the data dir) and hands back what it loaded. */
export async function loadOnce(dir: string, options: Partial<FileStoreOptions> = {}): ReturnType<FileStore['load']> {
  const store = new FileStore({ dir, logger: silentLogger, ...options });
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

export const logLines = (dir: string, name = 'state.log'): number => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).length;
export const segments = (dir: string): string[] => readdirSync(dir).filter((name) => /^state\.log\.\d+$/.test(name)).sort();
export const snapshots = (dir: string): string[] => readdirSync(dir).filter((name) => /^state\.snapshot\.\d+\.json$/.test(name)).sort();
