/**
 * A real Prometheus for the end-to-end tier, on a loopback port of the host, discovering the test cluster's pods
 * with its Kubernetes service discovery (role pod, through the cluster's admin kubeconfig) and scraping those
 * annotated `prometheus.io/scrape: "true"` on their IP and annotated port, as the common scrape config does. The
 * pod's namespace becomes the `namespace` label, the label the operator's built-in PromQL queries select on.
 *
 * Built from its Go module (PROMETHEUS_VERSION in cluster/versions.env) with only the Kubernetes discovery
 * (build tags remove_all_sd,enable_kubernetes_sd) and without the web UI's assets (the HTTP API is all the operator
 * uses). Debian's package (2.42) cannot be used: Debian removed Prometheus' Kubernetes support entirely ("due to
 * the insane amount of dependencies in their client library", its NEWS.Debian), so `kubernetes_sd_configs` is an
 * unknown field there. Cold cost, measured on this 2-core machine (2026-12-01, beside other jobs, load 4 to 8):
 * 364 CPU-s (302 user, 62 system) and 6.8 minutes, 129 modules downloaded, a 76 MB binary (the full build with
 * every discovery is about 450 CPU-s); ready 0.5 s after start, about 100 MB RSS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import yaml from 'js-yaml';
import { freePort, httpGet, logTail, startComponent, stopComponent } from '../../cluster/src/process.js';
import { readVersions } from '../../cluster/src/versions.js';
import { eventually, kubeconfigPath } from './cluster.js';
import { cachedTool, goInstall } from '../../cluster/src/tool-cache.js';

const COLD = 'about 360 CPU-s, 5 to 7 min on 2 cores';

/**
 * A command of Prometheus' Go module at PROMETHEUS_VERSION (cmd/prometheus, cmd/promtool), built once with only the
 * Kubernetes discovery (also for promtool: it shares the Go build cache with the Prometheus build that way).
 */
export function ensurePrometheusCommand(command: 'prometheus' | 'promtool', cold: string): Promise<string> {
  const version = readVersions().PROMETHEUS_VERSION!;
  // Module v0.316.0 is Prometheus 3.16.0: the version it reports (--version, the build info API).
  const m = /^v0\.(\d)(\d+)\.(\d+)$/.exec(version);
  const release = m ? `${m[1]}.${Number(m[2])}.${m[3]}` : version;
  return cachedTool(command, version, command, cold, (dir, log) =>
    goInstall({
      pkg: `github.com/prometheus/prometheus/cmd/${command}`,
      version,
      dir,
      log,
      tags: ['remove_all_sd', 'enable_kubernetes_sd'],
      ldflags: `-s -w -X github.com/prometheus/common/version.Version=${release}`,
    }),
  );
}

/** The prometheus binary at PROMETHEUS_VERSION (Prometheus 3.x is the module's v0.3xx.y), built once. */
export function ensurePrometheus(): Promise<string> {
  return ensurePrometheusCommand('prometheus', COLD);
}

/** One rule as Prometheus' /api/v1/rules reports it. */
export interface LoadedRule {
  name: string;
  type: 'alerting' | 'recording';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation: string;
  state?: string;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port>, what spec.analysis.prometheus.address takes. */
  address: string;
  /** An instant query's vector, as label sets with their value. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The rules loaded from the rule files, with the health of their last evaluation. */
  rules(): Promise<LoadedRule[]>;
  logs(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** Scrape and rule evaluation interval. @default 2 */
  intervalSeconds?: number;
  /** Rule files to load (rule_files), evaluated every interval. */
  ruleFiles?: string[];
  /**
   * Host processes to scrape beside the pods, by job name: the operator when it runs on the host (`make run`, the
   * tests), where no pod annotation can announce it.
   */
  staticTargets?: Record<string, string[]>;
}

/** The scrape configuration: every annotated pod of the cluster, every `intervalSeconds`. */
export function scrapeConfig(
  kubeconfig: string,
  intervalSeconds: number,
  o: Omit<PrometheusOptions, 'intervalSeconds'> = {},
): object {
  return {
    global: {
      scrape_interval: `${intervalSeconds}s`,
      scrape_timeout: `${intervalSeconds}s`,
      evaluation_interval: `${intervalSeconds}s`,
    },
    ...(o.ruleFiles ? { rule_files: o.ruleFiles } : {}),
    scrape_configs: [
      ...Object.entries(o.staticTargets ?? {}).map(([job, targets]) => ({
        job_name: job,
        static_configs: [{ targets }],
      })),
      {
        job_name: 'kubernetes-pods',
        kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfig }],
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
            regex: 'true',
            action: 'keep',
          },
          {
            source_labels: ['__meta_kubernetes_pod_phase'],
            regex: 'Pending|Succeeded|Failed',
            action: 'drop',
          },
          {
            source_labels: [
              '__meta_kubernetes_pod_ip',
              '__meta_kubernetes_pod_annotation_prometheus_io_port',
            ],
            regex: '(.+);(\\d+)',
            replacement: '$1:$2',
            target_label: '__address__',
          },
          {
            source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
            regex: '(.+)',
            target_label: '__metrics_path__',
          },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        ],
      },
    ],
  };
}

/** Starts Prometheus against the test cluster (its KUBECONFIG) and waits until it is ready. */
export async function startPrometheus(options: number | PrometheusOptions = {}): Promise<PrometheusServer> {
  const o = typeof options === 'number' ? { intervalSeconds: options } : options;
  const binary = await ensurePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'modelship-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, yaml.dump(scrapeConfig(kubeconfigPath(), o.intervalSeconds ?? 2, o)));
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const proc = startComponent(
    'prometheus',
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=2h',
      '--log.level=warn',
    ],
    join(dir, 'prometheus.log'),
  );
  const logs = () => logTail(proc, 30);
  const stop = async () => {
    await stopComponent(proc);
  };
  try {
    await eventually(async () => {
      if (proc.exited) throw new Error(`prometheus ${proc.exited}`);
      return (await httpGet(`${address}/-/ready`)).status === 200;
    }, 60_000);
  } catch (err) {
    await stop();
    throw new Error(`Prometheus did not start: ${(err as Error).message}\n${logs()}`);
  }
  return {
    address,
    async query(promql: string) {
      const url = new URL('/api/v1/query', address);
      url.searchParams.set('query', promql);
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async rules() {
      const res = await fetch(new URL('/api/v1/rules', address), { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { data: { groups: { rules: LoadedRule[] }[] } };
      return body.data.groups.flatMap((g) => g.rules);
    },
    logs,
    stop,
  };
}
