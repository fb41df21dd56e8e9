/**
 * serve's flags for trusting a model (config.ts adds them): the digest policy, the signature check
 * (repository/verify-model.ts) and the model card served in the model's metadata. `inspect` takes the first two,
 * so a validation Job refuses what the serving pods would refuse.
 */
import { InvalidArgumentError, type Option } from 'commander';
import * as ENV from './env.js';
import { redactUri } from './repository/fetch-uri.js';
import { parsePublicKey } from './repository/model-signature.js';
import type { ModelVerification } from './repository/verify-model.js';

/** What the flags below become in ServerConfig (and, but for the card, InspectConfig). */
export interface TrustConfig {
  /** Remote model URIs must come with a sha256. @default false */
  requireDigest?: boolean;
  /** Check the model file's signature with this key before loading it. */
  modelSignature?: Required<ModelVerification>['signature'];
  /** Served as `parameters.model_card` in the model's metadata. */
  modelCard?: Record<string, unknown>;
}

export const TRUST_LOADING_FLAGS = [
  '--require-digest',
  '--model-public-key',
  '--model-signature',
  '--model-signature-uri',
];

const bool = (value: string): boolean => {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  throw new InvalidArgumentError(`must be true or false, got '${value}'`);
};

const jsonObject = (value: string): Record<string, unknown> | undefined => {
  if (value.trim() === '') return undefined; // a template that always sets the variable
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`must be a JSON object: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new InvalidArgumentError(
      `must be a JSON object, got ${Array.isArray(doc) ? 'an array' : typeof doc}`,
    );
  return doc as Record<string, unknown>;
};

export function trustOptions(o: (flags: string, description: string, env: string) => Option): Option[] {
  return [
    o(
      '--require-digest [bool]',
      'refuse http(s):// and s3:// model URIs without --model-sha256, before any download',
      ENV.REQUIRE_DIGEST,
    )
      .preset('true')
      .default(false)
      .argParser(bool),
    // No argParser: commander would echo a refused value, and a key is never echoed (trustConfig checks it).
    o(
      '--model-public-key <pem>',
      "PEM public key (cosign.pub: ECDSA, RSA or Ed25519) the model file's signature must verify with",
      ENV.MODEL_PUBLIC_KEY,
    ),
    o(
      '--model-signature <base64>',
      "the model file's signature, base64 (what `cosign sign-blob --output-signature` writes)",
      ENV.MODEL_SIGNATURE,
    ),
    o(
      '--model-signature-uri <uri>',
      'where that signature file is instead: same URI forms as --model-uri',
      ENV.MODEL_SIGNATURE_URI,
    ),
    o(
      '--model-card <json>',
      'the model card, a JSON object, served as parameters.model_card in GET /v2/models/{name}',
      ENV.MODEL_CARD,
    ).argParser(jsonObject),
  ];
}

/**
 * The parsed flags (commander's values) as TrustConfig; throws an Error whose message is the usage error to print.
 * Empty values mean unset (templates that always set the variables).
 */
export function trustConfig(opts: Record<string, unknown>): TrustConfig {
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const pem = text(opts.modelPublicKey);
  const base64 = text(opts.modelSignature);
  const uri = text(opts.modelSignatureUri);
  const config: TrustConfig = { requireDigest: opts.requireDigest === true };
  // An empty variable reaches here as '' (commander's value when the parser returns undefined).
  if (typeof opts.modelCard === 'object' && opts.modelCard !== null)
    config.modelCard = opts.modelCard as Record<string, unknown>;
  if (pem === undefined) {
    if (base64 !== undefined || uri !== undefined)
      throw new Error(
        `error: --model-signature and --model-signature-uri need the key to check them with: --model-public-key (or ${ENV.MODEL_PUBLIC_KEY})`,
      );
    return config;
  }
  if (base64 !== undefined && uri !== undefined)
    throw new Error(
      `error: give the signature once: --model-signature (${ENV.MODEL_SIGNATURE}) or --model-signature-uri (${ENV.MODEL_SIGNATURE_URI}), not both`,
    );
  if (base64 === undefined && uri === undefined)
    throw new Error(
      `error: --model-public-key needs the signature to check: --model-signature (${ENV.MODEL_SIGNATURE}) or --model-signature-uri (${ENV.MODEL_SIGNATURE_URI})`,
    );
  try {
    config.modelSignature = {
      publicKey: parsePublicKey(pem),
      // The server logs its configuration at start: a presigned URL's query (its credentials) must not show.
      source: uri !== undefined ? { uri, toJSON: () => ({ uri: redactUri(uri) }) } : { base64: base64! },
    };
  } catch (err) {
    throw new Error(`error: --model-public-key (${ENV.MODEL_PUBLIC_KEY}): ${(err as Error).message}`);
  }
  return config;
}

/** The loader's view of TrustConfig. */
export function modelVerification(config: Partial<TrustConfig>): ModelVerification {
  return {
    requireDigest: config.requireDigest === true,
    ...(config.modelSignature ? { signature: config.modelSignature } : {}),
  };
}
