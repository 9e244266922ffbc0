/** Fields every version differs in: not part of what an operator changed. */
const IGNORED = new Set(['/version', '/versionInfo']);

export type Change =
  | { path: string; kind: 'added'; after: unknown }
  | { path: string; kind: 'removed'; before: unknown }
  | { path: string; kind: 'changed'; before: unknown; after: unknown };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON Pointer escaping (RFC 6901), so a label key with `/` stays one step. */
const step = (key: string): string => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Leaves of a JSON value by path (`/healthChecks/0/path`); an empty object or array is a leaf. */
function leaves(value: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (IGNORED.has(path)) return out;
  if (Array.isArray(value) && value.length > 0) value.forEach((item, i) => leaves(item, `${path}/${i}`, out));
  else if (isObject(value) && Object.keys(value).length > 0) for (const [k, v] of Object.entries(value)) leaves(v, `${path}${step(k)}`, out);
  else out.set(path, value);
  return out;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What changed from one app version to another, leaf by leaf, in path order. */
export function diffVersions(before: unknown, after: unknown): Change[] {
  const a = leaves(before, '', new Map());
  const b = leaves(after, '', new Map());
  const changes: Change[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (!b.has(path)) changes.push({ path, kind: 'removed', before: a.get(path) });
    else if (!a.has(path)) changes.push({ path, kind: 'added', after: b.get(path) });
    else if (!same(a.get(path), b.get(path))) changes.push({ path, kind: 'changed', before: a.get(path), after: b.get(path) });
  }
  return changes;
}
