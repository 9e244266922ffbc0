/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and says where the time went: self time and
 * inclusive time per function, as `file:line function`. Under tsx the profile's positions are
 * those of the transformed (whitespace-minified) JavaScript; they are mapped back to the .ts
 * line through the source map tsx keeps in its cache (os.tmpdir()/tsx-<uid>). When that fails
 * the line is looked up by the function's name in the .ts file and marked `~`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  /** `src/scheduler/core/state-ops.ts:13 applyOps`, or `(gc)`, `node:internal/... fn`. */
  where: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time sampled in something other than (idle)/(program). */
  busyMs: number;
  self: ProfileEntry[];
  /** Our own functions (under `root`), by time spent in them and everything they called. */
  inclusive: ProfileEntry[];
}

const sourceCache = new Map<string, string[] | undefined>();

function sourceLines(path: string): string[] | undefined {
  if (!sourceCache.has(path)) {
    try {
      sourceCache.set(path, readFileSync(path, 'utf8').split('\n'));
    } catch {
      sourceCache.set(path, undefined);
    }
  }
  return sourceCache.get(path);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** 1-based line of `name`'s declaration in `path`, or undefined. */
function declarationLine(path: string, name: string): number | undefined {
  const lines = sourceLines(path);
  if (lines === undefined || name === '') return undefined;
  const bare = escape(name.replace(/^get |^set /, '').split('.').at(-1) ?? name);
  const patterns = [
    new RegExp(`function\\*?\\s+${bare}\\s*[<(]`),
    new RegExp(`^\\s*(?:(?:public|private|static|async|readonly|get|set)\\s+)*${bare}\\s*[<(]`),
    new RegExp(`(?:const|let|var)\\s+${bare}\\s*=`),
    new RegExp(`^\\s*${bare}\\s*[:=]\\s*(?:async\\s*)?\\(`),
  ];
  for (const pattern of patterns) {
    const index = lines.findIndex((line) => pattern.test(line));
    if (index !== -1) return index + 1;
  }
  return undefined;
}

interface Transform {
  code: string;
  map: SourceMapPayload;
  mtimeMs: number;
}

let transforms: Map<string, Transform[]> | undefined;

/** tsx's cache of transformed files, by source path: `{code, map}` JSON, one file per content hash. */
function tsxTransforms(): Map<string, Transform[]> {
  if (transforms !== undefined) return transforms;
  transforms = new Map();
  const dir = join(tmpdir(), `tsx-${process.geteuid?.() ?? userInfo().username}`);
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return transforms;
  }
  for (const entry of entries) {
    try {
      const path = join(dir, entry);
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { code?: string; map?: SourceMapPayload };
      const source = parsed.map?.sources?.[0];
      if (parsed.code === undefined || parsed.map === undefined || source === undefined) continue;
      const list = transforms.get(source) ?? [];
      list.push({ code: parsed.code, map: parsed.map, mtimeMs: statSync(path).mtimeMs });
      transforms.set(source, list);
    } catch {
      // not a transform entry
    }
  }
  return transforms;
}

/**
 * The transform of `path` that this profile ran: several versions of a file may be cached, so
 * each is scored by how many of the profile's named functions sit where the profile says.
 */
function pickTransform(path: string, frames: readonly CallFrame[]): SourceMap | undefined {
  const candidates = tsxTransforms().get(path) ?? [];
  let best: { transform: Transform; score: number } | undefined;
  for (const transform of candidates) {
    let score = 0;
    for (const frame of frames) {
      if (frame.functionName === '' || frame.lineNumber !== 0) continue;
      const name = frame.functionName.replace(/^#/, '');
      const at = transform.code.indexOf(name, Math.max(0, frame.columnNumber - 40));
      if (at !== -1 && at <= frame.columnNumber + 40) score += 1;
    }
    if (best === undefined || score > best.score || (score === best.score && transform.mtimeMs > best.transform.mtimeMs)) best = { transform, score };
  }
  return best === undefined ? undefined : new SourceMap(best.transform.map);
}

function pathOf(url: string): string {
  if (!url.startsWith('file://')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

function describe(frame: CallFrame, root: string, maps: ReadonlyMap<string, SourceMap | undefined>): { where: string; ours: boolean } {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return { where: name, ours: false };
  const path = pathOf(frame.url);
  const ours = path.startsWith(root) && !path.includes('node_modules');
  const shown = path.startsWith(root) ? relative(root, path) : path.replace(/^.*node_modules\//, '');
  if (!ours) return { where: `${shown}:${frame.lineNumber + 1} ${name}`, ours };
  const entry = maps.get(path)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry !== undefined && 'originalLine' in entry) return { where: `${shown}:${entry.originalLine + 1} ${name}`, ours };
  const line = declarationLine(path, frame.functionName);
  return { where: `${shown}:${line ?? `~${frame.lineNumber + 1}`} ${name}`, ours };
}

/**
 * A span of a run in microseconds of the monotonic clock. V8 stamps profiles with the same
 * clock as `process.hrtime` (CLOCK_MONOTONIC, system-wide), so another process can say which
 * span it cares about: `monotonicMicros()` at its start and end.
 */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Summarises one profile, or the samples within `window`; `root` is the repository, so our files show relative to it. */
export function summarizeProfile(file: string, root: string, top = 20, window?: ProfileWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const framesByPath = new Map<string, CallFrame[]>();
  for (const node of profile.nodes) {
    const path = pathOf(node.callFrame.url);
    if (!path.startsWith(root) || path.includes('node_modules')) continue;
    framesByPath.set(path, [...(framesByPath.get(path) ?? []), node.callFrame]);
  }
  const maps = new Map([...framesByPath].map(([path, frames]) => [path, pickTransform(path, frames)]));
  const described = new Map(profile.nodes.map((node) => [node.id, describe(node.callFrame, root, maps)]));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let busyUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i] as number;
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    totalUs += us;
    const node = byId.get(id);
    const name = node?.callFrame.functionName ?? '';
    if (name === '(idle)' || name === '(program)') continue;
    busyUs += us;
    const here = described.get(id)?.where ?? '?';
    self.set(here, (self.get(here) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const entry = described.get(at);
      if (entry === undefined || !entry.ours || seen.has(entry.where)) continue;
      seen.add(entry.where);
      inclusive.set(entry.where, (inclusive.get(entry.where) ?? 0) + us);
    }
  }
  const rank = (counts: Map<string, number>): ProfileEntry[] => [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({ where, ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, self: rank(self), inclusive: rank(inclusive) };
}

export function formatProfile(summary: ProfileSummary, title: string): string[] {
  const row = (entry: ProfileEntry): string => `  ${(entry.ms / 1000).toFixed(2).padStart(8)} s ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.where}`;
  return [
    '',
    `${title}: ${(summary.busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s sampled`,
    '  self time (top):',
    ...summary.self.map(row),
    '  inclusive time in our code (top; % of busy):',
    ...summary.inclusive.map(row),
  ];
}
