/**
 * A real S3-compatible server for tests: moto's server (from PyPI, installed once into a cache venv by
 * support/python-tool.ts), on loopback, with IAM authentication switched on so wrong credentials are refused
 * the way AWS refuses them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  httpGet,
  startComponent,
  stopComponent,
  waitFor,
  type Component,
} from '../../../../cluster/src/process.js';
import { ensurePythonTool } from '../../support/python-tool.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3TestServer {
  endpoint: string;
  region: string;
  /** A user allowed every S3 action. */
  admin: S3Credentials;
  /** A real user of the store without any permission. */
  powerless: S3Credentials;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';

/** Installs moto if needed (the first time: about half a minute), then starts it. Fails with what to install. */
export async function startS3Server(): Promise<S3TestServer> {
  const motoServer = await ensurePythonTool('moto');
  const dir = await mkdtemp(join(tmpdir(), 'modelship-moto-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const component: Component = startComponent(
    'moto_server',
    motoServer,
    ['-H', '127.0.0.1', '-p', String(port)],
    join(dir, 'moto.log'),
    // Authentication stays off until the users exist (see enableAuthentication).
    { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: 'inf' },
  );
  const stop = async (): Promise<void> => {
    await stopComponent(component);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `moto_server to answer on ${endpoint}`,
      async () => (await httpGet(`${endpoint}/moto-api/`)).status === 200,
      { timeoutMs: 60_000, component },
    );
    const admin = await createUser(endpoint, 'modelship-admin', 's3:*');
    const powerless = await createUser(endpoint, 'modelship-powerless', undefined);
    await enableAuthentication(endpoint);
    return { endpoint, region: REGION, admin, powerless, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Calls moto's IAM query API. While authentication is off moto does not check signatures, but it routes
 * requests by the service named in the Authorization header's credential scope, so one is sent.
 */
async function iam(endpoint: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAUNSIGNEDSETUP000/20250101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2010-05-08', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto IAM ${params.Action} failed: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

async function createUser(endpoint: string, name: string, allow: string | undefined): Promise<S3Credentials> {
  await iam(endpoint, { Action: 'CreateUser', UserName: name });
  if (allow !== undefined) {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: allow, Resource: '*' }] };
    await iam(endpoint, {
      Action: 'PutUserPolicy',
      UserName: name,
      PolicyName: 'test-policy',
      PolicyDocument: JSON.stringify(policy),
    });
  }
  const xml = await iam(endpoint, { Action: 'CreateAccessKey', UserName: name });
  const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)?.[1];
  if (!accessKeyId || !secretAccessKey)
    throw new Error(`moto CreateAccessKey returned no key: ${xml.slice(0, 500)}`);
  return { accessKeyId, secretAccessKey };
}

/** From here on every request must be signed by a known user and allowed by its policies. */
async function enableAuthentication(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!res.ok) throw new Error(`moto reset-auth failed: HTTP ${res.status}: ${await res.text()}`);
}
