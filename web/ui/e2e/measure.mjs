// Times the console's hosts page and dashboard in headless Chromium against a running
// `sonde serve` (see measure-100k.sh): from navigation to the first rows on screen, and for
// a filter, a sort and the next page. Prints one line per figure.
//
// Environment: SONDE_URL, SONDE_TOKEN, CHROMIUM (default /usr/bin/chromium).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.SONDE_URL;
const token = process.env.SONDE_TOKEN;
if (!base || !token) throw new Error('measure.mjs: set SONDE_URL and SONDE_TOKEN');
const profile = mkdtempSync(join(tmpdir(), 'sonde-measure-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1360, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.fill('input[name=token]', token);
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  const total = () => page.getByTestId('hosts-total').textContent();
  const time = async (name, action, until) => {
    const started = Date.now();
    await action();
    await page.waitForFunction(until, undefined, { timeout: 10_000 });
    console.log(`${name}: ${Date.now() - started} ms (${await total()})`);
  };
  const rows = () => document.querySelectorAll('tbody tr a').length === 100;

  await time('hosts page, first 100 rows on screen', () => page.getByRole('link', { name: 'Hosts', exact: true }).click(), rows);
  let before = await page.locator('tbody tr a').first().textContent();
  await time('sort by open ports, descending', async () => {
    await page.getByRole('button', { name: /Open ports/ }).click();
    await page.getByRole('button', { name: /Open ports/ }).click();
  }, (b) => document.querySelector('tbody tr a')?.textContent !== b);
  before = await page.locator('tbody tr a').first().textContent();
  await time('next page', () => page.getByRole('button', { name: 'Next →' }).click(), () => document.querySelector('[data-testid=hosts-total]') && document.querySelectorAll('tbody tr a').length === 100);
  // Filters wait 250 ms for the next key before asking; these figures include that pause.
  const changed = (prev) => {
    const now = document.querySelector('[data-testid=hosts-total]')?.textContent ?? '';
    return now !== prev && !now.startsWith('25,000');
  };
  const timeFilter = async (name, action) => {
    const prev = await total();
    const started = Date.now();
    await action();
    await page.waitForFunction(changed, prev, { timeout: 10_000 });
    console.log(`${name}: ${Date.now() - started} ms (${await total()})`);
  };
  await timeFilter('filter product=nginx', () => page.fill('input[name=product]', 'nginx'));
  await timeFilter('search address prefix 10.1.20', async () => {
    await page.fill('input[name=product]', '');
    await page.fill('input[name=q]', '10.1.20');
  });
  await timeFilter('search banners for "native_pass" on port 3306', async () => {
    await page.fill('input[name=q]', 'native_pass');
    await page.fill('input[name=port]', '3306');
  });

  const dash = Date.now();
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.locator('svg[aria-label^="hosts per /24"] rect').first().waitFor();
  console.log(`dashboard with charts: ${Date.now() - dash} ms`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
