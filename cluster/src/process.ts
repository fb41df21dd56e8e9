import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';

/** A long-running component of the local cluster (etcd, kube-apiserver, ...). */
export interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Set once the process has exited, with a human-readable reason. */
  exited?: string;
}

/**
 * Starts a component with its output appended to a log file. Under `setpriv --pdeathsig KILL` the
 * kernel kills it if its parent (the supervisor) dies abruptly, so no orphan outlives a crashed run.
 */
export function startComponent(
  name: string,
  cmd: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Component {
  const fd = openSync(logFile, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], {
    stdio: ['ignore', fd, fd],
    env: env ?? process.env,
  });
  closeSync(fd);
  const component: Component = { name, child, logFile };
  child.on('exit', (code, signal) => {
    component.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  return component;
}

/**
 * Stops a component: SIGTERM, then SIGKILL after the grace period. Resolves when it is gone, with true if it had
 * to be killed.
 */
export async function stopComponent(c: Component, graceMs = 5000): Promise<boolean> {
  if (c.exited !== undefined || c.child.exitCode !== null || c.child.signalCode !== null) return false;
  const gone = new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
  let killed = false;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    killed = true;
    c.child.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
  return killed;
}

/** The last lines of a component's log, for error messages. */
export function logTail(c: Component, lines = 15): string {
  try {
    return readFileSync(c.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
}

/** GETs a URL once; resolves with the status code and body, never throws for HTTP errors. */
export function httpGet(
  url: string,
  tls: TlsOptions = {},
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'GET',
        timeout: timeoutMs,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecure,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `check` until it returns true. Fails early, with the component's log, if the component dies,
 * and after `timeoutMs` with the last error seen: never hangs.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; component?: Component; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  for (;;) {
    if (opts.component?.exited !== undefined) {
      throw new Error(
        `${opts.component.name} ${opts.component.exited} before ${what}. Last log lines (${opts.component.logFile}):\n${logTail(opts.component)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const log = opts.component
        ? `\nLast log lines (${opts.component.logFile}):\n${logTail(opts.component)}`
        : '';
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
