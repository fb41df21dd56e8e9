/**
 * kubectl-modelship: the kubectl plugin (`kubectl modelship ...` once it is on the PATH, e.g. after
 * `npm install -g`). It reads ModelDeployments and asks the operator for actions through the modelship.dev/request
 * annotation, never by editing the spec: a GitOps tool's copy of the spec stays the truth.
 */
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import * as k8s from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { kubeRequest } from '../kube/http.js';
import { objectPath } from '../kube/resource.js';
import { kinds } from '../resources.js';
import { requestAnnotation } from '../rollout/requests.js';
import { renderHistory, renderStatus } from './render.js';

interface Globals {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

function connect(g: Globals): { kc: k8s.KubeConfig; namespace: string } {
  const kc = new k8s.KubeConfig();
  if (g.kubeconfig) kc.loadFromFile(g.kubeconfig);
  else kc.loadFromDefault();
  if (g.context) kc.setCurrentContext(g.context);
  const namespace = g.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, namespace };
}

async function get(kc: k8s.KubeConfig, namespace: string, name: string): Promise<ModelDeployment> {
  return (await kubeRequest(kc, {
    path: objectPath(kinds.modelDeployment, namespace, name),
  })) as ModelDeployment;
}

/** Sends a request and waits (up to `timeoutMs`) for the operator to say what became of it. */
async function ask(
  g: Globals,
  name: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<void> {
  const { kc, namespace } = connect(g);
  const id = `${new Date().toISOString()}-${randomUUID().slice(0, 8)}`;
  await kubeRequest(kc, {
    method: 'PATCH',
    path: objectPath(kinds.modelDeployment, namespace, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [requestAnnotation]: JSON.stringify({ id, ...request }) } } },
  });
  if (timeoutMs <= 0) {
    console.log(`asked for ${request.action} (request ${id})`);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const md = await get(kc, namespace, name);
    const last = md.status?.lastRequest;
    if (last?.id === id) {
      console.log(`${request.action}: ${last.result}`);
      return;
    }
    if (Date.now() > deadline) {
      console.error(
        `the operator has not answered request ${id} within ${timeoutMs / 1000}s (is it running?)`,
      );
      process.exitCode = 1;
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function buildPlugin(): Command {
  const program = new Command('kubectl-modelship')
    .description(
      'Operate ModelDeployments: rollout status, promote, abort, retry, undo, pause, resume, history',
    )
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <name>', "namespace (default: the context's)")
    .showHelpAfterError();
  const globals = () => program.opts<Globals>();
  const wait = new Option(
    '--timeout <seconds>',
    'how long to wait for the operator to answer (0: do not wait)',
  )
    .default(30)
    .argParser(Number);
  const action = (
    cmd: string,
    description: string,
    build: (opts: Record<string, unknown>) => Record<string, unknown>,
    extra: (c: Command) => Command = (c) => c,
  ) =>
    extra(program.command(`${cmd} <name>`).description(description))
      .addOption(wait)
      .action(async (name: string, opts: Record<string, unknown>) => {
        await ask(globals(), name, { action: cmd, ...build(opts) }, (opts.timeout as number) * 1000);
      });

  program
    .command('status <name>')
    .description('the rollout: steps, weights, analysis values, history')
    .option('-w, --watch', 'refresh as it changes')
    .action(async (name: string, opts: { watch?: boolean }) => {
      const { kc, namespace } = connect(globals());
      let last = '';
      for (;;) {
        const text = renderStatus(await get(kc, namespace, name));
        if (!opts.watch) return console.log(text);
        if (text !== last) {
          process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
          last = text;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
  program
    .command('history <name>')
    .description('the last rollouts: revision, version, outcome, reason')
    .action(async (name: string) => {
      const { kc, namespace } = connect(globals());
      console.log(renderHistory(await get(kc, namespace, name)));
    });
  action(
    'promote',
    'go on to the next step (--full: make the canary stable now)',
    (o) => ({ full: o.full === true }),
    (c) => c.option('--full', 'skip every remaining step'),
  );
  action('abort', 'roll the canary back now', () => ({}));
  action('retry', 'roll out again the revision that was rolled back', () => ({}));
  action('pause', 'stop the canary where it is (analysis goes on)', () => ({}));
  action('resume', 'let a paused canary go on', () => ({}));
  action(
    'undo',
    'go back to an earlier revision (the previous one by default)',
    (o) => ({ toRevision: o.toRevision }),
    (c) => c.option('--to-revision <revision>', 'the kept revision to go back to'),
  );
  return program;
}
