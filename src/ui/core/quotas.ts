import { formatNumber } from './format.ts';

/** `GET /v2/quotas` rows (docs/scheduler.md "Quotas"). */
export interface QuotaRow {
  group: string;
  limit: Partial<Record<QuotaResource, number>>;
  used: Record<QuotaResource, number>;
  held: Record<QuotaResource, number>;
}
export type QuotaResource = 'cpus' | 'mem' | 'disk' | 'gpus' | 'instances';
const RESOURCES: readonly QuotaResource[] = ['cpus', 'mem', 'disk', 'gpus', 'instances'];
const UNITS: Record<QuotaResource, string> = { cpus: '', mem: ' MiB', disk: ' MiB', gpus: '', instances: '' };

/** One bar: what the group declares (used) and holds now (held) against its limit. */
export interface QuotaBar {
  resource: QuotaResource;
  used: number;
  held: number;
  /** Undefined: not limited (shown only when something is used). */
  limit?: number;
  /** Fractions of the bar (0..1): used, and held beyond used; the scale is the limit or, above it, what is held. */
  usedFraction: number;
  heldFraction: number;
  state: 'ok' | 'near' | 'over';
  words: string;
}

/** The bars of one group: every limited resource, and unlimited ones in use. */
export function quotaBars(row: QuotaRow): QuotaBar[] {
  return RESOURCES.flatMap((resource): QuotaBar[] => {
    const limit = row.limit[resource];
    const used = row.used[resource] ?? 0;
    const held = Math.max(row.held[resource] ?? 0, used);
    if (limit === undefined && used === 0 && held === 0) return [];
    const scale = Math.max(limit ?? 0, held, used);
    const state = limit === undefined ? 'ok' : used > limit || held > limit ? 'over' : limit > 0 && held / limit >= 0.9 ? 'near' : 'ok';
    const unit = UNITS[resource];
    const words = `${resource}: ${formatNumber(used)}${unit} declared, ${formatNumber(held)}${unit} held, ${limit === undefined ? 'no limit' : `limit ${formatNumber(limit)}${unit}`}`;
    return [{
      resource, used, held, ...(limit === undefined ? {} : { limit }),
      usedFraction: scale === 0 ? 0 : used / scale,
      heldFraction: scale === 0 ? 0 : (held - used) / scale,
      state, words,
    }];
  });
}

/** The quota form: a group and its limits as typed; an empty limit: not limited. */
export interface QuotaForm { group: string; cpus: string; mem: string; disk: string; gpus: string; instances: string }
export const NEW_QUOTA_FORM: QuotaForm = { group: '', cpus: '', mem: '', disk: '', gpus: '', instances: '' };

/** The form of a group's quota (to change it). */
export function quotaFormOf(row: Pick<QuotaRow, 'group' | 'limit'>): QuotaForm {
  const text = (r: QuotaResource): string => (row.limit[r] === undefined ? '' : String(row.limit[r]));
  return { group: row.group, cpus: text('cpus'), mem: text('mem'), disk: text('disk'), gpus: text('gpus'), instances: text('instances') };
}

/** `PUT /v2/quotas/<group>`'s body: every limit given (as typed: the API says what is wrong with it). */
export function quotaLimitsOf(form: QuotaForm): Record<string, number | string> {
  return Object.fromEntries(RESOURCES.filter((r) => form[r].trim() !== '').map((r) => {
    const value = form[r].trim();
    return [r, Number.isFinite(Number(value)) ? Number(value) : value];
  }));
}
