import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';

/** Debian's chromium (.ci/run installs it), driven by playwright-core: no browser download. */
const CHROMIUM = '/usr/bin/chromium';

export interface UiBrowser {
  browser: Browser;
  page: Page;
  /** What the page logged as errors, and the errors it threw. */
  consoleErrors: string[];
  pageErrors: string[];
  /** Where `shoot` writes (a temporary folder, named in the output). */
  shots: string;
  /** A full-page screenshot named `<name>-<width>.png`. */
  shoot(name: string): Promise<void>;
}

/** Builds the UI as the code stands (a stale dist/ui would test old code) once per process. */
let built: Promise<unknown> | undefined;
export function buildUi(): Promise<unknown> {
  built ??= build({ configFile: join(import.meta.dirname, '..', '..', 'src', 'ui', 'vite.config.ts'), logLevel: 'error' });
  return built;
}

/** Headless Chromium with one 1440 px page that records its console errors and page errors. */
export async function launchUiBrowser(): Promise<UiBrowser> {
  const shots = mkdtempSync(join(tmpdir(), 'corral-ui-shots-'));
  console.log(`screenshots of each page at 390 and 1440 px go to ${shots}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.setDefaultTimeout(20_000);
  const shoot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(shots, `${name}-${page.viewportSize()?.width}.png`), fullPage: true });
  };
  return { browser, page, consoleErrors, pageErrors, shots, shoot };
}

/** Opens `url`, signing in with `token` when the page asks; resolves once the event stream is live. */
export async function openSignedIn(page: Page, url: string, token: string | undefined): Promise<void> {
  await page.goto(url);
  const field = page.getByLabel('API token');
  await Promise.race([field.waitFor(), page.locator('.live-live').waitFor()]);
  if (await field.isVisible()) {
    await field.fill(token ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.live-live').waitFor();
  }
}
