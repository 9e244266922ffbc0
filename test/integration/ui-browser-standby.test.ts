import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { buildUi, launchUiBrowser, openSignedIn, type UiBrowser } from '../support/ui-browser.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The web UI served by a standby of `corral up --ha` (with --auth): every call and the event
 * stream go through it to the leader, in a real headless Chromium.
 */
const MARKER = `corral-ui-standby-test-${process.pid}`;
let stack: RunningCorral;
let ui: UiBrowser;

before(async () => {
  await buildUi();
  stack = await startCorral(['--ha', '--agents', '1', '--etcd-client-port', '0', '--etcd-peer-port', '0']);
  ui = await launchUiBrowser();
});

after(async () => {
  console.log(`screenshots in ${ui?.shots}`);
  await ui?.browser.close();
  await stack?.stop();
});

test('the web UI through a standby: sign in, create an app through the form, follow it live, its DNS name, destroy', { timeout: 180_000 }, async () => {
  const { page } = ui;
  const ha = stack.urls as RunningCorral['urls'] & { schedulers: string[]; leader: string };
  const standby = ha.schedulers.find((url) => url !== ha.leader) as string;
  assert.ok(standby !== undefined, 'a standby');
  await openSignedIn(page, `${standby}/ui/#/new`, stack.token);
  const id = '/standby/web';
  await page.getByLabel('ID').fill(id);
  await page.getByLabel('Command').fill(`sleep 1000 # ${MARKER}`);
  await page.getByLabel('CPUs').fill('0.01');
  await page.getByLabel('Memory (MiB)').fill('16');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: id }).waitFor();
  // Followed live through the standby's proxied event stream.
  await page.locator('table.instances tbody tr').filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
  await page.locator('.page-head .badge-running').waitFor();
  await ui.shoot('standby-app');
  // How to reach it, asked of the standby: the leader reads the DNS.
  await page.getByRole('link', { name: 'How to reach it' }).click();
  await waitFor('its A name', async () => {
    if ((await page.locator('table.reach tr').filter({ hasText: /^web-standby\.marathon\.mesos/ }).count()) > 0) return true;
    await page.getByRole('button', { name: 'Read again' }).click();
    return undefined;
  }, 20_000);
  await page.getByRole('link', { name: 'Instances' }).click();
  await page.getByRole('button', { name: 'Destroy', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: `Destroy ${id}` }).click();
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
  await waitFor('the app gone', async () => ((await marathonCall(ha.leader, 'GET', `/v2/apps${id}`, undefined, stack.auth)).status === 404 ? true : undefined));
  assert.deepEqual(ui.consoleErrors.filter((text) => !/status of 401/.test(text)), [], 'only the 401 before sign-in');
  assert.deepEqual(ui.pageErrors, []);
});
