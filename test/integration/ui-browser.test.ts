import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, afterEach, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { buildUi, launchUiBrowser, openSignedIn } from '../support/ui-browser.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The web UI (#19) in a real headless Chromium (Debian's, through playwright-core: no browser
 * download; .ci/run installs it) against a real `corral up` with --auth on: what an operator does
 * from the first page to destroying an app. Screenshots of each page at 390 and 1,440 px go to a
 * temporary folder (named in the test's output).
 */
const MARKER = `corral-ui-test-${process.pid}`;
const SERVER = `exec node -e "require('http').createServer((q, r) => r.end('hi')).listen(+process.env.PORT0, process.env.HOST)" # ${MARKER}`;
const APP = '/ui-test/web';
let corral: RunningCorral;
let browser: Browser;
let page: Page;
let shots: string;
let shoot: (name: string) => Promise<void>;
let consoleErrors: string[];
let pageErrors: string[];

/** The page logged no error but the API's own refusals (which the UI shows in words), and threw none. */
function assertNoErrorsButRefusals(): void {
  assert.deepEqual(consoleErrors.filter((text) => !/status of (401|403|404|409|422)/.test(text)), []);
  assert.deepEqual(pageErrors, []);
}

before(async () => {
  await buildUi();
  corral = await startCorral();
  ({ browser, page, shots, shoot, consoleErrors, pageErrors } = await launchUiBrowser());
});

// What the page showed at the end of each test (the step a failing one stopped at).
let ended = 0;
afterEach(async () => {
  ended += 1;
  if (page !== undefined && !page.isClosed()) await shoot(`end-of-test-${ended}`);
});

after(async () => {
  console.log(`screenshots in ${shots}`);
  await browser?.close();
  await corral?.stop();
});

const api = (method: string, path: string, body?: unknown) => marathonCall(corral.urls.scheduler, method, path, body, corral.auth);

/** Opens `hash`, signing in first when the page asks (a test run alone, with --test-name-pattern, starts signed out). */
const open = (hash: string): Promise<void> => openSignedIn(page, `${corral.urls.ui}${hash}`, corral.token);

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

test('the web UI: its first load stays under 200 KB of compressed JavaScript', () => {
  const assets = join(import.meta.dirname, '..', '..', 'dist', 'ui', 'assets');
  const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
  assert.ok(scripts.length > 0);
  const gzipped = scripts.reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name)), { level: 9 }).length, 0);
  assert.ok(gzipped < 200 * 1024, `${gzipped} bytes of gzipped JavaScript`);
});

/** The instances table's rows that are running and healthy. */
const healthyRows = () => page.locator('table.instances tbody tr').filter({ hasText: 'running' }).filter({ hasText: 'healthy' });

test('the web UI: sign in, create, watch, scale, roll back, a 422 beside its field, destroy; no console errors', async () => {
  // A browser asking for / lands on the UI, which asks for the token (--auth is on by default).
  assert.equal(corral.urls.ui, `${corral.urls.scheduler}/ui/`, 'corral up names the UI');
  await page.goto(`${corral.urls.scheduler}/`);
  assert.equal(page.url(), corral.urls.ui);
  await page.getByLabel('API token').fill(corral.token as string);
  await shoot('sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
  await page.getByText('No apps yet').waitFor();
  await page.locator('.live-live').waitFor();

  // A bad field: the API's 422 message shows beside it.
  await page.getByRole('link', { name: 'Create app' }).click();
  await page.getByLabel('ID').fill(APP);
  await page.getByLabel('Command').fill(SERVER);
  await page.getByLabel('CPUs').fill('-1');
  await page.getByLabel('HTTP health check path').fill('/');
  await page.getByRole('button', { name: 'Create' }).click();
  const cpusNote = page.locator('.field.invalid').filter({ has: page.getByLabel('CPUs') }).locator('.field-error');
  assert.equal(await cpusNote.innerText(), 'must be >= 0');
  assert.equal(await page.getByLabel('CPUs').getAttribute('aria-invalid'), 'true');
  await shoot('create-422');

  // Created through the form: its deployment finishes, its instance runs and is healthy.
  await page.getByLabel('CPUs').fill('0.1');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: APP }).waitFor();
  await healthyRows().first().waitFor();
  await page.locator('.page-head .badge-running').waitFor();
  assert.match(await healthyRows().first().locator('td[data-label="Address"]').innerText(), /^127\.0\.0\.\d+:\d+$/);
  assert.equal((await api('GET', '/v2/deployments')).json.length, 0);
  await shoot('app-instances');

  // Scaled from the UI, followed live.
  await page.getByLabel('Instances', { exact: true }).fill('2');
  await page.getByRole('button', { name: 'Scale', exact: true }).click();
  await page.getByText(/Scale to 2: deployment .* started/).waitFor();
  await waitFor('two healthy instances', async () => ((await healthyRows().count()) === 2 ? true : undefined), 30_000);

  // Edited through the form: a bad value shows beside its field; as JSON, it names its field and
  // line; the form again (it reads the JSON back) deploys a new version.
  await page.getByRole('link', { name: 'Edit' }).click();
  const memory = page.getByLabel('Memory (MiB)');
  await waitFor('the definition in the form', async () => ((await memory.inputValue()) !== '' ? true : undefined));
  const mem = await memory.inputValue();
  assert.equal(await page.getByLabel('Command').inputValue(), SERVER);
  await memory.fill('-5');
  await page.getByRole('button', { name: 'Deploy changes' }).click();
  const memoryNote = page.locator('.field.invalid').filter({ has: memory }).locator('.field-error');
  assert.equal(await memoryNote.innerText(), 'must be >= 0');
  await shoot('app-edit-form-422');
  await page.getByRole('button', { name: 'JSON', exact: true }).click();
  const editor = page.getByLabel(/Configuration of/);
  const definition = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
  assert.equal(definition.mem, -5, 'the JSON shows what the form holds');
  await page.getByRole('button', { name: 'Deploy changes' }).click();
  assert.match(await page.locator('.field-error[data-path="/mem"]').innerText(), /\/mem \(line \d+\): must be >= 0/);
  await shoot('app-edit-422');
  await editor.fill(JSON.stringify({ ...definition, mem: Number(mem) }, null, 2));
  await page.getByRole('button', { name: 'Form', exact: true }).click();
  assert.equal(await memory.inputValue(), mem);
  await page.getByLabel('Labels').fill('stage=two');
  await page.getByRole('button', { name: 'Deploy changes' }).click();
  await page.getByText(/Deploy: deployment .* started/).waitFor();
  // Its deployment replaces both instances; the page shows it until it is done.
  await waitFor('the edit deployed', async () => ((await api('GET', '/v2/deployments')).json.length === 0 ? true : undefined), 30_000);
  await page.locator('.page-head .badge-running').waitFor();

  // The versions: the newest against the one before shows the label; deploying the first version takes it back.
  await page.getByRole('link', { name: 'Configuration' }).click();
  await page.locator('table.diff').getByText('/labels/stage').waitFor();
  await shoot('app-config');
  const versions = (await api('GET', `/v2/apps${APP}/versions`)).json.versions as string[];
  assert.equal(versions.length, 3, 'created, scaled, edited');
  const first = versions[versions.length - 1] as string;
  await page.getByRole('button', { name: `Deploy version ${first}` }).click();
  await waitFor('the first version back: one instance, no label', async () => {
    const { app } = (await api('GET', `/v2/apps${APP}`)).json as { app: { instances: number; labels: Record<string, string>; tasksHealthy: number; tasksRunning: number } };
    return app.instances === 1 && Object.keys(app.labels).length === 0 && app.tasksRunning === 1 && app.tasksHealthy === 1 ? true : undefined;
  }, 30_000);
  await page.getByRole('link', { name: 'Instances' }).click();
  await waitFor('one instance shown', async () => ((await page.locator('table.instances tbody tr').count()) === 1 ? true : undefined));

  await page.getByRole('link', { name: 'Debug' }).click();
  await page.getByText('Nothing waits').waitFor();
  await shoot('app-debug');
  await nav('Apps');
  const row = page.locator(`tr[data-app="${APP}"]`);
  await row.locator('.badge-running').waitFor();
  assert.match(await row.getByRole('img').getAttribute('aria-label') ?? '', /^1 healthy, 0 unhealthy, 0 unknown, 0 staged of 1$/);
  await shoot('apps');
  await nav('Deployments');
  await page.getByText('No deployment is running').waitFor();
  await shoot('deployments');
  await nav('Agents');
  await page.locator('table.agents tbody tr').nth(1).waitFor();
  await shoot('agents');

  // Each page at both widths (the screenshots); at a phone's, readable and nothing wider than the screen.
  const pages = [['apps', '#/apps'], ['app-instances', `#/app?id=${APP}&tab=instances`], ['app-config', `#/app?id=${APP}&tab=config`],
    ['app-edit', `#/app?id=${APP}&tab=edit`], ['app-debug', `#/app?id=${APP}&tab=debug`], ['app-reach', `#/app?id=${APP}&tab=reach`], ['create', '#/new'],
    ['deployments', '#/deployments'], ['agents', '#/agents'], ['jobs', '#/jobs'], ['job-create', '#/new-job'], ['quotas', '#/quotas']] as const;
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    for (const [name, hash] of pages) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.locator('#page-title').waitFor();
      await page.waitForFunction(() => !document.body.innerText.includes('Loading…'));
      await shoot(name);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow} px wider than ${width} px`);
    }
  }
  await page.setViewportSize({ width: 1440, height: 900 });

  // Destroyed after a confirmation; the list follows.
  await page.evaluate((h) => { location.hash = h; }, `#/app?id=${APP}&tab=instances`);
  await page.getByRole('button', { name: 'Destroy', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: `Destroy ${APP}` }).click();
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
  await page.getByText('No apps yet').waitFor();
  assert.equal((await api('GET', `/v2/apps${APP}`)).status, 404);

  // The only errors the console saw: the 401 that asked for the token, and the three 422s this test caused.
  const unexpected = consoleErrors.filter((text) => !/status of (401|422)/.test(text));
  assert.deepEqual(unexpected, [], `console errors: ${consoleErrors.join('\n')}`);
  assert.equal(consoleErrors.filter((text) => /status of 422/.test(text)).length, 3);
  assert.deepEqual(pageErrors, []);
});

test('the web UI: an instance killed (and replaced), killed and scaled down, the app restarted and suspended', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = '/ui-test/ops';
  assert.equal((await api('POST', '/v2/apps', { id, cmd: `sleep 1000 # ${MARKER}`, cpus: 0.01, mem: 16, instances: 2 })).status, 201);
  await open(`#/app?id=${encodeURIComponent(id)}&tab=instances`);
  const running = page.locator('table.instances tbody tr').filter({ hasText: 'running' });
  await waitFor('two running instances', async () => ((await running.count()) === 2 ? true : undefined), 30_000);
  const ids = async (): Promise<string[]> => page.locator('table.instances tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task') ?? ''));
  const [first] = await ids();

  // Killed: the scheduler starts a replacement, and the table follows.
  await page.getByRole('button', { name: `Kill ${first}`, exact: true }).click();
  await waitFor('a replacement running', async () => {
    const now = await ids();
    return !now.includes(first as string) && (await running.count()) === 2 ? true : undefined;
  }, 30_000);
  // Killed and scaled: one instance left, and the app asks for one.
  const [victim] = await ids();
  await page.getByRole('button', { name: `Kill ${victim} and scale down` }).click();
  await waitFor('one instance', async () => ((await page.locator('table.instances tbody tr').count()) === 1 ? true : undefined), 30_000);
  assert.equal((await api('GET', `/v2/apps${id}`)).json.app.instances, 1);

  // Restarted: a new instance replaces the old one.
  const [before] = await ids();
  await page.getByRole('button', { name: 'Restart' }).click();
  await page.getByText(/Restart: deployment .* started/).waitFor();
  await waitFor('the instance replaced', async () => {
    const now = await ids();
    return now.length === 1 && now[0] !== before && (await running.count()) === 1 ? true : undefined;
  }, 30_000);

  // Suspended after a confirmation: no instances, the status says so.
  await page.getByRole('button', { name: 'Suspend' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Suspend' }).click();
  await page.locator('.page-head .badge-suspended').waitFor({ timeout: 30_000 });
  await page.getByText('No instances (suspended).').waitFor({ timeout: 30_000 });
  assert.equal((await api('DELETE', `/v2/apps${id}`)).status, 200);
  assertNoErrorsButRefusals();
});

test('the web UI: an app that cannot be placed is Waiting with the reason; a locked app forced; a deployment rolled back from the Deployments page; an agent drained and back', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await open('#/apps');
  const huge = '/ui-test/huge';
  // Agent 1 refuses it by a constraint, agent 2 for want of memory.
  const created = await api('POST', '/v2/apps', { id: huge, cmd: `sleep 1000 # ${MARKER}`, cpus: 0.1, mem: 1_000_000, instances: 1, constraints: [['agent', 'UNLIKE', '1']] });
  assert.equal(created.status, 201);

  // Live, without a reload: the app appears, waiting, and says why.
  const row = page.locator(`tr[data-app="${huge}"]`);
  await row.locator('.badge-waiting').waitFor();
  assert.match(await row.locator('.reason').innerText(), /mem/);
  await page.getByRole('link', { name: huge }).click();
  await page.getByRole('link', { name: 'Debug' }).click();
  // Per reason, in words: the constraint and the memory, each with the agents it refused.
  await page.locator('.debug').getByText(/1 instance waiting .*mem/).waitFor();
  assert.match(await page.locator('table.refusals tr').filter({ hasText: 'Constraint agent:UNLIKE:1' }).innerText(), /constraint[\s\S]*1 \/ 2 agents/);
  assert.match(await page.locator('table.refusals tr').filter({ hasText: 'Not enough mem' }).innerText(), /1 \/ 2 agents/);
  assert.match(await page.locator('.debug').innerText(), /None: instances launch as soon as an agent fits \(each failure multiplies the delay by 1\.15 from 1s, up to 300s\)/);
  await shoot('app-debug-waiting');

  // Its deployment never ends, so a change is refused (409) until the operator forces it: from the
  // edit form (the forced deployment does not end either), then from the toolbar.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Labels').fill('tier=huge');
  assert.equal(await page.getByLabel('Constraints').inputValue(), 'agent:UNLIKE:1');
  await page.getByRole('button', { name: 'Deploy changes' }).click();
  await page.locator('.app-form').getByText(/App is locked/).waitFor();
  await shoot('app-edit-409');
  await page.locator('.app-form').getByRole('button', { name: /^Force it/ }).click();
  await page.getByText(/Deploy: deployment .* started/).waitFor();
  assert.deepEqual((await api('GET', `/v2/apps${huge}`)).json.app.labels, { tier: 'huge' });
  await page.getByRole('link', { name: 'Debug' }).click();
  await page.getByLabel('Instances', { exact: true }).fill('0');
  await page.getByRole('button', { name: 'Scale', exact: true }).click();
  await page.getByText(/Scale to 0: App is locked/).waitFor();
  await page.getByRole('button', { name: /^Force it/ }).click();
  await page.getByText(/Scale to 0: deployment .* started/).waitFor();
  await page.locator('.page-head .badge-suspended').waitFor();

  // Asked for one again (by another client): the Deployments page shows it, and rolls it back.
  assert.equal((await api('PUT', `/v2/apps${huge}`, { instances: 1 })).status, 200);
  await nav('Deployments');
  const card = page.locator('li.card').filter({ hasText: huge });
  await card.getByText('Step 1 of 1').waitFor();
  await card.locator('ol.steps').getByText(`ScaleApplication ${huge}`).waitFor();
  await shoot('deployments-running');
  await card.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
  await page.getByText('No deployment is running').waitFor();
  assert.equal((await api('GET', `/v2/apps${huge}`)).json.app.instances, 0, 'back to the version before the scale');
  assert.equal((await api('DELETE', `/v2/apps${huge}`)).status, 200);

  await nav('Agents');
  const first = page.locator('table.agents tbody tr').first();
  assert.equal(await first.locator('td[data-label="Roles"]').innerText(), 'all unreserved (*)');
  await first.getByRole('button', { name: /^Drain / }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Drain' }).click();
  await first.locator('.badge', { hasText: 'draining' }).waitFor();
  await shoot('agents-draining');
  await first.getByRole('button', { name: /^Cancel draining / }).click();
  await first.getByRole('button', { name: /^Drain / }).waitFor();
  assert.equal(await first.locator('.badge', { hasText: 'draining' }).count(), 0);

  // By keyboard alone: each page puts the focus on its heading; Tab goes on from there, Enter follows a link.
  await nav('Apps');
  const headingFocused = () => page.waitForFunction(() => document.activeElement?.id === 'page-title');
  await headingFocused();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Create app');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Create an app' }).waitFor();
  await headingFocused();
  for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'field-id', 'past Form and JSON, the ID field');

  // Signing out forgets the token; signing in again follows the cluster afresh.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(corral.token as string);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await nav('Apps');
  await page.getByText('No apps yet').waitFor();
  await page.locator('.live-live').waitFor();

  // The 409 is a console error too (Chromium logs every failed fetch), expected here.
  assert.deepEqual(consoleErrors.filter((text) => !/status of (401|409|422)/.test(text)), []);
  assert.deepEqual(pageErrors, []);
});

test('the web UI: how to reach an app, from the DNS and LB HTTP APIs: its SRV names with the real host port, its vhost', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = '/ui-test/reach';
  const vhost = 'reach.corral.localhost';
  const definition = { id, cmd: `sleep 1000 # ${MARKER}`, cpus: 0.01, mem: 16, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: vhost }, portDefinitions: [{ port: 0, name: 'web', protocol: 'tcp' }] };
  assert.equal((await api('POST', '/v2/apps', definition)).status, 201);
  const task = await waitFor('its instance running', async () => {
    const tasks = (await api('GET', `/v2/apps${id}/tasks`)).json.tasks as Array<{ host: string; ports: number[]; state: string }>;
    return tasks.find((t) => t.state === 'TASK_RUNNING');
  }, 30_000);
  await open(`#/app?id=${encodeURIComponent(id)}&tab=reach`);
  // The DNS follows the cluster on its own: read again until its records hold the instance.
  const srv = page.locator('table.reach tr').filter({ hasText: '_web._reach-ui-test._tcp.marathon.mesos' });
  await waitFor('the named-port SRV name', async () => {
    if ((await srv.count()) > 0) return true;
    await page.getByRole('button', { name: 'Read again' }).click();
    return undefined;
  }, 20_000);
  assert.match(await srv.innerText(), new RegExp(`port 0 "web"[\\s\\S]*reach-ui-test-[a-z0-9-]+\\.marathon\\.mesos:${task.ports[0]}`));
  assert.match(await page.locator('table.reach tr').filter({ hasText: /^reach-ui-test\.marathon\.mesos/ }).first().innerText(), new RegExp(task.host.replaceAll('.', '\\.')));
  const vhostRow = page.locator('table.reach tr').filter({ hasText: vhost });
  await waitFor('the vhost route', async () => {
    if ((await vhostRow.count()) > 0) return true;
    await page.getByRole('button', { name: 'Read again' }).click();
    return undefined;
  }, 20_000);
  assert.match(await vhostRow.innerText(), /port 0 "web"/);
  // Where to try it: the LB's own HTTP port, with the vhost as Host.
  assert.match(await vhostRow.innerText(), new RegExp(`curl -H 'Host: ${vhost}' http://127\\.0\\.0\\.1:${new URL(corral.urls.lbHttp).port}/`));
  await shoot('app-reach');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the reach tab is ${overflow} px wider than 390 px`);
  await shoot('app-reach');
  await page.setViewportSize({ width: 1440, height: 900 });
  assert.equal((await api('DELETE', `/v2/apps${id}`)).status, 200);
  assertNoErrorsButRefusals();
});

test('the web UI: a deployment\'s progress and its readiness checks in words', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = '/ui-test/warming';
  // Healthy at once, never ready: the deployment waits on its readiness check.
  const cmd = `exec node -e "require('http').createServer((q, r) => { r.statusCode = q.url === '/ready' ? 503 : 200; r.end(q.url === '/ready' ? 'warming up' : 'hi'); }).listen(+process.env.PORT0, process.env.HOST)" # ${MARKER}`;
  const definition = {
    id, cmd, cpus: 0.01, mem: 32, instances: 1, portDefinitions: [{ port: 0, name: 'http-api' }],
    readinessChecks: [{ name: 'ready', path: '/ready', portName: 'http-api', intervalSeconds: 1, timeoutSeconds: 1, preserveLastResponse: true }],
  };
  assert.equal((await api('POST', '/v2/apps', definition)).status, 201);
  await open('#/deployments');
  const card = page.locator('li.card').filter({ hasText: id });
  await card.getByText('Step 1 of 1').waitFor();
  const row = card.locator('table.readiness tr.not-ready');
  await row.getByText('HTTP 503 "warming up"').waitFor({ timeout: 30_000 });
  assert.match(await card.locator('.actions-now li').innerText(), /1 of 1 running the new version, 0 of 1 ready/);
  await card.getByText('Step 1 of 1, 0% done').waitFor();
  await shoot('deployments-readiness');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the deployments page is ${overflow} px wider than 390 px`);
  await shoot('deployments-readiness');
  await page.setViewportSize({ width: 1440, height: 900 });
  // Stopped where it is (confirmed): the deployment ends, the app keeps its instance.
  await card.getByRole('button', { name: 'Stop' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
  await page.getByText('No deployment is running').waitFor();
  assert.equal((await api('GET', `/v2/apps${id}`)).json.app.instances, 1);
  assert.equal((await api('DELETE', `/v2/apps${id}`)).status, 200);
  assertNoErrorsButRefusals();
});

test('the web UI: a thousand apps list, filter and open without a reload', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await nav('Apps');
  const apps = Array.from({ length: 1000 }, (_, i) => ({ id: `app-${String(i).padStart(4, '0')}`, cmd: `sleep 1000 # ${MARKER}`, cpus: 0.01, mem: 16, instances: 0, labels: { shard: String(i % 10) } }));
  const started = Date.now();
  assert.equal((await api('POST', '/v2/groups', { id: '/many', apps })).status, 201);
  // Live: a thousand api_post_events folded and drawn (the first 300 rows, the rest on a click).
  await page.getByRole('button', { name: 'Show all 1000 apps' }).waitFor({ timeout: 60_000 });
  const shown = Date.now() - started;
  assert.equal(await page.locator('table.apps tbody tr[data-app]').count(), 300);
  const t0 = Date.now();
  await page.getByLabel('Search').fill('/many/app-0042');
  await page.locator('table.apps tbody tr[data-app]').first().getByText('/many/app-0042').waitFor();
  assert.equal(await page.locator('table.apps tbody tr[data-app]').count(), 1);
  const filtered = Date.now() - t0;
  await page.getByLabel('Search').fill('shard=7');
  await waitFor('a tenth of them', async () => ((await page.locator('table.apps tbody tr[data-app]').count()) === 100 ? true : undefined));
  await page.getByLabel('Search').fill('');
  const t1 = Date.now();
  await page.getByRole('button', { name: 'Show all 1000 apps' }).click();
  await waitFor('all rows', async () => ((await page.locator('table.apps tbody tr[data-app]').count()) === 1000 ? true : undefined));
  const all = Date.now() - t1;
  await shoot('apps-1000');
  // Figures for docs/ui.md, not assertions: this machine's load decides them.
  console.log(`1000 apps: listed ${shown} ms after the POST, one found in ${filtered} ms, all drawn in ${all} ms`);
  assert.equal((await api('DELETE', '/v2/groups/many')).status, 200);
  await page.getByText('No apps yet').waitFor({ timeout: 60_000 });
  assert.deepEqual(consoleErrors.filter((text) => !/status of (401|409|422)/.test(text)), []);
  assert.deepEqual(pageErrors, []);
});

test("the web UI: a team's token sees its apps only, and the Agents page says why it shows none", async () => {
  assert.equal((await api('POST', '/v2/auth/identities', { id: 'team-a' })).status, 201);
  assert.equal((await api('POST', '/v2/auth/grants', { identity: 'team-a', actions: ['read', 'create', 'update', 'delete'], path: '/team-a' })).status, 201);
  const token = String((await api('POST', '/v2/auth/tokens', { identity: 'team-a' })).json.token);
  for (const id of ['/team-a/web', '/team-b/web']) assert.equal((await api('POST', '/v2/apps', { id, cmd: `sleep 1000 # ${MARKER}`, cpus: 0.01, mem: 16, instances: 0 })).status, 201);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await nav('Apps');
  await page.locator('tr[data-app="/team-a/web"]').waitFor();
  assert.equal(await page.locator('tr[data-app]').count(), 1, 'team-b\'s app is not shown');
  await nav('Agents');
  await page.getByText(/Agents cannot be shown: /).waitFor();
  await shoot('agents-team');

  // Back to the admin for whatever runs next.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(corral.token as string);
  await page.getByRole('button', { name: 'Sign in' }).click();
  for (const id of ['/team-a/web', '/team-b/web']) assert.equal((await api('DELETE', `/v2/apps${id}`)).status, 200);
  // The refusals a team's token meets are 403s in the console; nothing else.
  assert.deepEqual(consoleErrors.filter((text) => !/status of (401|403|409|422)/.test(text)), []);
  assert.deepEqual(pageErrors, []);
});

test('the web UI: an instance\'s stdout and stderr tailed live, and downloaded', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = '/ui-test/talker';
  // A line at once, another after a second (the tail follows it), and one on stderr.
  const cmd = `echo "hello from the task"; echo "oops on stderr" >&2; sleep 1; echo "a second line"; sleep 1000 # ${MARKER}`;
  assert.equal((await api('POST', '/v2/apps', { id, cmd, cpus: 0.01, mem: 16 })).status, 201);
  await page.goto(`${corral.urls.ui}#/app?id=${encodeURIComponent(id)}&tab=instances`);
  const row = page.locator('table.instances tbody tr').filter({ hasText: 'running' }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole('button', { name: /^Logs of / }).click();
  const log = page.locator('pre.log');
  await log.getByText('hello from the task').waitFor();
  await log.getByText('a second line').waitFor();
  await shoot('app-logs');
  await page.getByRole('button', { name: 'stderr', exact: true }).click();
  await page.locator('pre.log[data-file="stderr"]').getByText('oops on stderr').waitFor();
  assert.doesNotMatch(await log.innerText(), /hello from the task/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download stderr' }).click()]);
  const saved = join(shots, 'stderr-download.txt');
  await download.saveAs(saved);
  assert.equal(readFileSync(saved, 'utf8'), 'oops on stderr\n');
  assert.equal((await api('DELETE', `/v2/apps${id}`)).status, 200);
  assertNoErrorsButRefusals();
});

test('the web UI: a job created through the form, its next slot, run now with env, its SUCCESS and output shown, edited', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = 'ui-test.report';
  await open('#/jobs');
  await page.getByRole('link', { name: 'Create job' }).click();
  await page.getByRole('heading', { name: 'Create a job' }).waitFor();
  await page.getByLabel('Job ID').fill(id);
  await page.getByLabel('Command').fill(`echo "report of the night for $DAY"; : ${MARKER}`);
  await page.getByLabel('CPUs').fill('0.01');
  await page.getByLabel('Memory (MiB)').fill('32');
  await page.getByLabel('Cron').fill('0 2 * * *');
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await shoot('job-create');
  await page.getByRole('button', { name: 'Create job' }).click();
  await page.getByRole('heading', { name: id }).waitFor();
  const created = (await api('GET', `/v1/jobs/${id}?embed=schedules`)).json as { run: { mem: number }; schedules: Array<{ id: string; cron: string; timeZone: string }> };
  assert.deepEqual(created.schedules.map((s) => [s.id, s.cron, s.timeZone]), [['default', '0 2 * * *', 'Europe/Berlin']]);
  // The next slot, computed in the page with croner as the scheduler does: 02:00 Berlin time.
  assert.match(await page.locator('li[data-schedule="default"] .next-slot').innerText(), /^\d{4}-\d{2}-\d{2} 02:00 Europe\/Berlin \(in (\d+h )?\d+m\)$/);

  // Run now, with a variable for this run only.
  await page.getByLabel('Environment for this run').fill('DAY=monday');
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.getByText(/^Run now: run \d{14}[a-z0-9]{5}\.$/).waitFor();
  // Followed live: the run goes through the active runs into the history.
  const success = page.locator('table.history tbody tr[data-run]').filter({ hasText: 'SUCCESS' });
  await success.waitFor({ timeout: 30_000 });
  await page.getByText('No run is active.').waitFor();
  await success.getByRole('button', { name: /^Logs of run / }).click();
  await page.locator('pre.log').getByText('report of the night for monday').waitFor();
  await shoot('job');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the job page is ${overflow} px wider than 390 px`);
  await shoot('job');
  await page.setViewportSize({ width: 1440, height: 900 });

  // Edited through the form: its memory (PUT) and its schedule (the schedule's own route); a bad cron beside its field.
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await waitFor('the definition in the form', async () => ((await page.getByLabel('Memory (MiB)').inputValue()) === '32' ? true : undefined));
  await page.getByLabel('Memory (MiB)').fill('48');
  await page.getByLabel('Cron').fill('0 25 * * *');
  await page.getByRole('button', { name: 'Save job' }).click();
  await page.locator('.field.invalid').filter({ has: page.getByLabel('Cron') }).locator('.field-error').waitFor();
  await shoot('job-edit-422');
  await page.getByLabel('Cron').fill('30 3 * * *');
  await page.getByRole('button', { name: 'Save job' }).click();
  await page.getByText('Saved.').waitFor();
  const edited = (await api('GET', `/v1/jobs/${id}?embed=schedules`)).json as typeof created;
  assert.equal(edited.run.mem, 48);
  assert.deepEqual(edited.schedules.map((s) => [s.id, s.cron, s.timeZone]), [['default', '30 3 * * *', 'Europe/Berlin']]);
  await page.locator('li[data-schedule="default"]').getByText(/30 3 \* \* \*/).waitFor();
  assert.match(await page.locator('li[data-schedule="default"] .next-slot').innerText(), / 03:30 Europe\/Berlin /);
  // As JSON, every schedule: one added.
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await page.getByRole('button', { name: 'JSON', exact: true }).click();
  const jobJson = page.getByLabel(/Job definition/);
  const jobDefinition = JSON.parse(await jobJson.inputValue()) as { schedules: unknown[] };
  await jobJson.fill(JSON.stringify({ ...jobDefinition, schedules: [...jobDefinition.schedules, { id: 'weekly', cron: '0 4 * * 1', timeZone: 'UTC' }] }, null, 2));
  await page.getByRole('button', { name: 'Save job' }).click();
  await page.locator('li[data-schedule="weekly"]').getByText(/0 4 \* \* 1/).waitFor();
  assert.deepEqual(((await api('GET', `/v1/jobs/${id}?embed=schedules`)).json as typeof created).schedules.map((s) => s.id), ['default', 'weekly']);

  await nav('Jobs');
  const row = page.locator(`tr[data-job="${id}"]`);
  await row.getByText('Succeeded', { exact: true }).waitFor();
  assert.match(await row.locator('td[data-label="Schedules"]').innerText(), /30 3 \* \* \* Europe\/Berlin\s+next \d{4}-\d{2}-\d{2} 03:30/);
  await shoot('jobs');
  assert.equal((await api('DELETE', `/v1/jobs/${id}`)).status, 200);
  await page.getByText('No jobs yet').waitFor();
  assertNoErrorsButRefusals();
});

test('the web UI: a quota set through its form (a bad limit beside its field), its bars of declared, held and limit, removed', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  // Set through its form: a bad limit beside its field first.
  await open('#/quotas');
  await page.getByRole('button', { name: 'Set a quota' }).click();
  await page.getByLabel('Group').fill('/ui-quota');
  await page.getByLabel('CPUs').fill('-1');
  await page.getByLabel('Instances').fill('4');
  await page.getByRole('button', { name: 'Set quota' }).click();
  assert.equal(await page.locator('.field.invalid').filter({ has: page.getByLabel('CPUs') }).locator('.field-error').innerText(), 'must be >= 0');
  await page.getByLabel('CPUs').fill('1');
  await page.getByRole('button', { name: 'Set quota' }).click();
  await page.getByText('Quota of /ui-quota set.').waitFor();
  assert.deepEqual((await api('GET', '/v2/quotas/ui-quota')).json.limit, { cpus: 1, instances: 4 });
  assert.equal((await api('POST', '/v2/apps', { id: '/ui-quota/web', cmd: `sleep 1000 # ${MARKER}`, cpus: 0.25, mem: 16, instances: 2 })).status, 201);
  const card = page.locator('li.card[data-group="/ui-quota"]');
  await card.locator('tr[data-resource="cpus"]').getByText('0.5 declared, 0.5 held, limit 1').waitFor({ timeout: 30_000 });
  assert.match(await card.locator('tr[data-resource="instances"]').innerText(), /2 declared, 2 held, limit 4/);
  assert.match(await card.locator('tr[data-resource="mem"]').innerText(), /32 MiB declared, 32 MiB held, no limit/);
  // Live: a scale shows without a reload.
  assert.equal((await api('PUT', '/v2/apps/ui-quota/web?force=true', { instances: 4 })).status, 200);
  await card.locator('tr.quota-near[data-resource="instances"]').getByText(/4 declared, \d held, limit 4/).waitFor();
  await shoot('quotas');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the quotas page is ${overflow} px wider than 390 px`);
  await shoot('quotas');
  await page.setViewportSize({ width: 1440, height: 900 });
  assert.equal((await api('DELETE', '/v2/apps/ui-quota/web?force=true')).status, 200);
  await card.getByRole('button', { name: 'Remove the quota of /ui-quota' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await page.getByText('No quotas are set').waitFor();
  assert.equal((await api('GET', '/v2/quotas/ui-quota')).status, 404);
  assertNoErrorsButRefusals();
});

test('the web UI: a job run stopped from its page fails with the reason in the history', async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const id = 'ui-test.sleeper';
  assert.equal((await api('POST', '/v1/jobs', { id, run: { cmd: `echo started; sleep 1000; : ${MARKER}`, cpus: 0.01, mem: 32 } })).status, 201);
  await open(`#/job?id=${id}`);
  await page.getByRole('button', { name: 'Run now' }).click();
  const active = page.locator('table.runs tbody tr[data-run]').filter({ hasText: 'ACTIVE' });
  await active.waitFor({ timeout: 30_000 });
  await active.getByRole('button', { name: /^Logs of run / }).click();
  await page.locator('pre.log').getByText('started').waitFor();
  await active.getByRole('button', { name: /^Stop run / }).click();
  const failed = page.locator('table.history tbody tr[data-run]').filter({ hasText: 'FAILED' });
  await failed.getByText('stopped by hand').waitFor({ timeout: 30_000 });
  await page.getByText('No run is active.').waitFor();
  await shoot('job-stopped');
  assert.equal((await api('DELETE', `/v1/jobs/${id}`)).status, 200);
  assertNoErrorsButRefusals();
});
