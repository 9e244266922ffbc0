import type { AppDefinition } from '../types.ts';

/**
 * One clause of Marathon's `label=` query (`GET /v2/apps?label=...`):
 *
 * ```
 * query    := selector { "," selector }          (all must match)
 * selector := term                                (the label exists)
 *           | term ("==" | "!=") term
 *           | term ("in" | "notin") "(" [term { "," term }] ")"
 * term     := { [A-Za-z0-9_.\-/] | "\" any }      (backslash escapes any other character)
 * ```
 */
export interface LabelSelector {
  key: string;
  op: 'exists' | '==' | '!=' | 'in' | 'notin';
  values: string[];
}

export type SelectorParse = { ok: true; selectors: LabelSelector[] } | { ok: false; error: string };

// COMPAT(marathon): Marathon's terms are [A-Za-z0-9] and backslash escapes. Corral also takes
// `_ . - /` unescaped (Kubernetes' label characters, and every HAPROXY_* key has `_`); none of
// them is an operator, so every selector Marathon accepts means the same here.
const PLAIN = /[A-Za-z0-9_.\-/]/;

/** Parses a label selector query; the error says what was expected where. */
export function parseLabelSelectors(text: string): SelectorParse {
  let pos = 0;
  const fail = (expected: string): { ok: false; error: string } => ({
    ok: false,
    error: `Can not parse label selector '${text}'. Reason: expected ${expected} at position ${pos}${pos < text.length ? ` ('${text.slice(pos, pos + 10)}')` : ' (end of input)'}`,
  });
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos += 1;
  };
  const term = (): string | undefined => {
    skipSpace();
    let out = '';
    while (pos < text.length) {
      const c = text[pos] as string;
      if (c === '\\') {
        if (pos + 1 >= text.length) return undefined;
        out += text[pos + 1];
        pos += 2;
      } else if (PLAIN.test(c)) {
        out += c;
        pos += 1;
      } else break;
    }
    return out === '' ? undefined : out;
  };
  /** A word operator (`in`, `notin`) must stand alone: `key inx` is not `key in x`. */
  const word = (w: string): boolean => {
    skipSpace();
    if (!text.startsWith(w, pos)) return false;
    const next = text[pos + w.length];
    if (next !== undefined && (PLAIN.test(next) || next === '\\')) return false;
    pos += w.length;
    return true;
  };
  const symbol = (s: string): boolean => {
    skipSpace();
    if (!text.startsWith(s, pos)) return false;
    pos += s.length;
    return true;
  };

  const selectors: LabelSelector[] = [];
  skipSpace();
  // COMPAT(marathon): an empty query has no clauses and selects every app.
  if (pos === text.length) return { ok: true, selectors };
  for (;;) {
    const key = term();
    if (key === undefined) return fail('a label key');
    const equality = symbol('==') ? '==' : symbol('!=') ? '!=' : undefined;
    const set = equality === undefined ? (word('notin') ? 'notin' : word('in') ? 'in' : undefined) : undefined;
    if (equality !== undefined) {
      const value = term();
      if (value === undefined) return fail(`a value after '${equality}'`);
      selectors.push({ key, op: equality, values: [value] });
    } else if (set !== undefined) {
      if (!symbol('(')) return fail(`'(' after '${set}'`);
      const values: string[] = [];
      if (!symbol(')')) {
        for (;;) {
          const value = term();
          if (value === undefined) return fail('a value in the set');
          values.push(value);
          if (symbol(')')) break;
          if (!symbol(',')) return fail("',' or ')' in the set");
        }
      }
      selectors.push({ key, op: set, values });
    } else {
      selectors.push({ key, op: 'exists', values: [] });
    }
    skipSpace();
    if (pos === text.length) return { ok: true, selectors };
    if (!symbol(',')) return fail("',', '==', '!=', 'in' or 'notin'");
  }
}

/**
 * True when the labels satisfy every selector.
 * COMPAT(marathon): every clause, `!=` and `notin` included, requires the label to exist
 * (Kubernetes would let `!=` match apps without the label; Marathon does not).
 */
export function matchesLabels(selectors: readonly LabelSelector[], labels: Readonly<Record<string, string>>): boolean {
  return selectors.every((s) => {
    if (!Object.hasOwn(labels, s.key)) return false;
    const value = labels[s.key] as string;
    switch (s.op) {
      case 'exists': return true;
      case '==': return value === s.values[0];
      case '!=': return value !== s.values[0];
      case 'in': return s.values.includes(value);
      case 'notin': return !s.values.includes(value);
    }
  });
}

/** `GET /v2/apps?id=&cmd=&label=`: all given filters must match. */
export interface AppSearch {
  id?: string;
  cmd?: string;
  selectors?: readonly LabelSelector[];
}

/** COMPAT(marathon): `id` and `cmd` are case-insensitive substring matches; an app without `cmd` never matches a `cmd` filter. */
export function matchesAppSearch(app: AppDefinition, search: AppSearch): boolean {
  const contains = (haystack: string, needle: string): boolean => haystack.toLowerCase().includes(needle.toLowerCase());
  if (search.id !== undefined && search.id !== '' && !contains(app.id, search.id)) return false;
  if (search.cmd !== undefined && search.cmd !== '' && (app.cmd === undefined || !contains(app.cmd, search.cmd))) return false;
  return search.selectors === undefined || matchesLabels(search.selectors, app.labels);
}
