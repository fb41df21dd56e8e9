/**
 * spec.auth, spec.tls, spec.modelCard and the verification fields of spec.model (caBundle, requireDigest,
 * signature) of a ModelDeployment: who may call the model, how the traffic is encrypted, which model files may load,
 * and the compliance record that travels with each version. Part of THE API definition (schema.ts embeds it); the
 * same rules for editing apply.
 */
import { Type, type Static } from '@sinclair/typebox';
import { durationPattern } from './duration.js';
import { cel, dnsSubdomainRule } from './schema-kit.js';

/** A reference to an object in the ModelDeployment's own namespace (never another one: no cross-namespace reads). */
const localRef = (kind: string, use: string) =>
  Type.Object(
    {
      name: Type.String({
        description: `Name of the ${kind}, in the ModelDeployment's namespace.`,
        minLength: 1,
        maxLength: 253,
        ...cel(dnsSubdomainRule(kind)),
      }),
    },
    { description: `The ${kind} ${use}, in the ModelDeployment's namespace.` },
  );

const httpsUrl = (description: string) =>
  Type.String({
    description,
    minLength: 1,
    maxLength: 2048,
    ...cel({ rule: "self.matches('^https://[^/?#]+.*$')", message: 'must be an https:// URL' }),
  });

export const ApiKeysSpec = Type.Object(
  {
    secretRef: localRef(
      'Secret',
      'holding the keys: each data key is a key name (the caller identity in logs and metrics), its value the key itself or sha256:<64 lowercase hex> of it. Mounted read-only; a change is picked up without a restart, so keys rotate by adding the new one, moving callers, then removing the old one',
    ),
  },
  {
    description:
      'API keys: callers send Authorization: Bearer <key> or X-API-Key: <key>, compared in constant time against every key of the Secret.',
  },
);

export const OidcSpec = Type.Object(
  {
    issuer: httpsUrl('The issuer (iss) every token must name, an https:// URL.'),
    audiences: Type.Array(
      Type.String({
        minLength: 1,
        maxLength: 512,
        ...cel({ rule: "!self.contains(',')", message: 'an audience may not contain ","' }),
      }),
      {
        description: 'Audiences (aud) accepted: a token must name at least one.',
        minItems: 1,
        maxItems: 16,
      },
    ),
    jwksUri: Type.Optional(
      httpsUrl(
        "Where the issuer's signing keys (JWKS) are, an https:// URL. Default: the jwks_uri of the issuer's /.well-known/openid-configuration.",
      ),
    ),
    requiredClaims: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 1024 }), {
        description:
          'Claims a token must carry with exactly these values (a claim that is a list must contain the value), e.g. {"groups": "ml-clients"}.',
        maxProperties: 32,
      }),
    ),
    clockSkew: Type.Optional(
      Type.String({
        description: 'How far exp and nbf may be off, for clocks that disagree; at most 5m. Default: 60s.',
        pattern: durationPattern,
        maxLength: 32,
        default: '60s',
        ...cel({ rule: "duration(self) <= duration('5m')", message: 'must be at most 5m' }),
      }),
    ),
  },
  {
    description:
      'OpenID Connect: callers send a JWT as Authorization: Bearer <token>; its signature (keys from the JWKS, refreshed when an unknown kid appears), issuer, audience, exp and nbf are checked. The caller identity is the token subject (sub).',
  },
);

export const AuthSpec = Type.Object(
  {
    apiKeys: Type.Optional(ApiKeysSpec),
    oidc: Type.Optional(OidcSpec),
  },
  {
    description:
      'Authentication on inference: with it, every request except the health checks (/v2/health/live, /v2/health/ready, which the kubelet calls) needs valid credentials, or gets 401 with WWW-Authenticate. With both apiKeys and oidc, either is accepted. The metrics port is separate and not affected.',
    ...cel({
      rule: 'has(self.apiKeys) || has(self.oidc)',
      message: 'auth needs apiKeys, oidc or both',
    }),
  },
);

export const TlsSpec = Type.Object(
  {
    secretRef: localRef(
      'Secret',
      'of type kubernetes.io/tls (tls.crt, tls.key; as cert-manager writes it) whose certificate names <name>.<namespace>.svc, the name the router verifies. Its ca.crt, when present, is what the router and the operator verify the pods against. Mounted read-only; a renewed certificate is served without a restart',
    ),
    metrics: Type.Optional(
      Type.Boolean({
        description:
          'Serve the metrics port over HTTPS too, with the same certificate (the operator verifies it against ca.crt, so the Secret needs one; Prometheus is told https by the prometheus.io/scheme annotation). Default: false.',
        default: false,
      }),
    ),
  },
  {
    description:
      'TLS on the inference port of the serving pods (and of the router, which then also connects to the revisions over TLS).',
  },
);

export const CaBundleSpec = Type.Object(
  {
    configMapRef: Type.Object(
      {
        name: Type.String({
          description: "Name of the ConfigMap, in the ModelDeployment's namespace.",
          minLength: 1,
          maxLength: 253,
          ...cel(dnsSubdomainRule('ConfigMap')),
        }),
        key: Type.Optional(
          Type.String({
            description: 'The key holding the PEM bundle. Default: ca.crt.',
            minLength: 1,
            maxLength: 253,
            default: 'ca.crt',
            ...cel({
              rule: "self.matches('^[-._a-zA-Z0-9]+$')",
              message: 'must be a ConfigMap key (letters, digits, "-", "_" and ".")',
            }),
          }),
        ),
      },
      { description: 'The ConfigMap holding the bundle.' },
    ),
  },
  {
    description:
      "Certificate authorities (a PEM bundle) trusted for https:// model, baseline and signature downloads, besides the image's public ones: for a private model store. Mounted into the serving pods as NODE_EXTRA_CA_CERTS, which spec.runtime.env may then not set.",
  },
);

/** Regular expressions of a PEM public key and a base64 signature (RE2, as CEL raw strings). */
const pemPublicKey = String.raw`^\s*-----BEGIN (RSA |EC )?PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END (RSA |EC )?PUBLIC KEY-----\s*$`;
const base64 = String.raw`^[A-Za-z0-9+/]+={0,2}\s*$`;

export const SignatureSpec = Type.Object(
  {
    publicKey: Type.String({
      description:
        'The PEM public key the signature is verified with (cosign.pub of cosign generate-key-pair: ECDSA P-256, or an RSA, ECDSA P-384 or Ed25519 key).',
      minLength: 1,
      maxLength: 8192,
      ...cel(
        {
          rule: "!self.contains('PRIVATE KEY')",
          message: 'is a private key: give the public key (cosign.pub), and keep the private one secret',
        },
        {
          rule: `self.matches(r'${pemPublicKey}')`,
          message:
            'must be a PEM public key: -----BEGIN PUBLIC KEY-----, base64 lines, -----END PUBLIC KEY-----',
        },
      ),
    }),
    signature: Type.Optional(
      Type.String({
        description:
          'The signature of the model file, base64, as cosign sign-blob --output-signature writes it.',
        minLength: 1,
        maxLength: 8192,
        ...cel({
          rule: `self.matches(r'${base64}')`,
          message: 'must be base64 (the signature cosign writes)',
        }),
      }),
    ),
    signatureUri: Type.Optional(
      Type.String({
        description:
          'Where the signature file is (base64, as cosign sign-blob --output-signature writes it), in the URI forms of storageUri.',
        minLength: 1,
        maxLength: 2048,
        ...cel({
          rule: "self.matches('^(file|http|https|s3)://.+') || self.matches('^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+')",
          message: 'must be a URI with scheme file://, http://, https://, s3:// or pvc://<claim>/<path>',
        }),
      }),
    ),
  },
  {
    description:
      'Verify the model file against a cosign key-based blob signature (SHA-256) before it is loaded: a file whose signature does not verify never loads, and the Ready condition says "signature verification failed". Exactly one of signature and signatureUri.',
    ...cel({
      rule: 'has(self.signature) != has(self.signatureUri)',
      message: 'give exactly one of signature and signatureUri',
      fieldPath: '.signature',
    }),
  },
);

/** spec.model's verification fields, spread into ModelSpec's properties. */
export const modelVerificationFields = {
  caBundle: Type.Optional(CaBundleSpec),
  // No schema default: a default inside spec.model would change the revision hash of every existing ModelDeployment.
  requireDigest: Type.Optional(
    Type.Boolean({
      description:
        'Refuse a remote model (http://, https://, s3:// storageUri) without sha256: the API server refuses such a spec, and the server refuses such a baseline. The operator flag --require-model-digest makes this the rule for every ModelDeployment. Default: false.',
    }),
  ),
  signature: Type.Optional(SignatureSpec),
};

/** spec.model's rule for requireDigest (on ModelSpec: it reads storageUri and sha256). */
export const requireDigestRule = {
  rule: "!has(self.requireDigest) || !self.requireDigest || has(self.sha256) || !self.storageUri.matches('^(https?|s3)://')",
  message: 'requireDigest: an http://, https:// or s3:// storageUri needs sha256',
  fieldPath: '.sha256',
  reason: 'FieldValueRequired' as const,
};

const cardText = (description: string) =>
  Type.Optional(Type.String({ description, minLength: 1, maxLength: 4096 }));

export const ModelCardSpec = Type.Object(
  {
    owner: cardText('Who is responsible for the model (a team or person).'),
    intendedUse: cardText('What the model is for, and for whom.'),
    limitations: cardText('Where the model should not be used, known failure modes and biases.'),
    trainingData: cardText(
      'The training data: a reference (dataset name, version, URI) and how it was made.',
    ),
    evaluationMetrics: Type.Optional(
      Type.Record(Type.String(), Type.Number(), {
        description: 'Evaluation results by metric name, e.g. {"accuracy": 0.97, "f1": 0.95}.',
        maxProperties: 64,
      }),
    ),
    license: cardText('The license the model is used under (an SPDX identifier or a name).'),
    contact: cardText('Where questions and incidents go (an address or a channel).'),
  },
  {
    description:
      'The model card: compliance documentation that travels with the model. Stored with each ModelVersion, shown in the model metadata (GET /v2/models/{name}: parameters.model_card), by kubectl modelship status and, as Markdown, by kubectl modelship card.',
  },
);

/** The spec's rule that one source sets NODE_EXTRA_CA_CERTS: caBundle or spec.runtime.env, never both. */
export const caBundleEnvRule = {
  rule: "!has(self.model.caBundle) || !has(self.runtime) || !has(self.runtime.env) || !self.runtime.env.exists(e, e.name == 'NODE_EXTRA_CA_CERTS')",
  message: 'model.caBundle sets NODE_EXTRA_CA_CERTS: remove it from runtime.env',
  fieldPath: '.model.caBundle',
};

export type AuthSpec = Static<typeof AuthSpec>;
export type OidcSpec = Static<typeof OidcSpec>;
export type TlsSpec = Static<typeof TlsSpec>;
export type CaBundleSpec = Static<typeof CaBundleSpec>;
export type SignatureSpec = Static<typeof SignatureSpec>;
export type ModelCardSpec = Static<typeof ModelCardSpec>;
