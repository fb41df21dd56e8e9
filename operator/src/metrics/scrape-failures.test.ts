import { describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { reportingFetch, scrapeFailureReason } from './scrape-failures.js';
import type { FetchText } from './scraper.js';

function setup() {
  const registry = new Registry();
  const failures = new Counter({
    name: 'scrape_failures_total',
    help: 'test',
    labelNames: ['reason'],
    registers: [registry],
  });
  const warnings: Record<string, unknown>[] = [];
  const logger = { warn: (_message: string, meta: Record<string, unknown>) => warnings.push(meta) };
  let answer: () => Promise<string> = async () => 'ok';
  const inner: FetchText = () => answer();
  const fetch = reportingFetch(inner, logger, failures);
  const count = async (reason: string) =>
    (await failures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { fetch, warnings, count, set: (f: () => Promise<string>) => (answer = f) };
}

describe('reportingFetch', () => {
  it('counts every failure by reason and rethrows it; answers pass through', async () => {
    const s = setup();
    await expect(s.fetch('http://10.0.0.1:9090/metrics', 2000)).resolves.toBe('ok');
    s.set(async () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    );
    await expect(s.fetch('http://10.0.0.1:9090/metrics', 2000)).rejects.toThrow('ECONNREFUSED');
    await expect(s.fetch('http://10.0.0.1:9090/metrics', 2000)).rejects.toThrow('ECONNREFUSED');
    expect(await s.count('connect')).toBe(2);
  });

  it('logs a pod’s failure once per cause, and again after the pod answered', async () => {
    const s = setup();
    const tls = { namespace: 'ml', secretName: 'churn-tls', serverName: 'churn.ml.svc' };
    const url = 'https://10.0.0.2:9090/metrics';
    s.set(async () =>
      Promise.reject(new Error('Secret ml/churn-tls has no ca.crt to verify the pods’ metrics against')),
    );
    for (let i = 0; i < 3; i++) await expect(s.fetch(url, 2000, tls)).rejects.toThrow('no ca.crt');
    expect(s.warnings).toEqual([
      {
        url,
        reason: 'ca',
        error: 'Secret ml/churn-tls has no ca.crt to verify the pods’ metrics against',
        tlsSecret: 'ml/churn-tls',
        serverName: 'churn.ml.svc',
      },
    ]);
    s.set(async () => Promise.reject(new Error(`${url}: HTTP 500`)));
    await expect(s.fetch(url, 2000, tls)).rejects.toThrow('HTTP 500');
    expect(s.warnings.map((w) => w.reason)).toEqual(['ca', 'http']);
    s.set(async () => 'ok');
    await s.fetch(url, 2000, tls);
    s.set(async () => Promise.reject(new Error(`${url}: HTTP 500`)));
    await expect(s.fetch(url, 2000, tls)).rejects.toThrow('HTTP 500');
    expect(s.warnings.map((w) => w.reason)).toEqual(['ca', 'http', 'http']);
    expect(await s.count('ca')).toBe(3);
    expect(await s.count('http')).toBe(2);
  });
});

describe('scrapeFailureReason', () => {
  it('reads the code of fetch’s cause and names timeouts', () => {
    const fetchFailed = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    expect(scrapeFailureReason(fetchFailed)).toBe('connect');
    expect(scrapeFailureReason(Object.assign(new Error('aborted'), { name: 'TimeoutError' }))).toBe(
      'timeout',
    );
    expect(scrapeFailureReason(new Error('https://10.0.0.1:9090/metrics: no answer within 2000 ms'))).toBe(
      'timeout',
    );
    expect(scrapeFailureReason(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }))).toBe('tls');
    expect(scrapeFailureReason(new Error('something else'))).toBe('other');
  });
});
