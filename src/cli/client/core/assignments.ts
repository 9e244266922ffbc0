/** Top-level fields whose values Marathon wants as strings even when they look like numbers. */
const STRING_MAPS = new Set(['env', 'labels']);

export type Assignments = { ok: true; patch: Record<string, unknown> } | { ok: false; error: string };

/** A value as typed: JSON when it parses as JSON (numbers, booleans, null, arrays, objects), else the text. */
function valueOf(text: string): unknown {
  if (/^(-?\d|true$|false$|null$|\[|\{|")/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * `key=value` words as a partial app definition: `instances=3`, `cmd=python3 -m http.server`,
 * `env.DB=postgres://db`, `labels.HAPROXY_GROUP=external`, `healthChecks=[...]`. Dots nest;
 * values under `env` and `labels` stay strings.
 */
export function parseAssignments(words: readonly string[]): Assignments {
  const patch: Record<string, unknown> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) return { ok: false, error: `'${word}' is not key=value (e.g. instances=3, env.NAME=value)` };
    const path = word.slice(0, eq).split('.');
    if (path.some((part) => part === '')) return { ok: false, error: `'${word.slice(0, eq)}' has an empty part` };
    const top = path[0] as string;
    const raw = word.slice(eq + 1);
    const value = STRING_MAPS.has(top) && path.length > 1 ? raw : valueOf(raw);
    let target = patch;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) {
        return { ok: false, error: `'${word.slice(0, eq)}' sets a field inside '${part}', which is already set to a value` };
      }
      target = (next ?? (target[part] = {})) as Record<string, unknown>;
    }
    target[path.at(-1) as string] = value;
  }
  return { ok: true, patch };
}
