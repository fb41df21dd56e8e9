import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { buildProgram, type InspectConfig, type ServerConfig } from './config.js';
import * as ENV from './env.js';
import { modelVerification, trustConfig } from './trust-options.js';
import { parseServe, restoreServerEnvAfterEach } from './testing/serve-config.js';

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

restoreServerEnvAfterEach();

const parse = (args: string[]): Promise<ServerConfig> => parseServe(['--model-uri', '/m.onnx', ...args]);

describe('serve: trust settings', () => {
  it('are off by default', async () => {
    const c = await parse([]);
    expect(c.requireDigest).toBe(false);
    expect(c.modelSignature).toBeUndefined();
    expect(c.modelCard).toBeUndefined();
    expect(c).not.toHaveProperty('modelPublicKey');
    expect(modelVerification(c)).toEqual({ requireDigest: false });
  });

  it('read from the variables the operator sets', async () => {
    Object.assign(process.env, {
      [ENV.REQUIRE_DIGEST]: 'true',
      [ENV.MODEL_PUBLIC_KEY]: PEM,
      [ENV.MODEL_SIGNATURE]: 'MEUCIQ==',
      [ENV.MODEL_CARD]: '{"owner":"risk-team","evaluationMetrics":{"auc":0.91}}',
    });
    const c = await parse([]);
    expect(c.requireDigest).toBe(true);
    expect(c.modelSignature).toMatchObject({
      publicKey: { scheme: 'ecdsa-sha256' },
      source: { base64: 'MEUCIQ==' },
    });
    expect(c.modelCard).toEqual({ owner: 'risk-team', evaluationMetrics: { auc: 0.91 } });
    // The raw flag values do not linger beside the checked ones.
    expect(c).not.toHaveProperty('modelPublicKey');
    expect(c).not.toHaveProperty('modelSignatureUri');
    expect(modelVerification(c)).toEqual({ requireDigest: true, signature: c.modelSignature });
  });

  it('take --require-digest alone or with true/false, and empty variables as unset', async () => {
    expect((await parse(['--require-digest'])).requireDigest).toBe(true);
    expect((await parse(['--require-digest', 'false'])).requireDigest).toBe(false);
    Object.assign(process.env, {
      [ENV.REQUIRE_DIGEST]: '',
      [ENV.MODEL_PUBLIC_KEY]: '',
      [ENV.MODEL_SIGNATURE]: '',
      [ENV.MODEL_SIGNATURE_URI]: '',
      [ENV.MODEL_CARD]: '',
    });
    const c = await parse([]);
    expect(c.requireDigest).toBe(false);
    expect(c.modelSignature).toBeUndefined();
    expect(c.modelCard).toBeUndefined();
  });

  it('inspect checks digests and signatures as serve does (the card is serve’s only)', async () => {
    let config: InspectConfig | undefined;
    await buildProgram(
      () => undefined,
      () => undefined,
      (c) => {
        config = c;
      },
    ).parseAsync([
      'node',
      'modelship-server',
      'inspect',
      '--model-uri',
      '/m.onnx',
      '--require-digest',
      '--model-public-key',
      PEM,
      '--model-signature-uri',
      's3://b/m.sig',
    ]);
    expect(config!.requireDigest).toBe(true);
    expect(config!.modelSignature).toMatchObject({ source: { uri: 's3://b/m.sig' } });
  });
});

describe('trustConfig', () => {
  it.each([
    [
      { modelSignature: 'MEUC' },
      /--model-signature and --model-signature-uri need the key .*MODELSHIP_MODEL_PUBLIC_KEY/,
    ],
    [{ modelSignatureUri: 's3://b/m.sig' }, /need the key to check them with/],
    [
      { modelPublicKey: PEM },
      /--model-public-key needs the signature to check: --model-signature \(MODELSHIP_MODEL_SIGNATURE\)/,
    ],
    [
      { modelPublicKey: PEM, modelSignature: 'MEUC', modelSignatureUri: 's3://b/m.sig' },
      /give the signature once/,
    ],
    [
      { modelPublicKey: 'not a key', modelSignature: 'MEUC' },
      /--model-public-key \(MODELSHIP_MODEL_PUBLIC_KEY\): the public key is not PEM/,
    ],
  ])('refuses %j', (opts, why) => {
    expect(() => trustConfig(opts)).toThrow(why);
  });

  it('logs a signature URI without its query (a presigned URL carries credentials there)', () => {
    const config = trustConfig({
      modelPublicKey: PEM,
      modelSignatureUri: 'https://store.example/m.sig?X-Amz-Signature=secret',
    });
    expect(config.modelSignature?.source).toMatchObject({
      uri: 'https://store.example/m.sig?X-Amz-Signature=secret',
    });
    const logged = JSON.stringify(config);
    expect(logged).toContain('https://store.example/m.sig?REDACTED');
    expect(logged).not.toContain('secret');
    expect(logged).not.toContain(PEM.split('\n')[1]!);
  });

  it('never echoes a refused key', () => {
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    let message = '';
    try {
      trustConfig({ modelPublicKey: privatePem, modelSignature: 'MEUC' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/MODELSHIP_MODEL_PUBLIC_KEY\): this is a private key/);
    expect(message).not.toContain(privatePem.split('\n')[1]!);
  });
});
