/**
 * Scrapes over TLS against a real https server whose certificate a private CA (made by the test with openssl) signed
 * for the Service name: verified against the CA of the Secret and that name, never trusted blindly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createPlainServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedCaSource, caCacheMs, type SecretGetter } from '../kube/secret-ca.js';
import { FakeClock } from '../kube/testing/fake-clock.js';
import { scrapeFailureReason } from './scrape-failures.js';
import { fetchText, verifiedFetchText } from './scraper.js';

let dir: string;
let server: Server;
let url: string;
const pem = (name: string) => readFileSync(join(dir, name), 'utf8');

/** A CA, and a certificate it signed for `name` (subjectAltName DNS). */
function makeCa(prefix: string, name: string): void {
  const run = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  const key = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
  run(`req -x509 ${key} -days 2 -subj /CN=${prefix}-ca -keyout ${prefix}-ca.key -out ${prefix}-ca.crt`);
  writeFileSync(join(dir, `${prefix}.ext`), `subjectAltName=DNS:${name}\n`);
  run(`req ${key} -subj /CN=${name} -keyout ${prefix}.key -out ${prefix}.csr`);
  run(
    `x509 -req -in ${prefix}.csr -CA ${prefix}-ca.crt -CAkey ${prefix}-ca.key -CAcreateserial -days 2 -extfile ${prefix}.ext -out ${prefix}.crt`,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scrape-tls-'));
  makeCa('pod', 'churn.ml.svc');
  makeCa('other', 'churn.ml.svc');
  server = createServer({ key: pem('pod.key'), cert: pem('pod.crt') }, (_req, res) => {
    res.end('modelship_requests_total{revision="r1"} 3\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const secretWith =
  (ca: string | undefined): SecretGetter =>
  async () => {
    const data: Record<string, string> = { 'tls.key': 'c2VjcmV0' };
    if (ca !== undefined) data['ca.crt'] = Buffer.from(ca).toString('base64');
    return { data };
  };
const tls = { namespace: 'ml', secretName: 'churn-tls', serverName: 'churn.ml.svc' };

describe('verifiedFetchText', () => {
  it('reads a pod whose certificate the Secret’s CA signed for the Service name', async () => {
    const fetch = verifiedFetchText(cachedCaSource(secretWith(pem('pod-ca.crt')), new FakeClock()));
    await expect(fetch(url, 5000, tls)).resolves.toContain('modelship_requests_total');
  });

  it('refuses a certificate another CA signed', async () => {
    const fetch = verifiedFetchText(cachedCaSource(secretWith(pem('other-ca.crt')), new FakeClock()));
    await expect(fetch(url, 5000, tls)).rejects.toThrow(/certificate|verify/i);
  });

  it('refuses a certificate for another name', async () => {
    const fetch = verifiedFetchText(cachedCaSource(secretWith(pem('pod-ca.crt')), new FakeClock()));
    await expect(fetch(url, 5000, { ...tls, serverName: 'other.ml.svc' })).rejects.toThrow(
      /altnames|does not match|Hostname/i,
    );
  });

  it('refuses when the Secret has no ca.crt, naming the Secret', async () => {
    const fetch = verifiedFetchText(cachedCaSource(secretWith(undefined), new FakeClock()));
    await expect(fetch(url, 5000, tls)).rejects.toThrow('Secret ml/churn-tls has no ca.crt');
  });
});

describe('scrapeFailureReason, of real failures', () => {
  const reasonOf = (p: Promise<unknown>) =>
    p.then(
      () => 'answered',
      (err: unknown) => scrapeFailureReason(err),
    );

  it('tells a CA problem, a certificate that does not verify, a refused port and an HTTP error apart', async () => {
    const right = verifiedFetchText(cachedCaSource(secretWith(pem('pod-ca.crt')), new FakeClock()));
    const wrongCa = verifiedFetchText(cachedCaSource(secretWith(pem('other-ca.crt')), new FakeClock()));
    const noCa = verifiedFetchText(cachedCaSource(secretWith(undefined), new FakeClock()));
    expect(await reasonOf(noCa(url, 5000, tls))).toBe('ca');
    expect(await reasonOf(fetchText(url, 5000, tls))).toBe('ca');
    expect(await reasonOf(wrongCa(url, 5000, tls))).toBe('tls');
    expect(await reasonOf(right(url, 5000, { ...tls, serverName: 'other.ml.svc' }))).toBe('tls');

    const closed = createPlainServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await reasonOf(fetchText(`http://127.0.0.1:${closedPort}/metrics`, 5000))).toBe('connect');
    expect(await reasonOf(right(`https://127.0.0.1:${closedPort}/metrics`, 5000, tls))).toBe('connect');

    const failing = createPlainServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/metrics`;
    expect(await reasonOf(fetchText(failingUrl, 5000))).toBe('http');
    await new Promise((resolve) => failing.close(resolve));
  });
});

describe('cachedCaSource', () => {
  it('reads a Secret once per caCacheMs, and again after (a rotated CA is picked up)', async () => {
    const clock = new FakeClock();
    let reads = 0;
    let ca = 'first';
    const source = cachedCaSource(async () => {
      reads++;
      return { data: { 'ca.crt': Buffer.from(ca).toString('base64') } };
    }, clock);
    await expect(source('ml', 's')).resolves.toBe('first');
    ca = 'second';
    await clock.advance(caCacheMs - 1);
    await expect(source('ml', 's')).resolves.toBe('first');
    expect(reads).toBe(1);
    await clock.advance(1);
    await expect(source('ml', 's')).resolves.toBe('second');
    expect(reads).toBe(2);
  });
});
