// A real OpenID Provider for the single sign-on tests: node-oidc-provider (OpenID Certified)
// with its development login page (any password; the login names an account below).
// Usage: node server.mjs CONFIG.json — {issuer, port, jwks, clients, accounts, cookieKey, resource}.
// `resource`: the platform API's resource indicator (RFC 8707): an authorization that asks for it
// gets a JWT access token (RFC 9068) with that audience, for the API's bearer-token tests.
// Prints "ready" on stdout once it listens; the test fixture stops it by its process id.
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts; // login name -> claims (sub is the login name)

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [config.cookieKey] },
  claims: { openid: ['sub'], profile: ['name'], org: ['uscc', 'ybz_role'] },
  scopes: ['openid', 'profile', 'org'],
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: Boolean(config.resource),
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== config.resource) throw new errors.InvalidTarget();
        return { scope: 'api', audience: resourceIndicator, accessTokenTTL: 600, accessTokenFormat: 'jwt',
                 jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  pkce: { required: () => true },
  // First-party clients: the consent step is granted without a page.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile org');
    grant.addOIDCClaims(['name', 'uscc', 'ybz_role']);
    if (config.resource) grant.addResourceScope(config.resource, 'api');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() { return { sub: id, ...(accounts[id] || {}) }; },
    };
  },
});

provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
provider.listen(config.port, '127.0.0.1', () => { console.log('ready'); });
