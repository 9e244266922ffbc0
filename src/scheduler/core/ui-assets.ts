/**
 * Which file of the built web UI (dist/ui, made by `npm run build`) answers `GET /ui/<rest>`,
 * with its type and caching: Vite names assets by their content's hash, so they never change;
 * index.html names the current ones, so it is asked again every time.
 */
export interface UiAsset { file: string; type: string; cacheControl: string }

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** `rest` is what follows `/ui/` (no query); undefined for anything but an index or an asset name (no `..`, no hidden files). */
export function uiAsset(rest: string): UiAsset | undefined {
  if (rest === '' || rest === 'index.html') return { file: 'index.html', type: TYPES['.html'] as string, cacheControl: 'no-cache' };
  const match = /^assets\/[A-Za-z0-9_-][A-Za-z0-9_.-]*(\.[a-z0-9]+)$/.exec(rest);
  if (match === null || rest.includes('..')) return undefined;
  const type = TYPES[match[1] as string];
  return type === undefined ? undefined : { file: rest, type, cacheControl: 'public, max-age=31536000, immutable' };
}

/**
 * The UI's page may load only its own scripts and styles and talk only to this scheduler, and
 * no other site may frame it (clickjacking an operator's clicks).
 */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** `GET /` from a browser (it asks for HTML first) goes to the UI; API clients keep their 404. */
export const wantsHtml = (accept: string | undefined): boolean => (accept ?? '').split(',').some((part) => part.trim().toLowerCase().startsWith('text/html'));
