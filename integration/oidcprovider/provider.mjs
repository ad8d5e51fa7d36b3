// An oidc-provider instance for bearerkit's integration tests.
//
//   node provider.mjs <config.json>
//
// The JSON file holds everything that varies between runs, so that the
// test harness stays in charge of ports, keys and clients:
//
//   {
//     "issuer": "http://127.0.0.1:PORT",
//     "host": "127.0.0.1",
//     "port": PORT,
//     "keys": [ private JWKs: RSA, EC P-256, Ed25519 ],
//     "clients": [ client metadata (RFC 7591 names) ],
//     "resources": { "<resource indicator>": { "scope": "a b", "alg": "RS256", "format": "jwt" | "opaque" } },
//     "extraClaims": { "<client id>": { "roles": ["orders:admin"] } },  (optional)
//     "dpopNonce": true,                                                  (optional)
//     "tls": { "key": PEM, "cert": PEM, "ca": PEM }                        (optional)
//   }
//
// DPoP (RFC 9449) is on, as in oidc-provider's defaults; with "dpopNonce"
// the token endpoint demands a server nonce in every proof. With "tls" the
// provider serves HTTPS, asks clients for a certificate, and enables
// RFC 8705: tls_client_auth (a certificate issued by "ca" whose subject is
// the client's tls_client_auth_subject_dn) and certificate-bound access
// tokens for clients registered with
// tls_client_certificate_bound_access_tokens.
//
// Access tokens come out through resource indicators (RFC 8707): each
// configured resource is a resource server whose tokens are JWTs signed
// with the algorithm named for it, or opaque tokens (format "opaque"),
// which the introspection endpoint (RFC 7662) answers for and the
// revocation endpoint (RFC 7009) revokes. A resource that is not configured
// is refused with invalid_target.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import { randomBytes, X509Certificate } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
for (const field of ['issuer', 'host', 'port', 'keys', 'clients', 'resources']) {
  if (cfg[field] === undefined) {
    console.error(`config: "${field}" is required`);
    process.exit(2);
  }
}

const signingAlgs = ['RS256', 'PS256', 'ES256', 'EdDSA'];

// Every scope some resource grants is a scope the provider knows, so that
// a client's "scope" metadata can limit which of them it may ask for.
const apiScopes = new Set();
for (const rs of Object.values(cfg.resources)) {
  for (const s of rs.scope.split(' ')) {
    if (s) apiScopes.add(s);
  }
}

// The client certificate of a request's TLS connection, if any.
function peerCertificate(ctx) {
  const peer = ctx.req.socket.getPeerCertificate?.();
  return peer?.raw ? new X509Certificate(peer.raw) : undefined;
}

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients,
  scopes: ['openid', 'offline_access', ...apiScopes],
  jwks: { keys: cfg.keys },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  clientAuthMethods: [
    'client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none',
    ...(cfg.tls ? ['tls_client_auth'] : []),
  ],
  // Claims added to the access tokens of some clients, such as roles.
  extraTokenClaims: async (_ctx, token) => cfg.extraClaims?.[token.clientId],
  ttl: {
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
  },
  enabledJWA: {
    clientAuthSigningAlgValues: signingAlgs,
    idTokenSigningAlgValues: signingAlgs,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: cfg.dpopNonce
      ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
      : { enabled: true },
    mTLS: {
      enabled: Boolean(cfg.tls),
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      getCertificate: (ctx) => peerCertificate(ctx)?.toString(),
      certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) =>
        property === 'tls_client_auth_subject_dn' && peerCertificate(ctx)?.subject === expected,
    },
    resourceIndicators: {
      enabled: true,
      // A client_credentials request names exactly one resource; without
      // one the token would be opaque, which the tests never want.
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        const rs = cfg.resources[resourceIndicator];
        if (!rs) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: rs.scope,
          audience: resourceIndicator,
          accessTokenTTL: rs.ttl ?? 3600,
          accessTokenFormat: rs.format ?? 'jwt',
          ...(rs.format === 'opaque' ? {} : { jwt: { sign: { alg: rs.alg } } }),
        };
      },
    },
  },
});

provider.on('server_error', (_ctx, err) => {
  console.error('server_error', err);
});
provider.on('grant.error', (_ctx, err) => {
  console.error('grant.error', err.name, err.error_description ?? err.message);
});

const server = cfg.tls
  ? createTLSServer({ ...cfg.tls, requestCert: true, rejectUnauthorized: false }, provider.callback())
  : createServer(provider.callback());
server.listen(cfg.port, cfg.host, () => {
  console.log(`oidc-provider listening on ${cfg.host}:${cfg.port}, issuer ${cfg.issuer}`);
});

// Exit promptly when the harness asks, without waiting for keep-alive
// connections to drain.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
