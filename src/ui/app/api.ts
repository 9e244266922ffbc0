import { apiProblem, type ApiProblem } from '../core/validation.ts';

/**
 * The scheduler's API, from the page it served: same origin, the token (with --auth) in an
 * `Authorization: Bearer` header on every call. Never a cookie: nothing a page of another site
 * could make the browser send (the scheduler refuses foreign origins and non-JSON writes too).
 */
const KEY = 'corral.token';

export class ApiError extends Error {
  constructor(readonly problem: ApiProblem) {
    super(problem.message);
  }
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? undefined;
}

/** Kept for this tab (sessionStorage), or on this browser when the operator asks (localStorage). */
export function storeToken(token: string, remember: boolean): void {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Called on a 401: the token is missing, wrong or lapsed. */
let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

/** One call; the parsed JSON answer (undefined when empty), or an ApiError with the API's words. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { accept: 'application/json', ...authHeaders(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError({ status: 0, message: `The scheduler cannot be reached (${(err as Error).message})`, details: [] });
  }
  const text = await response.text();
  if (response.status === 401) onUnauthenticated();
  if (!response.ok) throw new ApiError(apiProblem(response.status, text));
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/**
 * Whether the scheduler takes the stored token (or needs none): a call every scheduler
 * authenticates, a standby through its leader. `/v2/info` will not do: a standby answers it
 * itself, to anyone. `/v2/queue` is one (any identity; small; there with auth off too).
 */
export async function tokenAccepted(): Promise<boolean> {
  try {
    await api('GET', '/v2/queue');
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.problem.status === 401) return false;
    throw err;
  }
}

/** `/web/api` → `/v2/apps/web/api`: ids are paths, each segment escaped. */
export const appPath = (id: string, sub = ''): string =>
  `/v2/apps/${id.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/')}${sub}`;

export const errorText = (err: unknown): string => (err instanceof ApiError ? err.message : String((err as Error)?.message ?? err));
