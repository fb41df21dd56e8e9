/**
 * kubectl-modelship: the kubectl plugin (`kubectl modelship ...` once it is on the PATH, e.g. after
 * `npm install -g`). It reads ModelDeployments and asks the operator for actions through the modelship.dev/request
 * annotation, never by editing the spec: a GitOps tool's copy of the spec stays the truth.
 */
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import * as k8s from '@kubernetes/client-node';
import type { V1CronJob } from '@kubernetes/client-node';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { manualTrainingJob, retrainCronJobName } from '../desired/cronjob.js';
import { labelKeys } from '../desired/names.js';
import { kubeRequest } from '../kube/http.js';
import { collectionPath, objectPath } from '../kube/resource.js';
import { kinds } from '../resources.js';
import { promoteAnnotation } from '../retraining/serving.js';
import { requestAnnotation } from '../rollout/requests.js';
import { cardSubject, renderModelCard } from './card.js';
import { renderHistory, renderStatus, renderVersions } from './render.js';

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

/** The ModelDeployment's ModelVersions (labelled with its name by the operator). */
async function versionsOf(kc: k8s.KubeConfig, namespace: string, name: string): Promise<ModelVersion[]> {
  const list = (await kubeRequest(kc, {
    path: `${collectionPath(kinds.modelVersion)(namespace)}?labelSelector=${encodeURIComponent(`${labelKeys.deployment}=${name}`)}`,
  })) as { items: ModelVersion[] };
  return list.items.filter((v) => v.spec.deployment === name);
}

/** Asks for a retrained version to serve: the promote annotation on its ModelVersion, then waits for status.model. */
async function promoteVersion(g: Globals, name: string, version: string, timeoutMs: number): Promise<void> {
  const { kc, namespace } = connect(g);
  const versions = await versionsOf(kc, namespace, name);
  const mv = versions.find((v) => v.spec.model.version === version);
  if (!mv)
    throw new Error(
      `${name} has no ModelVersion with version ${version}; it has: ${versions.map((v) => `${v.spec.model.version} (${v.status?.phase ?? 'Candidate'})`).join(', ') || 'none'}`,
    );
  if (mv.status?.phase !== 'Approved' && mv.status?.phase !== 'Stable')
    throw new Error(
      `version ${version} is ${mv.status?.phase ?? 'Candidate'}: only an Approved version can be promoted (${mv.status?.conditions?.at(-1)?.message ?? ''})`,
    );
  await kubeRequest(kc, {
    method: 'PATCH',
    path: objectPath(kinds.modelVersion, namespace, mv.metadata.name!),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [promoteAnnotation]: new Date().toISOString() } } },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const md = await get(kc, namespace, name);
    const served = md.status?.model;
    if (served && served.modelVersion === mv.metadata.name) {
      console.log(`version ${version} (ModelVersion ${mv.metadata.name}) rolls out: ${served.reason}`);
      return;
    }
    if (Date.now() > deadline) {
      console.log(`asked the operator to serve version ${version}; it has not picked it up yet`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Starts a training run now from the CronJob's template, as `kubectl create job --from=cronjob/...` does. */
async function retrainNow(g: Globals, name: string): Promise<void> {
  const { kc, namespace } = connect(g);
  const md = await get(kc, namespace, name);
  if (!md.spec.retraining) throw new Error(`${name} has no spec.retraining: there is nothing to run`);
  const cronJobName = retrainCronJobName(md);
  const cronJob = (await kubeRequest(kc, {
    path: objectPath(kinds.cronJob, namespace, cronJobName),
  })) as V1CronJob;
  const job = manualTrainingJob(cronJob, Date.now().toString(36));
  await kubeRequest(kc, { method: 'POST', path: collectionPath(kinds.job)(namespace), body: job });
  console.log(
    `started training run ${job.metadata!.name} (kubectl get job ${job.metadata!.name}); its version appears in kubectl get modelversions`,
  );
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
      'Operate ModelDeployments: rollout status, promote, abort, retry, undo, pause, resume, history, retrain, card',
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
    .description(
      'the last rollouts (revision, version, outcome, reason) and the retrained versions with their lineage',
    )
    .action(async (name: string) => {
      const { kc, namespace } = connect(globals());
      const md = await get(kc, namespace, name);
      console.log(renderHistory(md));
      if (md.spec.retraining || md.status?.model)
        console.log(`Versions:\n${renderVersions(md, await versionsOf(kc, namespace, name), '  ')}`);
    });
  program
    .command('card <name>')
    .description('the model card of the serving version (or --version), as Markdown')
    .option('--version <version>', 'another version: spec.model or a ModelVersion')
    .action(async (name: string, opts: { version?: string }) => {
      const { kc, namespace } = connect(globals());
      const md = await get(kc, namespace, name);
      const versions = md.spec.retraining || md.status?.model ? await versionsOf(kc, namespace, name) : [];
      process.stdout.write(renderModelCard(cardSubject(md, versions, opts.version)));
    });
  program
    .command('retrain <name>')
    .description("start a training run now, from the retraining CronJob's template")
    .action(async (name: string) => retrainNow(globals(), name));
  program
    .command('promote <name>')
    .description(
      'go on to the next canary step (--full: make the canary stable now); with --version: roll out that Approved ModelVersion',
    )
    .option('--full', 'skip every remaining step')
    .option('--version <version>', 'a retrained version (kubectl get modelversions) to serve')
    .addOption(wait)
    .action(async (name: string, opts: { full?: boolean; version?: string; timeout: number }) => {
      if (opts.version !== undefined)
        await promoteVersion(globals(), name, opts.version, opts.timeout * 1000);
      else await ask(globals(), name, { action: 'promote', full: opts.full === true }, opts.timeout * 1000);
    });
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
