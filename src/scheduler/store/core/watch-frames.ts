/**
 * The frames of etcd's JSON-gateway watch (`POST /v3/watch`): a stream of JSON objects, one a
 * line, each `{"result": …}` (created, events, a progress note, or canceled — with
 * `compact_revision` when the revision asked for was compacted away) or `{"error": …}`.
 */

export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
}

export type WatchFrame =
  | { kind: 'created'; revision: number }
  /** `revision`: the store's revision when etcd sent the frame (its events are at or before it). */
  | { kind: 'events'; revision: number; events: WatchEvent[] }
  | { kind: 'progress'; revision: number }
  /** What was asked for is older than etcd's history: re-read, then watch from the read's revision. */
  | { kind: 'compacted'; compactRevision: number }
  | { kind: 'canceled'; reason: string }
  | { kind: 'error'; message: string };

export interface GatewayKv { key: string; value?: string; create_revision?: string; mod_revision?: string }

/** A key-value as the gateway sends it (key and value base64, revisions as strings). */
export function decodeKv(kv: GatewayKv): KeyValue {
  return {
    key: Buffer.from(kv.key, 'base64').toString('utf8'),
    value: Buffer.from(kv.value ?? '', 'base64'),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
  };
}

/** The complete lines of `buffered` (blank ones dropped) and what is left of an unfinished one. */
export function splitFrames(buffered: string): { lines: string[]; rest: string } {
  const end = buffered.lastIndexOf('\n');
  if (end < 0) return { lines: [], rest: buffered };
  return { lines: buffered.slice(0, end).split('\n').filter((line) => line.trim() !== ''), rest: buffered.slice(end + 1) };
}

interface GatewayFrame {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    cancel_reason?: string;
    compact_revision?: string;
    events?: Array<{ type?: string; kv?: GatewayKv }>;
  };
  error?: unknown;
  message?: unknown;
}

/** One line of the stream. An event without a type is a PUT (the gateway leaves enum zero out). */
export function parseWatchFrame(line: string): WatchFrame {
  let frame: GatewayFrame;
  try {
    frame = JSON.parse(line) as GatewayFrame;
  } catch {
    return { kind: 'error', message: `not JSON: ${line.slice(0, 80)}` };
  }
  if (typeof frame !== 'object' || frame === null) return { kind: 'error', message: `not a watch frame: ${line.slice(0, 80)}` };
  const { result } = frame;
  if (result === undefined) {
    const message = typeof frame.message === 'string' ? frame.message : typeof frame.error === 'string' ? frame.error : JSON.stringify(frame.error ?? frame).slice(0, 200);
    return { kind: 'error', message };
  }
  const compacted = Number(result.compact_revision ?? 0);
  if (compacted > 0) return { kind: 'compacted', compactRevision: compacted };
  if (result.canceled === true) return { kind: 'canceled', reason: result.cancel_reason ?? 'canceled by etcd' };
  const revision = Number(result.header?.revision ?? 0);
  if (result.created === true) return { kind: 'created', revision };
  const events = (result.events ?? []).filter((event) => event.kv !== undefined).map((event): WatchEvent => ({ type: event.type === 'DELETE' ? 'DELETE' : 'PUT', kv: decodeKv(event.kv!) }));
  return events.length === 0 ? { kind: 'progress', revision } : { kind: 'events', revision, events };
}
