/**
 * Every pod the operator makes passes the Pod Security `restricted` profile: serving revisions (in each storage and
 * monitoring shape that changes their volumes), the router, the retraining CronJob and its manual and drift runs,
 * and the validation Job. The checker itself is tested first, on pods that break each rule.
 */
import { describe, expect, it } from '@jest/globals';
import type { V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import type { RetrainingSpec } from '../api/v1alpha1/retraining.js';
import type { ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { md } from '../testing/fixtures.js';
import { restrictedViolations } from '../testing/pod-security.js';
import { routerDeployment } from '../traffic/router.js';
import { desiredCronJob, manualTrainingJob } from './cronjob.js';
import { desiredDeployment } from './deployment.js';
import { validationJob } from './validation-job.js';

const retraining = {
  schedule: '0 * * * *',
  output: 'pvc://models/runs/',
  template: {
    image: 'trainer:1',
    volumes: [{ name: 'data', configMap: { name: 'cfg' } }],
    volumeMounts: [{ name: 'data', mountPath: '/data' }],
  },
} as RetrainingSpec;

const specs: [string, Partial<ModelDeploymentSpec>][] = [
  ['a file model', {}],
  ['a model on a claim', { model: { version: '1', storageUri: 'pvc://models/m.onnx' } }],
  [
    'drift and feedback with a baseline on another claim',
    {
      model: { version: '1', storageUri: 'pvc://models/m.onnx' },
      monitoring: { drift: { baseline: 'pvc://baselines/b.json' }, feedback: { output: 'label' } },
    } as Partial<ModelDeploymentSpec>,
  ],
  [
    'runtime settings',
    { runtime: { replicas: 3, env: [{ name: 'X', value: 'y' }], serviceAccountName: 'sa' } },
  ],
];

const mv: ModelVersion = {
  apiVersion: 'modelship.dev/v1alpha1',
  kind: 'ModelVersion',
  metadata: { name: 'churn-v2', namespace: 'ml', uid: 'mv-1' },
  spec: {
    deployment: 'churn',
    model: { name: 'churn', version: '2', storageUri: 'pvc://models/runs/2/model.onnx' },
    source: { kind: 'Job', name: 'churn-retrain-1' },
    holdoutUri: 'pvc://other/holdout.csv',
  },
};

const template = (t: V1PodTemplateSpec | undefined) => {
  expect(t?.spec).toBeDefined();
  return t!;
};

describe('every pod template the operator generates passes restricted', () => {
  it.each(specs)('a serving revision: %s', (_what, spec) => {
    const t = template(desiredDeployment(md(spec), 'rev1', 'modelship/server:1').spec?.template);
    expect(restrictedViolations(t.spec!, t.metadata?.annotations)).toEqual([]);
  });

  it('the router', () => {
    const t = template(routerDeployment(md(), 'modelship/server:1').spec?.template);
    expect(restrictedViolations(t.spec!, t.metadata?.annotations)).toEqual([]);
  });

  it('the retraining CronJob, and a run started at once or by drift', () => {
    const cj = desiredCronJob(md({ retraining }), { version: '1', storageUri: 'pvc://models/m.onnx' })!;
    const t = template(cj.spec?.jobTemplate.spec?.template);
    expect(restrictedViolations(t.spec!)).toEqual([]);
    cj.metadata!.uid = 'cj-1';
    for (const trigger of ['manual', 'drift'] as const) {
      const job = manualTrainingJob(cj, 'abc', trigger);
      expect(restrictedViolations(template(job.spec?.template).spec!)).toEqual([]);
    }
  });

  it('the validation Job', () => {
    const job = validationJob(md({ retraining }), mv, 'modelship/server:1');
    expect(restrictedViolations(template(job.spec?.template).spec!)).toEqual([]);
  });
});

describe('the restricted checker', () => {
  const good = (): V1PodSpec => ({
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'c',
        image: 'i',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    volumes: [{ name: 'tmp', emptyDir: {} }],
  });
  const withContainer = (sc: object): V1PodSpec => {
    const s = good();
    s.containers[0]!.securityContext = { ...s.containers[0]!.securityContext, ...sc };
    return s;
  };

  it('passes a pod that follows every rule', () => {
    expect(restrictedViolations(good())).toEqual([]);
  });

  it.each<[string, V1PodSpec, RegExp]>([
    [
      'hostPath',
      { ...good(), volumes: [{ name: 'h', hostPath: { path: '/' } }] },
      /volume h is of type hostPath/,
    ],
    ['hostNetwork', { ...good(), hostNetwork: true }, /hostNetwork/],
    [
      'no runAsNonRoot',
      { ...good(), securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
      /runAsNonRoot/,
    ],
    ['a container that overrides runAsNonRoot', withContainer({ runAsNonRoot: false }), /runAsNonRoot/],
    ['runAsUser 0', withContainer({ runAsUser: 0 }), /runAsUser must not be 0/],
    ['no seccomp profile', { ...good(), securityContext: { runAsNonRoot: true } }, /seccompProfile/],
    ['Unconfined seccomp', withContainer({ seccompProfile: { type: 'Unconfined' } }), /seccompProfile/],
    [
      'privilege escalation left on',
      withContainer({ allowPrivilegeEscalation: undefined }),
      /allowPrivilegeEscalation/,
    ],
    ['capabilities not dropped', withContainer({ capabilities: {} }), /drop ALL/],
    [
      'an added capability',
      withContainer({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } }),
      /NET_ADMIN/,
    ],
    ['privileged', withContainer({ privileged: true }), /privileged/],
    [
      'a hostPort',
      { ...good(), containers: [{ ...good().containers[0]!, ports: [{ containerPort: 80, hostPort: 80 }] }] },
      /hostPort 80/,
    ],
    [
      'an unsafe sysctl',
      {
        ...good(),
        securityContext: { ...good().securityContext, sysctls: [{ name: 'kernel.msgmax', value: '1' }] },
      },
      /kernel.msgmax/,
    ],
  ])('refuses %s', (_what, spec, message) => {
    expect(restrictedViolations(spec).join('\n')).toMatch(message);
  });

  it('checks init containers too', () => {
    const s = good();
    s.initContainers = [{ name: 'init', image: 'i' }];
    expect(restrictedViolations(s).join('\n')).toMatch(/container init must set allowPrivilegeEscalation/);
  });

  it('accepts seccomp and runAsNonRoot set on every container instead of the pod', () => {
    const s = withContainer({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    s.securityContext = {};
    expect(restrictedViolations(s)).toEqual([]);
  });
});
