// The dashboard in a real browser (Debian's Chromium through playwright-core) against a real daemon
// building the example backend from a real git repo: log in, see both colors, stage a tag and watch
// it become Ready without a reload, switch and see the public port answer the new version, roll
// back; a viewer sees no action buttons; a wrong password shows an error; logout ends the session.
// Each screen is written to test-results/dashboard/ for a person to look at.
import { expect } from 'chai';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { scratchDir } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { PASSWORD, startTestDaemon, type TestDaemon } from './api-harness.js';
import { collectErrors, launchBrowser, needBrowser, screenshot } from './harness/browser.js';
import { waitUntil } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
/** A build and its tests, or a switch and its drain, on a machine shared with other test runs. */
const SLOW_MS = 90_000;

describe('dashboard: an operator in a real browser (real daemon, real builds)', function () {
  this.timeout(240_000);
  let hv: TestDaemon;
  let repoDir: { dir: string; remove(): Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  before(async function () {
    needBrowser(this);
    repoDir = await scratchDir('hv-ui-repo-');
    const repo = await createExampleRepo(path.join(repoDir.dir, 'backend'));
    await repo.release(V1);
    await repo.release(V2);
    hv = await startTestDaemon({ repo: path.join(repoDir.dir, 'backend') });
    await hv.addUser('olga', 'operator');
    await hv.addUser('vera', 'viewer');
    await hv.addUser('ada', 'admin');
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    errors = collectErrors(page);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await hv?.close();
    await repoDir?.remove();
  });

  const version = async (): Promise<string> => (await fetch(`${hv.url}/version`)).text();
  const region = (color: string) => page.getByRole('region', { name: color, exact: true });
  const share = (color: string) => region(color).locator('dt:text-is("Traffic share") + dd');
  const confirm = async (): Promise<void> => {
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  };

  async function logIn(p: Page, username: string, password = PASSWORD): Promise<void> {
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Log in' }).click();
  }

  it('shows an error for a wrong password and stays on the login form', async () => {
    await page.goto(`${hv.url}/hypervisor/ui/`);
    await logIn(page, 'olga', 'not the password');
    await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    expect(await page.getByRole('button', { name: 'Log in' }).isVisible()).to.equal(true);
    await screenshot(page, '01-login-error');
  });

  it('logs in from the keyboard and shows both colors', async () => {
    await page.getByLabel('Username').fill('');
    await page.getByLabel('Username').focus();
    await page.keyboard.type('olga');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await region('blue').getByRole('heading', { name: 'blue' }).waitFor();
    await region('green').getByRole('heading', { name: 'green' }).waitFor();
    await screenshot(page, '02-overview-empty');
  });

  it('stages a tag on the releases screen and shows it Ready on the overview without a reload', async () => {
    // Strings: the page's globals are the browser's, not this file's (no DOM types here).
    await page.evaluate('window.notReloaded = true');
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.getByLabel('Tag', { exact: true }).fill(`v${V1}`);
    await page.getByRole('button', { name: 'Stage', exact: true }).click();
    await confirm();
    await page
      .getByLabel('Activity', { exact: true })
      .filter({ hasText: `v${V1} staged on blue` })
      .waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    await region('blue').getByText('Ready', { exact: true }).waitFor({ timeout: SLOW_MS });
    await region('blue').getByText(V1, { exact: true }).waitFor({ timeout: SLOW_MS });
    expect(await page.evaluate('window.notReloaded'), 'the page was not reloaded').to.equal(true);
    await waitUntil(version, (v) => v === V1, { what: `the public port answering ${V1}`, timeoutMs: SLOW_MS });
  });

  it('switches to a Ready inactive color, and the public port answers its version', async () => {
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.getByLabel('Tag', { exact: true }).fill(`v${V2}`);
    await page.getByRole('button', { name: 'Stage', exact: true }).click();
    await confirm();
    await page.getByRole('link', { name: 'Overview' }).click();
    const switchButton = region('green').getByRole('button', { name: 'Switch to green' });
    await switchButton.waitFor({ timeout: SLOW_MS });
    await screenshot(page, '03-overview-green-ready');
    await switchButton.click();
    await confirm();
    await waitUntil(version, (v) => v === V2, { what: `the public port answering ${V2}`, timeoutMs: SLOW_MS });
    await region('green').getByText('active', { exact: true }).waitFor();
    await region('blue').getByRole('button', { name: 'Switch to blue' }).waitFor();
    // The share each color gets comes from the status's weights, live.
    await share('green')
      .filter({ hasText: /^100%$/ })
      .waitFor();
    await share('blue').filter({ hasText: /^0%$/ }).waitFor();
  });

  it('rolls back in one click and a confirmation: the public port answers the old version again', async () => {
    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByRole('rowheader', { name: `v${V2}` }).waitFor();
    await screenshot(page, '04-deployments');
    await page.getByRole('button', { name: 'Roll back' }).click();
    await confirm();
    await waitUntil(version, (v) => v === V1, { what: `the public port answering ${V1} again`, timeoutMs: SLOW_MS });
    await page.getByLabel('Activity', { exact: true }).filter({ hasText: 'traffic goes back to blue' }).waitFor();
  });

  it('pauses and resumes the loop, each behind a confirmation that can be cancelled', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const paused = async (): Promise<boolean> =>
      (await hv.admin<{ status: { paused: boolean } }>('GET', '/status')).json.status.paused;
    expect(await paused(), 'a cancelled action does nothing').to.equal(false);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await confirm();
    await page.getByText('paused', { exact: true }).waitFor();
    expect(await paused()).to.equal(true);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await confirm();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    expect(await paused()).to.equal(false);
  });

  it('shows every screen (screenshots under test-results/dashboard/)', async () => {
    const main = page.getByRole('main');
    const screens: Array<[string, string, Locator]> = [
      ['Releases', '05-releases', main.getByRole('rowheader', { name: `v${V2}` })],
      ['Events', '06-events', main.getByRole('cell', { name: 'SwitchRequested', exact: true }).first()],
      ['Traffic', '07-traffic', main.getByRole('heading', { name: 'Requests per second' })],
      ['Desired state', '08-desired', main.getByRole('heading', { name: 'History' })],
    ];
    for (const [link, name, shown] of screens) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: link }).waitFor();
      await shown.waitFor();
      await screenshot(page, name);
    }
    await page.getByRole('link', { name: 'Releases' }).click();
    await page
      .getByRole('row', { name: new RegExp(`v${V2}`) })
      .getByRole('link', { name: 'Logs' })
      .click();
    await page.getByRole('status').filter({ hasText: 'complete' }).waitFor();
    expect(await page.getByLabel('build log', { exact: true }).textContent()).to.match(/\S/);
    await screenshot(page, '09-build-log');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Overview' }).click();
    await region('green').waitFor();
    await screenshot(page, '10-overview-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('lets a viewer see everything and act on nothing', async () => {
    const viewer = await context.browser()!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const vp = await viewer.newPage();
      const viewerErrors = collectErrors(vp);
      await vp.goto(`${hv.url}/hypervisor/ui/`);
      await logIn(vp, 'vera');
      await vp.getByRole('region', { name: 'green', exact: true }).waitFor();
      await vp.getByText(`v${V2}`).first().waitFor();
      const actions = /^(Switch to|Roll back|Pause|Resume|Stage|Rebuild|Re-run smoke|Apply|Remove|Add)/;
      for (const screen of ['Overview', 'Releases', 'Deployments', 'Desired state']) {
        await vp.getByRole('link', { name: screen, exact: true }).click();
        await vp.getByRole('heading', { level: 1, name: screen }).waitFor();
        expect(await vp.getByRole('button', { name: actions }).count(), `action buttons on ${screen}`).to.equal(0);
      }
      await vp.getByRole('link', { name: 'Releases' }).click();
      await vp.getByRole('rowheader', { name: `v${V1}` }).waitFor();
      await screenshot(vp, '11-releases-viewer');
      expect(await vp.getByRole('link', { name: 'Users' }).count(), 'the users screen is for admins').to.equal(0);
      expect(viewerErrors).to.deep.equal([]);
    } finally {
      await viewer.close();
    }
  });

  it('shows an admin the users', async () => {
    const admin = await context.browser()!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const ap = await admin.newPage();
      await ap.goto(`${hv.url}/hypervisor/ui/`);
      await logIn(ap, 'ada');
      await ap.getByRole('link', { name: 'Users' }).click();
      await ap.getByRole('rowheader', { name: 'vera' }).waitFor();
      await screenshot(ap, '12-users');
    } finally {
      await admin.close();
    }
  });

  it('ends the session on logout: the cookie no longer lets anyone in, and a reload shows the login form', async () => {
    const [cookie] = await context.cookies(`${hv.url}/hypervisor/`);
    expect(cookie, 'the session cookie').to.include({ name: 'hv_session', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie'), 'the script cannot read the session').to.equal('');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    const me = await hv.call('GET', '/auth/me', { headers: { cookie: `hv_session=${cookie!.value}` } });
    expect(me.status, 'the old cookie after logout').to.equal(401);
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(errors).to.deep.equal([]);
  });
});
