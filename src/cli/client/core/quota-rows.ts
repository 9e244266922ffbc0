/** The resources a quota limits, in the order `corral quota list` shows them (as src/auth/types.ts QUOTA_RESOURCES). */
export const QUOTA_COLUMNS = ['cpus', 'mem', 'disk', 'gpus', 'instances'] as const;
export type QuotaColumn = (typeof QUOTA_COLUMNS)[number];

type Json = Record<string, unknown>;

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * One `GET /v2/quotas` row as `corral quota list` cells: the group, then `used/limit` per resource
 * (`used/-` when not limited), with `(held N)` after `used` while more is held than declared (a
 * rolling upgrade's surge).
 */
export function quotaCells(row: Json): string[] {
  const limit = (row.limit ?? {}) as Json;
  const used = (row.used ?? {}) as Json;
  const held = (row.held ?? {}) as Json;
  const cell = (r: QuotaColumn): string => {
    const declared = num(used[r]) ?? 0;
    const holding = num(held[r]);
    return `${declared}${holding !== undefined && holding > declared ? ` (held ${holding})` : ''}/${num(limit[r]) ?? '-'}`;
  };
  return [String(row.group), ...QUOTA_COLUMNS.map(cell)];
}

/** The body of `PUT /v2/quotas/{group}` from `corral quota set` flags; an error names a flag that is not a number ≥ 0. */
export function quotaBody(flags: Partial<Record<QuotaColumn, string>>): { ok: true; body: Partial<Record<QuotaColumn, number>> } | { ok: false; error: string } {
  const body: Partial<Record<QuotaColumn, number>> = {};
  for (const r of QUOTA_COLUMNS) {
    const text = flags[r];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0) return { ok: false, error: `--${r} must be a number ≥ 0, not '${text}'` };
    body[r] = value;
  }
  if (Object.keys(body).length === 0) return { ok: false, error: `give at least one limit: ${QUOTA_COLUMNS.map((r) => `--${r}`).join(', ')}` };
  return { ok: true, body };
}
