type GrantBody = { identity: string; actions: string[]; path: string } | { group: string; actions: string[]; path: string };

/**
 * The body of `POST /v2/auth/grants` from `corral grant add IDENTITY ACTIONS PATH` or
 * `corral grant add --group G ACTIONS PATH`; ACTIONS is comma-separated. The server checks the
 * action names and the path; this only checks the shape of the words.
 */
export function grantBody(words: readonly string[], group: string | undefined, id: string | undefined): { ok: true; body: GrantBody & { id?: string } } | { ok: false; error: string } {
  const expected = group === undefined ? 3 : 2;
  if (words.length !== expected) {
    return { ok: false, error: group === undefined ? `expected IDENTITY ACTIONS PATH (or --group G ACTIONS PATH), got ${words.length} word${words.length === 1 ? '' : 's'}` : `with --group, expected ACTIONS PATH, got ${words.length} word${words.length === 1 ? '' : 's'}` };
  }
  const [first = '', second = '', third = ''] = words;
  const [actionList, path] = group === undefined ? [second, third] : [first, second];
  const actions = actionList.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (actions.length === 0) return { ok: false, error: `no actions in '${actionList}': give e.g. read,update` };
  const target = group === undefined ? { identity: first } : { group };
  return { ok: true, body: { ...target, actions, path, ...(id === undefined ? {} : { id }) } };
}

/** Who a grant is for, as `corral grant list` shows it: the identity, or `group:G`. */
export const grantee = (grant: Record<string, unknown>): string => (typeof grant.identity === 'string' ? grant.identity : `group:${String(grant.group)}`);
