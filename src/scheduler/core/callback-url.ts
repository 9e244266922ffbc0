/** Callback URLs of `/v2/eventSubscriptions`: what may be registered, and how one is shown in logs. */

export const MAX_CALLBACK_URL_LENGTH = 2048;

/** The problems of a `callbackUrl` query value (empty when it may be registered). */
export function callbackUrlProblems(raw: unknown): string[] {
  if (typeof raw !== 'string' || raw === '') return ['callbackUrl is required (one absolute http or https URL)'];
  if (raw.length > MAX_CALLBACK_URL_LENGTH) return [`callbackUrl is longer than ${MAX_CALLBACK_URL_LENGTH} characters`];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ['callbackUrl is not an absolute URL'];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [`callbackUrl must be http or https, not ${url.protocol.slice(0, -1)}`];
  if (url.hostname === '') return ['callbackUrl has no host'];
  return [];
}

/**
 * A callback URL as logs show it: without user info or query, which may hold the receiver's
 * credentials (`https://user:secret@host/cb?token=…` → `https://host/cb?…`).
 */
export function redactedUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`;
  } catch {
    return '(not a URL)';
  }
}
