import { describe, expect, it } from '@jest/globals';
import type { RetrainingSpec } from '../api/v1alpha1/retraining.js';
import { md as fixture } from '../testing/fixtures.js';
import { desiredCronJob, manualTrainingJob, retrainCronJobName } from './cronjob.js';

const retraining = {
  schedule: '*/10 * * * *',
  timeZone: 'Europe/Berlin',
  output: 'pvc://models/runs/',
  template: {
    image: 'trainer:1',
    args: ['--epochs', '3'],
    env: [{ name: 'DATA', value: 's3://data/x' }],
    volumes: [{ name: 'data', configMap: { name: 'cfg' } }],
    volumeMounts: [{ name: 'data', mountPath: '/data' }],
  },
} as RetrainingSpec;

const md = (r: RetrainingSpec | undefined = retraining, name = 'churn') =>
  fixture(r ? { retraining: r } : {}, name);

describe('the retraining CronJob', () => {
  it('exists only with spec.retraining', () => {
    expect(desiredCronJob(fixture({}), undefined)).toBeUndefined();
  });

  it('runs the schedule with the defaults of the spec, owned by the ModelDeployment', () => {
    const cj = desiredCronJob(md(), { version: '1.0.0', storageUri: 'pvc://models/a.onnx' })!;
    expect(cj.metadata).toMatchObject({
      name: 'churn-retrain',
      namespace: 'ml',
      labels: expect.objectContaining({
        'modelship.dev/deployment': 'churn',
        'app.kubernetes.io/component': 'retraining',
      }),
      ownerReferences: [expect.objectContaining({ kind: 'ModelDeployment', uid: 'uid-1', controller: true })],
    });
    expect(cj.spec).toMatchObject({
      schedule: '*/10 * * * *',
      timeZone: 'Europe/Berlin',
      suspend: false,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cj.spec!.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600 });
  });

  it('passes the job contract as variables: run id, its output folder, the serving version', () => {
    const cj = desiredCronJob(md(), { version: '1.0.0', storageUri: 'pvc://models/a.onnx' })!;
    const pod = cj.spec!.jobTemplate.spec!.template.spec!;
    const env = pod.containers[0]!.env!;
    expect(env[0]).toEqual({
      name: 'MODELSHIP_RUN_ID',
      valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } },
    });
    const value = (n: string) => env.find((e) => e.name === n)?.value;
    expect(value('MODELSHIP_OUTPUT_URI')).toBe('pvc://models/runs/$(MODELSHIP_RUN_ID)');
    expect(value('MODELSHIP_OUTPUT_DIR')).toBe('/modelship/output/runs/$(MODELSHIP_RUN_ID)');
    expect(value('MODELSHIP_STABLE_VERSION')).toBe('1.0.0');
    expect(value('MODELSHIP_STABLE_MODEL_URI')).toBe('pvc://models/a.onnx');
    expect(value('MODELSHIP_MODEL_NAME')).toBe('churn');
    expect(value('DATA')).toBe('s3://data/x');
    // The output claim is mounted read-write; the user's volumes and a /tmp come with it.
    expect(pod.volumes!.map((v) => v.name)).toEqual(['tmp', 'modelship-output', 'data']);
    expect(pod.volumes![1]).toEqual({
      name: 'modelship-output',
      persistentVolumeClaim: { claimName: 'models' },
    });
  });

  it('runs the trainer locked down like the serving pods, reporting through its termination message', () => {
    const pod = desiredCronJob(md(), undefined)!.spec!.jobTemplate.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.env!.some((e) => e.name === 'MODELSHIP_STABLE_VERSION')).toBe(false);
  });

  it('writes s3:// outputs by URI only (no mount)', () => {
    const pod = desiredCronJob(md({ ...retraining, output: 's3://bucket/runs' }), undefined)!.spec!
      .jobTemplate.spec!.template.spec!;
    expect(pod.volumes!.map((v) => v.name)).toEqual(['tmp', 'data']);
    const env = pod.containers[0]!.env!;
    expect(env.find((e) => e.name === 'MODELSHIP_OUTPUT_URI')?.value).toBe(
      's3://bucket/runs/$(MODELSHIP_RUN_ID)',
    );
    expect(env.some((e) => e.name === 'MODELSHIP_OUTPUT_DIR')).toBe(false);
  });

  it('keeps the CronJob name within 52 characters for long ModelDeployment names, without collisions', () => {
    const long = 'a'.repeat(52);
    const other = `${'a'.repeat(51)}b`;
    const a = retrainCronJobName(md(retraining, long));
    const b = retrainCronJobName(md(retraining, other));
    expect(a.length).toBeLessThanOrEqual(52);
    expect(a).toMatch(/-retrain$/);
    expect(a).not.toBe(b);
  });

  it('makes a run at once from the CronJob, as kubectl create job --from does', () => {
    const cj = desiredCronJob(md(), undefined)!;
    cj.metadata!.uid = 'cj-uid';
    const job = manualTrainingJob(cj, 'x1y2');
    expect(job.metadata).toMatchObject({
      name: 'churn-retrain-manual-x1y2',
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [expect.objectContaining({ kind: 'CronJob', uid: 'cj-uid' })],
      labels: cj.spec!.jobTemplate.metadata!.labels,
    });
    expect(job.spec).toBe(cj.spec!.jobTemplate.spec);
  });
});
