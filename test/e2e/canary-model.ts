/**
 * One ModelDeployment `iris` in a namespace of its own, for the canary tests against ecosystem components (a
 * Gateway API implementation, a Prometheus): deploy a version, read the status and Events, ask for an action the way
 * `kubectl modelship` does, and wait for a condition with the rollout's state in the error when it times out.
 */
import { randomBytes } from 'node:crypto';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { createNamespace, eventually, kubectlOk } from '../support/cluster.js';
import { applyYaml, core, custom, modelClaim } from './support.js';

export class CanaryModel {
  protected constructor(readonly ns: string) {}

  /** In a new namespace with the `models` claim over the e2e models folder. */
  static async create(prefix: string): Promise<CanaryModel> {
    return new CanaryModel(await CanaryModel.namespace(prefix));
  }

  /** A new namespace with the `models` claim over the e2e models folder. */
  protected static async namespace(prefix: string): Promise<string> {
    const ns = await createNamespace(prefix);
    await modelClaim(ns, 'models');
    return ns;
  }

  /** Applies `iris` at `version`, its model `file` from the claim, with the rest of the spec from `spec`. */
  async deploy(version: string, file: string, spec: object): Promise<void> {
    await applyYaml(this.ns, [
      {
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris' },
        spec: { model: { version, storageUri: `pvc://models/${file}` }, ...spec },
      },
    ]);
  }

  async get(): Promise<ModelDeployment> {
    return (await custom.getNamespacedCustomObject({
      group: 'modelship.dev',
      version: 'v1alpha1',
      plural: 'modeldeployments',
      namespace: this.ns,
      name: 'iris',
    })) as ModelDeployment;
  }

  /** Runs `check` until it holds; on a timeout the error says where the rollout stands (status and Events). */
  async until<T>(check: () => Promise<T | false | undefined>, timeoutMs = 240_000): Promise<T> {
    return eventually(check, timeoutMs, 250).catch(async (err: Error) => {
      const st = (await this.get()).status;
      throw new Error(
        `${err.message}\nstatus: ${JSON.stringify({ phase: st?.phase, stable: st?.stable, canary: st?.canary, rejected: st?.rejected })}\nevents: ${(await this.events()).join(' | ')}`,
      );
    });
  }

  async events(): Promise<string[]> {
    const list = await core.listNamespacedEvent({
      namespace: this.ns,
      fieldSelector: 'involvedObject.name=iris',
    });
    return list.items.map((e) => `${e.reason}: ${e.message}`);
  }

  /** What `kubectl modelship <action>` does: one request annotation, answered in status.lastRequest. */
  async request(action: string): Promise<void> {
    const id = `${action}-${randomBytes(3).toString('hex')}`;
    await kubectlOk([
      'annotate',
      'md',
      'iris',
      '-n',
      this.ns,
      '--overwrite',
      `modelship.dev/request=${JSON.stringify({ id, action })}`,
    ]);
    await this.until(async () => (await this.get()).status?.lastRequest?.id === id);
  }
}
