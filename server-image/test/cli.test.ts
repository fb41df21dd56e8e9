/** The `modelship-server` command line: --help documents every flag with its variable and default; bad flags exit 2. */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ENV from '../src/env.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const run = promisify(execFile);

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 30_000,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('modelship-server', () => {
  it('route --help lists its flags with their environment variables', async () => {
    const { code, stdout } = await cli(['route', '--help']);
    expect(code).toBe(0);
    const text = stdout.replace(/\s+/g, ' ');
    for (const name of [
      ENV.ROUTER_CONFIGMAP,
      ENV.ROUTER_NAMESPACE,
      ENV.PORT,
      ENV.METRICS_PORT,
      ENV.TLS_DIR,
      ENV.METRICS_TLS,
      ENV.ROUTER_BACKEND_CA_FILE,
    ])
      expect(text).toContain(`env: ${name}`);
    expect(text).toContain('--routes-file <path>');
  });

  it('route refuses to start without a route table source, with status 2', async () => {
    const { code, stderr } = await cli(['route']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/give --configmap and --namespace \(in a cluster\), or --routes-file/);
  });

  it('serve --help lists every flag with its environment variable, and the defaults', async () => {
    const { code, stdout } = await cli(['serve', '--help']);
    expect(code).toBe(0);
    const text = stdout.replace(/\s+/g, ' ');
    const notServe: string[] = [
      ENV.ROUTER_CONFIGMAP,
      ENV.ROUTER_NAMESPACE,
      ENV.ROUTER_BACKEND_CA_FILE,
      ...ENV.INSPECT_ONLY_ENV_VARS,
    ];
    for (const name of ENV.ALL_ENV_VARS.filter((n) => !notServe.includes(n)))
      expect(text).toContain(`env: ${name}`);
    for (const flag of [
      '--model-name',
      '--model-version',
      '--model-uri',
      '--port',
      '--metrics-port',
      '--max-batch-size',
      '--max-queue-delay-ms',
      '--max-queue-size',
      '--intra-op-threads',
      '--inter-op-threads',
    ])
      expect(text).toContain(flag);
    expect(text).toMatch(/--port <port> .*\(default: 8080, env: MODELSHIP_PORT\)/);
    expect(text).toMatch(/--metrics-port <port> .*\(default: 9090, env: MODELSHIP_METRICS_PORT\)/);
    expect(text).toMatch(/--max-batch-size <rows> .*\(default: 32, env: MODELSHIP_MAX_BATCH_SIZE\)/);
    expect(text).toMatch(/--max-queue-delay-ms <ms> .*\(default: 0, env: MODELSHIP_MAX_QUEUE_DELAY_MS\)/);
    expect(text).toMatch(/--max-queue-size <requests> .*\(default: 1024, env: MODELSHIP_MAX_QUEUE_SIZE\)/);
  }, 60_000);

  it('top-level --help names the serve command', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/serve \[options\]/);
  }, 60_000);

  it.each([
    [['serve'], {}, /--model-uri \(or MODELSHIP_MODEL_URI\) is required/],
    [
      ['serve', '--model-uri', '/m.onnx', '--max-batch-size', 'zero'],
      {},
      /--max-batch-size.*must be an integer >= 1, got 'zero'/,
    ],
    [['serve', '--model-uri', '/m.onnx'], { [ENV.PORT]: '99999x' }, /--port.*must be a port number/],
    [['serve', '--model-uri', '/m.onnx', '--model-sha256', 'abc'], {}, /must be 64 hexadecimal digits/],
    [['serve', '--model-uri', '/m.onnx', '--payload-log-sample', '1.5'], {}, /must be a number from 0 to 1/],
    [
      ['serve', '--model-uri', '/m.onnx', '--payload-log', 'kafka'],
      {},
      /--payload-log.*Allowed choices are none, stdout, http/,
    ],
    [
      ['serve', '--model-uri', '/m.onnx', '--payload-log-url', 'ftp://x'],
      {},
      /must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      ['serve', '--model-uri', '/m.onnx'],
      { [ENV.METRICS_TLS]: 'yes' },
      /--metrics-tls.*must be true or false/,
    ],
    [
      ['serve', '--model-uri', '/m.onnx', '--metrics-tls', 'true'],
      {},
      /--metrics-tls needs the certificate: --tls-dir \(or MODELSHIP_TLS_DIR\)/,
    ],
    [
      ['route', '--routes-file', '/r.json'],
      { [ENV.METRICS_TLS]: 'true' },
      /--metrics-tls needs the certificate/,
    ],
  ])(
    '%j with %j exits 2 with a clear message',
    async (args, env, message) => {
      const r = await cli(args, env as Record<string, string>);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    },
    60_000,
  );
});
