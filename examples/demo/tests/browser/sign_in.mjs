// Clicks through the demo in Debian's headless Chromium, driven by playwright-core (from
// scripts/deps/npm; it downloads no browser of its own): sign in with a work email at the
// demo's home page, fill in the OpenID provider's sign-in and consent pages, read the
// profile page and screenshot it, then (optionally) rotate the SCIM token on the admin page.
// It asserts nothing itself: it prints what the browser saw as one line
// `RESULT {json}` on stdout, and the Rust test (examples/demo/tests/browser_e2e.rs) checks it.
//
// Usage: node sign_in.mjs SCENARIO.json
// SCENARIO.json: { "base": "http://localhost:PORT", "email": "...", "account": "...",
//   "screenshot": "/path/profile.png", "admin_org": "globex" or null, "chromium": "/usr/bin/chromium" }
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
const result = { steps: [] };
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

  // What the network saw: the binding cookie set at the login start, and the callback.
  result.binding_set_cookie = [];
  result.callbacks = [];
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (url.pathname.match(/^\/sso\/oidc\/[^/]+\/login$/)) {
      const header = await response.headerValue('set-cookie');
      if (header) result.binding_set_cookie.push(header);
    }
  });
  page.on('request', async (request) => {
    const url = new URL(request.url());
    if (url.pathname.match(/^\/sso\/oidc\/[^/]+\/callback$/)) {
      const headers = await request.allHeaders();
      const cookies = (headers.cookie ?? '').split(';').map((c) => c.trim().split('=')[0]);
      result.callbacks.push({
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

  step('sign in at the provider');
  const login = page.locator('input[name="login"]');
  await login.waitFor();
  result.provider_login_origin = new URL(page.url()).origin;
  result.provider_login_title = await page.title();
  result.login_hint_prefilled = await login.inputValue();
  await login.fill(scenario.account);
  await page.locator('input[name="password"]').fill('any password will do');
  await page.getByRole('button', { name: 'Sign-in' }).click();

  // The consent page, unless the provider skips it.
  const consent = page.getByRole('button', { name: 'Continue' });
  const profileUrl = `${scenario.base}/profile`;
  await Promise.race([
    consent.waitFor(),
    page.waitForURL((u) => u.pathname === '/profile' || u.pathname.endsWith('/callback')),
  ]);
  result.consent_shown = new URL(page.url()).pathname.startsWith('/interaction/');
  if (result.consent_shown) {
    step('consent at the provider');
    await consent.click();
  }

  step('profile page');
  // A redirect to the profile, or the demo's failure page at the callback.
  await page.waitForURL((u) => u.pathname === '/profile' || u.pathname.endsWith('/callback'));
  if (page.url() !== profileUrl) {
    throw new Error(`sign-in ended at ${page.url()}: ${await page.locator('body').innerText()}`);
  }
  result.profile_url = page.url();
  result.profile_title = await page.title();
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
  result.screenshot = scenario.screenshot;

  if (scenario.admin_org) {
    step('admin page');
    await page.goto(`${scenario.base}/admin/${scenario.admin_org}`);
    result.admin_title = await page.title();
    result.token_before_rotation = await page.locator('#new-token').count();
    await page.getByRole('button', { name: 'Rotate the SCIM token' }).click();
    await page.locator('#new-token').waitFor();
    result.rotated_url = page.url();
    result.new_token = await page.locator('#new-token').textContent();
    step('admin page again');
    await page.goto(`${scenario.base}/admin/${scenario.admin_org}`);
    result.token_after_reload = await page.locator('#new-token').count();
    result.token_text_after_reload = (await page.content()).includes(result.new_token);
  }
} catch (e) {
  result.error = String(e?.stack ?? e);
} finally {
  await browser.close();
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
