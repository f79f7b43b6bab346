// End-to-end run of the Sonde console in headless Chromium (Debian's `chromium`), driven by
// the appliance's integration test `console_e2e` against a real `sonde serve` that has no user
// yet: the browser creates the admin through the setup link, signs out and in with the
// password, and everything after runs on that session (cookie + X-CSRF-Token).
//
// Environment:
//   SONDE_URL          base URL of the console (http://127.0.0.1:PORT)
//   SONDE_SETUP_LINK   the one-time setup link from the log of `sonde serve`
//   SONDE_TARGETS      targets to scan (only 127.0.0.0/8: the test owns those listeners)
//   SONDE_PORTS        ports to scan
//   SONDE_XSS_PORT     the port whose banner carries markup and terminal escapes
//   SONDE_UDP_PORT     a UDP port that answers any datagram, asked for in the scan form
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
const setupLink = env('SONDE_SETUP_LINK');
const targets = env('SONDE_TARGETS');
const ports = env('SONDE_PORTS');
const xssPort = env('SONDE_XSS_PORT');
const udpPort = env('SONDE_UDP_PORT');
const shots = env('SONDE_SCREENSHOTS', 'target/e2e-screenshots');
if (!setupLink.startsWith(`${base}/setup#token=`)) throw new Error(`run.mjs: ${setupLink} is not a setup link of ${base}`);
if (!targets.split(/[\s,]+/).every((t) => t.startsWith('127.'))) {
  throw new Error(`run.mjs scans loopback only, not ${targets}`);
}
const admin = { name: 'admin', password: 'e2e-admin-password' };
const viewer = { name: 'watcher', password: 'e2e-viewer-password' };

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'sonde-e2e-chromium-'));
const log = (...a) => console.log('e2e:', ...a);
const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
  log(ok ? 'ok  ' : 'FAIL', message);
};

// A persistent context is how Playwright takes a fresh --user-data-dir (it refuses the flag).
const launch = (dir) =>
  chromium.launchPersistentContext(dir, {
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
const context = await launch(profile);
// The viewer signs in from a second browser profile: its own cookies, its own session.
const viewerProfile = mkdtempSync(join(tmpdir(), 'sonde-e2e-chromium-'));
let viewerContext = null;

/** Signs in on the login page with a user name and password. */
async function signIn(page, who) {
  await page.fill('input[name=username]', who.name);
  await page.fill('input[name=password]', who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

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

  // Every state-changing API request the console makes on a session carries the CSRF token;
  // only the login and the setup (which have no session yet) go without.
  const unprotected = [];
  page.on('request', (r) => {
    const path = r.url().replace(base, '');
    if (!path.startsWith('/api/v1/') || ['GET', 'HEAD'].includes(r.method())) return;
    if (r.method() === 'POST' && ['/api/v1/session', '/api/v1/setup'].includes(path)) return;
    if (!r.headers()['x-csrf-token']) unprotected.push(`${r.method()} ${path}`);
  });

  // First start: no user; the login page, then the setup link creates the admin.
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Sign in' }).first().waitFor();
  await shot('01-login');
  await page.goto(setupLink);
  await page.getByRole('heading', { name: 'Set up Sonde' }).waitFor();
  await page.fill('input[name=setup-username]', admin.name);
  await page.fill('input[name=setup-password]', admin.password);
  await page.fill('input[name=setup-confirm]', admin.password);
  await shot('00-setup');
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  check(!page.url().includes('token='), 'the setup link leaves the address bar once used');
  check((await page.locator('.who').textContent())?.includes(`${admin.name} · admin`), 'setup signed the new admin in');

  // Out, and back in with the password.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  await signIn(page, admin);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.locator('.stream[data-state=live]').waitFor({ timeout: 10_000 });
  check(true, 'signed in with the password; the event stream is live');
  const session = (await context.cookies(base)).find((c) => c.httpOnly);
  check(session?.sameSite === 'Strict', `the session cookie is HttpOnly and SameSite=Strict (${JSON.stringify(session)})`);
  const loadsAfterLogin = loads;
  await page.evaluate(() => (window.__sondeSameDocument = true));

  // Start a scan and watch it to 100% on the dashboard, without a reload.
  async function runScan(n) {
    await nav('Scans');
    await page.fill('textarea[name=targets]', targets);
    await page.selectOption('select[name=profile]', 'custom');
    await page.fill('input[name=ports]', ports);
    await page.fill('input[name=rate]', '300');
    await page.fill('input[name=udp_ports]', udpPort);
    // Loopback needs the connect engine; the first scan asks for it, the second leaves it
    // to the appliance.
    if (n === 1) await page.selectOption('select[name=engine]', 'connect');
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
  check(
    (await page.getByRole('heading', { name: `${udpPort}/udp`, exact: true }).count()) === 1,
    `the UDP port asked for in the scan form is on the host page as ${udpPort}/udp`,
  );

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
  // Same listeners, same ports: nothing appeared, vanished, moved, opened or closed.
  const counts = await changes.locator('.stat .value').allTextContents();
  check(counts.length === 6 && counts.every((c) => c === '0'), `the comparison shows no change (${counts.join(', ')})`);
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

  // Without [docker] endpoints the page says so, and offers nothing to read.
  await nav('Docker');
  await page.getByRole('heading', { name: 'Docker', exact: true }).waitFor();
  await page.getByText('No Docker engine is configured').waitFor();
  check((await page.getByRole('button', { name: 'Read now' }).count()) === 0, 'no engine, nothing to read now');

  // On its own SQLite store the appliance lists itself, alive.
  await nav('Appliances');
  await page.getByRole('heading', { name: 'Appliances', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'alive' }).waitFor();

  // The admin adds a viewer and makes an API token.
  await nav('Users & tokens');
  await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
  await page.fill('input[name=new-username]', viewer.name);
  await page.fill('input[name=new-password]', viewer.password);
  await page.selectOption('select[name=new-role]', 'viewer');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.getByRole('cell', { name: viewer.name, exact: true }).waitFor();
  check(true, `the admin added the viewer ${viewer.name}`);
  await page.fill('input[name=token-name]', 'e2e-api');
  await page.getByRole('button', { name: 'Create token' }).click();
  const apiToken = ((await page.getByTestId('token-secret').textContent()) ?? '').trim();
  await shot('11-users');

  // API clients: a bearer token needs no CSRF token; a cookie without one is refused.
  const api = (path, init = {}) => fetch(`${base}/api/v1${path}`, init);
  check((await api('/scans', { headers: { Authorization: `Bearer ${apiToken}` } })).status === 200, 'the new API token reads the scans');
  const cookie = `${session?.name}=${session?.value}`;
  const forged = await api('/scans', {
    method: 'POST',
    headers: { Cookie: cookie, 'Content-Type': 'application/json' },
    body: JSON.stringify({ targets: ['127.0.0.1'], ports: '1' }),
  });
  check(forged.status === 403, `a session request without X-CSRF-Token is refused (${forged.status})`);

  // The admin excludes the loopback network and caps the rate; new scans obey at once.
  await nav('Settings');
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  await page.fill('textarea[name=exclude]', '127.0.0.0/8');
  await page.fill('input[name=rate-cap]', '5000');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByTestId('settings-saved').waitFor();
  await shot('12-settings');
  const asAdmin = (body) =>
    api('/scans', {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  // Loopback targets, so that a refusal that failed would probe only this machine.
  const capped = await asAdmin({ targets: ['127.0.0.1'], ports: '1', rate: 10000 });
  check(capped.status === 400 && (await capped.text()).includes('cap of 5000'), `a scan above the rate cap is refused (${capped.status})`);
  // Within the cap, so that only the exclusion can refuse it.
  const excluded = await asAdmin({ targets: ['127.0.0.1'], ports: '1', rate: 100 });
  const excludedBody = await excluded.text();
  check(excluded.status === 400 && excludedBody.includes('excluded'), `a scan of an excluded network is refused (${excluded.status} ${excludedBody})`);

  await page.emulateMedia({ colorScheme: 'dark' });
  await nav('Dashboard');
  await shot('13-dashboard-dark');
  await page.goto(`${base}/hosts/127.0.0.1`);
  await banner.waitFor();
  await shot('14-host-dark');

  // The viewer, in a browser of their own: scans are shown but cannot be started, and the
  // API refuses a forced request.
  viewerContext = await launch(viewerProfile);
  const vpage = viewerContext.pages()[0] ?? (await viewerContext.newPage());
  await vpage.goto(`${base}/`);
  await signIn(vpage, viewer);
  await vpage.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await vpage.getByRole('link', { name: 'Scans', exact: true }).click();
  await vpage.getByTestId('read-only').waitFor();
  check((await vpage.getByRole('button', { name: 'Start scan' }).count()) === 0, 'the viewer sees no Start scan button');
  await vpage.screenshot({ path: join(shots, '15-viewer-scans.png'), fullPage: true });
  await vpage.getByRole('link', { name: 'Settings', exact: true }).click();
  await vpage.locator('textarea[name=exclude]').waitFor();
  check((await vpage.inputValue('textarea[name=exclude]')) === '127.0.0.0/8', 'the viewer reads the settings');
  check(
    (await vpage.locator('textarea[name=exclude]').isDisabled()) && (await vpage.getByRole('button', { name: 'Save settings' }).count()) === 0,
    'the viewer cannot change the settings',
  );
  const forced = await vpage.evaluate(async () => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/scans', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
      body: JSON.stringify({ targets: ['127.0.0.1'], ports: '1' }),
    });
    return r.status;
  });
  check(forced === 403, `the API refuses the viewer's forced scan (${forced})`);

  // A session that dies sends the console back to its login page.
  await viewerContext.clearCookies();
  await vpage.getByRole('link', { name: 'Hosts', exact: true }).click();
  await vpage.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ timeout: 10_000 });
  check(true, 'a lost session goes back to the login page');

  // Guessing passwords: after a few failures the login page says how long to wait.
  for (let i = 0; i < 8; i++) {
    await signIn(vpage, { name: 'nobody', password: 'wrong-password' });
    const alert = vpage.getByRole('alert');
    await alert.waitFor();
    if (/try again in \d+ s/.test((await alert.textContent()) ?? '')) break;
    await vpage.waitForTimeout(100);
  }
  const limited = (await vpage.getByRole('alert').textContent()) ?? '';
  check(/Too many attempts; try again in \d+ s\./.test(limited), `repeated failed logins are slowed down (${limited})`);
  await vpage.screenshot({ path: join(shots, '16-login-rate-limited.png'), fullPage: true });

  check(unprotected.length === 0, `every state-changing request carried X-CSRF-Token (${unprotected.join(' | ')})`);
  check(dialogs.length === 0, `no dialog opened (${dialogs.join(' | ')})`);
  check(consoleErrors.length === 0, `no script error or CSP violation (${consoleErrors.join(' | ')})`);
  // The console asks for its session when it loads, and has none before signing in; anything
  // else refused is a console bug.
  const optional = /^401 GET \/api\/v1\/session$/;
  const unexpected = refused.filter((r) => !optional.test(r));
  check(unexpected.length === 0, `no request refused (${unexpected.join(' | ')})`);
  check(foreign.length === 0, `no request left the appliance (${foreign.join(' ')})`);
} catch (e) {
  failed = true;
  console.error('e2e: FAIL', e instanceof Error ? e.stack : e);
} finally {
  await context.close();
  await viewerContext?.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(viewerProfile, { recursive: true, force: true });
}

if (failed || problems.length) {
  console.error(`e2e: ${problems.length} check(s) failed${failed ? ', and the run stopped early' : ''}`);
  process.exit(1);
}
log('all checks passed; screenshots in', shots);
