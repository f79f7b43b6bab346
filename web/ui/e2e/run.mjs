// End-to-end run of the Sonde console in headless Chromium (Debian's `chromium`), driven by
// the appliance's integration test `console_e2e` against a real `sonde serve`.
//
// Environment:
//   SONDE_URL          base URL of the console (http://127.0.0.1:PORT)
//   SONDE_TOKEN        an API token, or SONDE_USER + SONDE_PASSWORD for a session login
//   SONDE_TARGETS      targets to scan (only 127.0.0.0/8: the test owns those listeners)
//   SONDE_PORTS        ports to scan
//   SONDE_XSS_PORT     the port whose banner carries markup and terminal escapes
//   SONDE_SCREENSHOTS  folder for one PNG per page
//   CHROMIUM           browser binary (default /usr/bin/chromium)
// Exits 0 when every check passed, 1 with the reason otherwise.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`run.mjs: set ${name}`);
  return value;
};

const base = env('SONDE_URL').replace(/\/$/, '');
const targets = env('SONDE_TARGETS');
const ports = env('SONDE_PORTS');
const xssPort = env('SONDE_XSS_PORT');
const shots = env('SONDE_SCREENSHOTS', 'target/e2e-screenshots');
const token = process.env.SONDE_TOKEN;
const user = process.env.SONDE_USER;
const password = process.env.SONDE_PASSWORD;
if (!token && !(user && password)) throw new Error('run.mjs: set SONDE_TOKEN or SONDE_USER and SONDE_PASSWORD');
if (!targets.split(/[\s,]+/).every((t) => t.startsWith('127.'))) {
  throw new Error(`run.mjs scans loopback only, not ${targets}`);
}

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'sonde-e2e-chromium-'));
const log = (...a) => console.log('e2e:', ...a);
const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
  log(ok ? 'ok  ' : 'FAIL', message);
};

// A persistent context is how Playwright takes a fresh --user-data-dir (it refuses the flag).
const context = await chromium.launchPersistentContext(profile, {
  viewport: { width: 1360, height: 900 },
  acceptDownloads: true,
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let failed = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs = [];
  const consoleErrors = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // Failed fetches are judged below by URL: optional endpoints may be absent (404).
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));
  const refused = [];
  page.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.request().method()} ${r.url().replace(base, '')}`));
  // Nothing may leave the machine: the console loads only from the appliance.
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  let loads = 0;
  page.on('load', () => loads++);

  const shot = async (name) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const nav = (label) => page.getByRole('link', { name: label, exact: true }).click();

  // Log in.
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Sign in' }).first().waitFor();
  await shot('01-login');
  if (user && password) {
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  } else {
    await page.getByRole('button', { name: 'Use an API token instead' }).click();
    await page.fill('input[name=token]', token);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
  }
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.locator('.stream[data-state=live]').waitFor({ timeout: 10_000 });
  check(true, 'logged in; the event stream is live');
  const loadsAfterLogin = loads;
  await page.evaluate(() => (window.__sondeSameDocument = true));

  // Start a scan and watch it to 100% on the dashboard, without a reload.
  async function runScan(n) {
    await nav('Scans');
    await page.fill('textarea[name=targets]', targets);
    await page.selectOption('select[name=profile]', 'custom');
    await page.fill('input[name=ports]', ports);
    await page.fill('input[name=rate]', '300');
    await page.getByRole('button', { name: 'Start scan' }).click();
    const notice = await page.getByText(/Scan #\d+ queued\./).textContent();
    const id = Number(/#(\d+)/.exec(notice)[1]);
    log(`scan ${n}: #${id} queued`);
    if (n === 1) await shot('03-scans-running');
    await nav('Dashboard');
    const card = page.locator(`[data-scan-id="${id}"]`).first();
    await card.waitFor();
    const seen = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      const progress = (await card.locator('[data-testid=progress]').textContent()) ?? '';
      const status = (await card.locator('[data-testid=scan-status]').textContent()) ?? '';
      if (seen.at(-1) !== progress) seen.push(progress);
      if (n === 1 && seen.length === 2) await shot('02-dashboard-running');
      if (status === 'completed' && progress === '100%') break;
      if (['failed', 'cancelled'].includes(status)) throw new Error(`scan #${id} ended ${status}`);
      if (Date.now() > deadline) throw new Error(`scan #${id} stuck at ${progress} (${status})`);
      await page.waitForTimeout(100);
    }
    log(`scan #${id} progress seen: ${seen.join(' → ')}`);
    check(seen.length >= 2, `scan #${id}: progress moved on screen (${seen.join(', ')})`);
    return id;
  }
  const first = await runScan(1);
  await shot('04-dashboard');
  const still = await page.evaluate(() => window.__sondeSameDocument === true);
  check(still && loads === loadsAfterLogin, 'progress reached 100% with no page reload');

  // The heat map's cell opens the hosts list filtered to its /24; then the host found.
  await page.getByRole('link', { name: '127.0.0.0/24: 1 hosts' }).click();
  const row = page.getByRole('link', { name: '127.0.0.1', exact: true });
  await row.waitFor();
  check((await page.inputValue('input[name=subnet]')) === '127.0.0.0/24', 'the heat map opens the hosts of its /24');
  await page.fill('input[name=subnet]', '');
  await shot('05-hosts');
  await page.fill('input[name=q]', 'script');
  await page.waitForFunction(() => document.querySelector('[data-testid=hosts-total]')?.textContent?.startsWith('1 '));
  check(true, 'text search finds the host by its banner');
  await page.fill('input[name=q]', '');
  await row.click();
  await page.getByTestId('host-ip').waitFor();
  const banner = page.locator(`[data-port="${xssPort}"] [data-testid=banner]`);
  await banner.waitFor();
  const text = (await banner.textContent()) ?? '';
  check(text.includes('<script>') && text.includes('</script>'), 'a <script> banner shows as text');
  check(text.includes('"><img src=x onerror='), 'an "><img onerror=...> banner shows as text');
  check(text.includes('\\u{1b}[31m') && !text.includes('\x1b'), 'terminal escapes show as escaped text');
  const injected = await page.evaluate(() => ({
    img: document.querySelectorAll('main img[onerror], main img[src=x]').length,
    script: [...document.querySelectorAll('main script')].length,
    flag: window.__sondeXss ?? null,
  }));
  check(injected.img === 0 && injected.script === 0, 'the banner created no element');
  check(injected.flag === null, 'no script from a banner ran');
  // An operator's edit, itself markup, shows as text too.
  await page.getByRole('button', { name: 'Edit name, note and tags' }).click();
  await page.fill('input[name=host-name]', 'lab <b>box</b>');
  await page.fill('input[name=host-tags]', 'lab, e2e');
  await page.fill('textarea[name=host-note]', 'Serves a hostile banner on purpose.');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Serves a hostile banner on purpose.').waitFor();
  const title = (await page.getByTestId('host-ip').textContent()) ?? '';
  check(title.includes('lab <b>box</b>') && (await page.locator('main h1 b').count()) === 0, 'the host edit is saved and shown as text');
  await shot('06-host');

  // A second scan of the same targets, then the comparison.
  const second = await runScan(2);
  await nav('Scans');
  await page.getByRole('checkbox', { name: `compare scan ${first}` }).check();
  await page.getByRole('checkbox', { name: `compare scan ${second}` }).check();
  await page.getByRole('button', { name: 'Compare' }).click();
  const changes = page.getByTestId('changes');
  await changes.waitFor();
  const heading = (await changes.locator('h2').textContent()) ?? '';
  check(heading.includes(`#${second}`) && heading.includes(`#${first}`), `scans #${first} and #${second} compared`);
  // Same listeners, same ports: nothing appeared, vanished, opened or closed.
  const counts = await changes.locator('.stat .value').allTextContents();
  check(counts.length === 5 && counts.every((c) => c === '0'), `the comparison shows no change (${counts.join(', ')})`);
  await shot('07-scans-compare');
  const [exported] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: `export scan ${first} as CSV` }).click(),
  ]);
  check(exported.suggestedFilename().endsWith('.csv'), `scan #${first} exports as CSV (${exported.suggestedFilename()})`);

  // Topology: collapsed subnets, one opened, exported.
  await nav('Topology');
  const net = page.locator('g.node.net').first();
  await net.waitFor();
  await shot('08-topology');
  await net.click();
  await page.locator('g.node.host').first().waitFor();
  await page.locator('g.node.host').first().click();
  await page.locator('g.node.svc').first().waitFor();
  const [svg] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export SVG' }).click()]);
  check(svg.suggestedFilename() === 'sonde-topology.svg', 'the topology exports as SVG');
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
  check(png.suggestedFilename() === 'sonde-topology.png', 'the topology exports as PNG');
  await shot('09-topology-open');

  await nav('Schedules');
  await page.getByRole('heading', { name: 'Schedules' }).waitFor();
  await shot('10-schedules');

  await nav('Users & tokens');
  await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
  await shot('11-users');
  await nav('Settings');
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  await shot('12-settings');

  await page.emulateMedia({ colorScheme: 'dark' });
  await nav('Dashboard');
  await shot('13-dashboard-dark');
  await page.goto(`${base}/hosts/127.0.0.1`);
  await banner.waitFor();
  await shot('14-host-dark');

  check(dialogs.length === 0, `no dialog opened (${dialogs.join(' | ')})`);
  check(consoleErrors.length === 0, `no script error or CSP violation (${consoleErrors.join(' | ')})`);
  // Routes for sessions, tokens, users and settings may be
  // missing; anything else refused is a console bug.
  const optional = /^404 (GET|POST) \/api\/v1\/(session|tokens|users|settings)\b/;
  const unexpected = refused.filter((r) => !optional.test(r));
  check(unexpected.length === 0, `no request refused (${unexpected.join(' | ')})`);
  check(foreign.length === 0, `no request left the appliance (${foreign.join(' ')})`);
} catch (e) {
  failed = true;
  console.error('e2e: FAIL', e instanceof Error ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

if (failed || problems.length) {
  console.error(`e2e: ${problems.length} check(s) failed${failed ? ', and the run stopped early' : ''}`);
  process.exit(1);
}
log('all checks passed; screenshots in', shots);
