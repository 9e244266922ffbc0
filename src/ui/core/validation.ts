import type { ErrorDetail } from './marathon.ts';

/** An API error in words: Marathon's `message`, and its 422 `details` by field path. */
export interface ApiProblem { status: number; message: string; details: ErrorDetail[] }

/** Reads an error answer's body (JSON with `message`, maybe `details`); anything else is told as it came. */
export function apiProblem(status: number, body: string): ApiProblem {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; details?: unknown };
    const details = Array.isArray(parsed.details)
      ? parsed.details.filter((d): d is ErrorDetail => typeof d === 'object' && d !== null && typeof (d as ErrorDetail).path === 'string')
        .map((d) => ({ path: d.path, errors: Array.isArray(d.errors) ? d.errors.map(String) : [] }))
      : [];
    const message = typeof parsed.message === 'string' ? parsed.message : `HTTP ${status}`;
    return { status, message, details };
  } catch {
    return { status, message: body.trim() === '' ? `HTTP ${status}` : `HTTP ${status}: ${body.trim().slice(0, 300)}`, details: [] };
  }
}

/** `/healthChecks(0)/path` (Marathon 1.x) and `/healthChecks/0/path` name the same field. */
export const normalizePath = (path: string): string => path.replace(/\((\d+)\)/g, '/$1').replace(/\/+$/, '') || '/';

/**
 * Splits a 422's details between the fields a form shows (by their path, e.g. `/cpus`) and the
 * rest, which the form lists with their path. A detail on a field's child (`/cpus/0`) is the field's.
 */
export function detailsByField(details: readonly ErrorDetail[], fields: readonly string[]): { byField: Map<string, string[]>; other: ErrorDetail[] } {
  const byField = new Map<string, string[]>();
  const other: ErrorDetail[] = [];
  for (const detail of details) {
    const path = normalizePath(detail.path);
    const field = fields.find((f) => path === f || path.startsWith(`${f}/`));
    if (field === undefined) other.push({ path, errors: detail.errors });
    else byField.set(field, [...(byField.get(field) ?? []), ...detail.errors]);
  }
  return { byField, other };
}

/**
 * The line of a JSON text (pretty-printed, two-space indent as the editor shows it) where a
 * top-level or nested field named by a detail's path starts; undefined when it is not there (a
 * missing field). 1-based, to show beside the editor's line.
 */
export function lineOfPath(text: string, path: string): number | undefined {
  const keys = normalizePath(path).split('/').slice(1).filter((k) => !/^\d+$/.test(k));
  if (keys.length === 0) return undefined;
  const lines = text.split('\n');
  let from = 0;
  let found: number | undefined;
  for (const key of keys) {
    const needle = `${JSON.stringify(key)}:`;
    const index = lines.findIndex((line, i) => i >= from && line.trimStart().startsWith(needle));
    if (index < 0) return found;
    found = index + 1;
    from = index + 1;
  }
  return found;
}
