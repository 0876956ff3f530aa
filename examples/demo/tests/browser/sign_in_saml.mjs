// Clicks through a SAML sign-in in Debian's headless Chromium, driven by playwright-core
// (from scripts/deps/npm): the demo's home page with a work email, SimpleSAMLphp's own
// username/password page, the auto-submitted SAMLResponse form back to the demo's ACS, and
// the profile page, which it screenshots. It asserts nothing itself: it prints what the
// browser saw as one line `RESULT {json}` on stdout for the Rust test
// (examples/demo/tests/browser_saml_e2e.rs) to check.
//
// Usage: node sign_in_saml.mjs SCENARIO.json
// SCENARIO.json: { "base": "http://localhost:PORT", "email": "...", "username": "...",
//   "password": "...", "screenshot": "/path/profile.png", "chromium": "/usr/bin/chromium" }
// GATEHOUSE_NPM_DIR names the npm folder.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const npmDir = process.env.GATEHOUSE_NPM_DIR;
if (!npmDir) {
  console.error('GATEHOUSE_NPM_DIR is not set');
  process.exit(2);
}
const { chromium } = await import(
  pathToFileURL(join(npmDir, 'node_modules', 'playwright-core', 'index.mjs')).href
);
const scenario = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = { steps: [], binding_set_cookie: [], acs_posts: [] };
const step = (name) => {
  result.steps.push(name);
  console.error(`browser: ${name}`);
};

const browser = await chromium.launch({
  executablePath: scenario.chromium,
  headless: true,
  // Root in a container: Chromium's sandbox cannot start.
  args: ['--no-sandbox'],
  timeout: 120_000,
});
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();

  // The binding cookie set at the login start, and the IdP's POST to the ACS.
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (url.pathname.match(/^\/sso\/saml\/[^/]+\/login$/)) {
      const header = await response.headerValue('set-cookie');
      if (header) result.binding_set_cookie.push(header);
    }
  });
  page.on('request', async (request) => {
    const url = new URL(request.url());
    if (url.pathname.match(/^\/sso\/saml\/[^/]+\/acs$/)) {
      const headers = await request.allHeaders();
      const cookies = (headers.cookie ?? '').split(';').map((c) => c.trim().split('=')[0]);
      result.acs_posts.push({
        method: request.method(),
        origin: url.origin,
        referrer_origin: headers.referer ? new URL(headers.referer).origin : null,
        cookie_names: cookies.filter(Boolean),
      });
    }
  });

  step('open the home page');
  await page.goto(`${scenario.base}/`);
  await page.getByLabel('Work email').fill(scenario.email);
  await page.getByRole('button', { name: 'Continue' }).click();

  step('sign in at SimpleSAMLphp');
  const username = page.locator('input[name="username"]');
  await username.waitFor();
  result.idp_login_url = page.url();
  result.idp_login_title = await page.title();
  await username.fill(scenario.username);
  await page.locator('input[name="password"]').fill(scenario.password);
  await page.locator('input[name="password"]').press('Enter');

  step('profile page');
  const profileUrl = `${scenario.base}/profile`;
  await page.waitForURL((u) => u.pathname === '/profile' || u.pathname.endsWith('/acs'));
  if (page.url() !== profileUrl) {
    throw new Error(`sign-in ended at ${page.url()}: ${await page.locator('body').innerText()}`);
  }
  result.profile_url = page.url();
  result.organization = await page.locator('#organization').textContent();
  result.connection = await page.locator('#connection').textContent();
  result.profile = JSON.parse(await page.locator('#profile').textContent());
  result.context_cookies = (await context.cookies()).map((c) => ({
    name: c.name,
    domain: c.domain,
    secure: c.secure,
    sameSite: c.sameSite,
  }));
  await page.screenshot({ path: scenario.screenshot, fullPage: true });
} catch (e) {
  result.error = String(e?.stack ?? e);
} finally {
  await browser.close();
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
