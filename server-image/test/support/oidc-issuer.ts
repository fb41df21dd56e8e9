/**
 * A local OIDC issuer for tests, started by the test (never a remote one): node:http on loopback serving
 * `/.well-known/openid-configuration` and a JWKS of key pairs generated with jose, and signing tokens with jose's
 * SignJWT. Keys can be rotated (a new `kid` published, the old one kept or dropped); the JWKS fetches are counted.
 * Also makes the tokens an attacker would try: unsigned (`alg: none`), HMAC-signed with the public key, signed by a
 * key the issuer never published.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

interface IssuerKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface TokenOptions {
  /** Claims besides the defaults (sub, iss, aud, iat, exp). */
  claims?: JWTPayload;
  /** Seconds from now; negative: already expired. @default 300 */
  expiresIn?: number;
  /** Seconds from now for nbf; absent: no nbf. */
  notBefore?: number;
  issuer?: string;
  audience?: string | string[];
  subject?: string;
  /** Sign with this key instead of the current one (its kid is used unless `kid` says otherwise). */
  key?: IssuerKey;
  kid?: string;
  /** Leave out exp. */
  noExp?: boolean;
}

export interface TestIssuer {
  /** http://127.0.0.1:<port>: the `iss` of its tokens. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** The key tokens are signed with now. */
  readonly current: IssuerKey;
  /** JWKS documents served so far. */
  readonly jwksFetches: number;
  sign(opts?: TokenOptions): Promise<string>;
  /** Publishes a new key and signs with it from now on; `dropOld` unpublishes the previous ones. */
  rotate(dropOld?: boolean): Promise<IssuerKey>;
  /** A key pair this issuer never published. */
  stranger(kid?: string): Promise<IssuerKey>;
  /** A token with `alg: none` and no signature. */
  unsigned(opts?: TokenOptions): string;
  /** A token "signed" with HS256 using the current public key (PEM) as the HMAC secret. */
  hmacWithPublicKey(opts?: TokenOptions): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_AUDIENCE = 'modelship-test';
let keyCounter = 0;

async function newKey(kid = `key-${++keyCounter}`): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startIssuer(): Promise<TestIssuer> {
  let keys: IssuerKey[] = [await newKey()];
  let jwksFetches = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else if (req.url === '/jwks') {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const claimsOf = (o: TokenOptions): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: o.issuer ?? issuer,
      aud: o.audience ?? TEST_AUDIENCE,
      sub: o.subject ?? 'alice',
      iat: now,
      ...(o.noExp ? {} : { exp: now + (o.expiresIn ?? 300) }),
      ...(o.notBefore !== undefined ? { nbf: now + o.notBefore } : {}),
      ...o.claims,
    };
  };

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    get current() {
      return keys[keys.length - 1]!;
    },
    get jwksFetches() {
      return jwksFetches;
    },
    async sign(o = {}) {
      const key = o.key ?? keys[keys.length - 1]!;
      return new SignJWT(claimsOf(o))
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? key.kid })
        .sign(key.privateKey);
    },
    async rotate(dropOld = false) {
      const key = await newKey();
      keys = dropOld ? [key] : [...keys, key];
      return key;
    },
    stranger: (kid) => newKey(kid),
    unsigned(o = {}) {
      return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claimsOf(o))}.`;
    },
    async hmacWithPublicKey(o = {}) {
      const key = keys[keys.length - 1]!;
      const pem = await exportSPKI(key.publicKey);
      return new SignJWT(claimsOf(o))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid })
        .sign(new TextEncoder().encode(pem));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
