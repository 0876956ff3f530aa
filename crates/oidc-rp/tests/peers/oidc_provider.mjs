// A real OpenID provider for the integration tests: the `oidc-provider` npm package on
// loopback, with fresh signing keys on every start (so a restart is a key rotation) and an
// interaction route that signs in the account named by `login_hint` without a browser, or
// with `"pages": true` the package's own HTML sign-in and consent pages (devInteractions:
// any login, any password) for a real browser to fill in.
//
// Usage: node oidc_provider.mjs CONFIG.json
// CONFIG.json: { "port": 0, "clients": [ ...client metadata... ], "pages": false }
// Prints one line `READY <issuer>` on stdout once it listens.
//
// The package is loaded from GATEHOUSE_NPM_DIR (scripts/deps/npm), where scripts/setup runs
// `npm ci`; a missing package makes the start fail, and the tests with it.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const npmDir = process.env.GATEHOUSE_NPM_DIR;
if (!npmDir) {
  console.error('GATEHOUSE_NPM_DIR is not set');
  process.exit(2);
}
const load = (pkg, entry) => import(pathToFileURL(join(npmDir, 'node_modules', pkg, entry)).href);
const { default: Provider } = await load('oidc-provider', 'lib/index.js');
const jose = await load('jose', 'dist/webapi/index.js');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

async function signingKey(alg, options) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...options });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = `${alg}-${Math.random().toString(36).slice(2, 10)}`;
  jwk.alg = alg;
  jwk.use = 'sig';
  return jwk;
}

const keys = [
  await signingKey('RS256', { modulusLength: 2048 }),
  await signingKey('PS256', { modulusLength: 2048 }),
  await signingKey('ES256'),
  await signingKey('EdDSA', { crv: 'Ed25519' }),
];

const server = createServer();
await new Promise((resolve) => server.listen(config.port ?? 0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'],
    clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  },
  features: {
    devInteractions: { enabled: config.pages === true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><body>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
      },
    },
    backchannelLogout: { enabled: true },
  },
  acrValues: ['urn:gatehouse:acr:mfa', 'urn:gatehouse:acr:password'],
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  async findAccount(_ctx, accountId) {
    return {
      accountId,
      async claims() {
        return {
          sub: accountId,
          email: `${accountId}@example.com`,
          // Accounts named `textverified...` get `email_verified` as a string, as Amazon
          // Cognito and some custom claim mappings send it.
          email_verified: accountId.startsWith('textverified') ? 'true' : true,
          name: `User ${accountId}`,
          given_name: 'User',
          family_name: accountId,
        };
      },
    };
  },
  // The pages' own interaction URL when they are on.
  ...(config.pages === true ? {} : { interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` } }),
  cookies: { keys: ['gatehouse-test-cookie-key'] },
  // The back-channel logout receiver of the tests is on loopback, which the provider's
  // outgoing-request guard refuses; drop the guard here, for the tests only.
  fetch: (url, options) => {
    const { dispatcher: _guard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  pkce: { required: () => true },
  ttl: { Session: 3600, Grant: 3600, Interaction: 600, AccessToken: 600, IdToken: 600, RefreshToken: 3600 },
});

// Signs in without a page: the account is the login_hint (default `user-1`), acr is the first
// acr_values entry, and consent grants whatever is missing.
provider.use(async (ctx, next) => {
  if (config.pages === true || !ctx.path.startsWith('/interaction/')) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const login = { accountId: params.login_hint || 'user-1' };
    if (params.acr_values) {
      login.acr = String(params.acr_values).split(' ')[0];
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) {
    grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  }
  if (prompt.details.missingOIDCClaims) {
    grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  }
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
});

for (const event of ['backchannel.error', 'server_error', 'end_session.error']) {
  provider.on(event, (...args) => console.error(`oidc-provider ${event}:`, ...args.map((a) => a?.message ?? a)));
}
server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);
process.on('SIGTERM', () => process.exit(0));
