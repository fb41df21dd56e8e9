import { describe, expect, it } from '@jest/globals';
import { walk, type JsonSchema } from '../structural.js';
import { modelDeploymentCrd, openApiSchema } from './crd.js';
import { withDefaults } from './schema.js';

const schema = openApiSchema();
const spec = (schema.properties as Record<string, JsonSchema>).spec!;
const status = (schema.properties as Record<string, JsonSchema>).status!;

describe('the ModelDeployment schema', () => {
  it('describes every field of spec and status, so kubectl explain helps', () => {
    const missing = [...walk(spec, 'spec'), ...walk(status, 'status')]
      .filter(([, node]) => !node.description)
      .map(([p]) => p);
    expect(missing).toEqual([]);
  });

  it('gives every field a type (a structural schema)', () => {
    const untyped = [...walk(schema)]
      .filter(([, n]) => !n.type && !n['x-kubernetes-int-or-string'])
      .map(([p]) => p);
    expect(untyped).toEqual([]);
  });

  it('bounds every string a CEL rule reads, so the API server accepts the rule cost', () => {
    const unbounded = [...walk(spec, 'spec')]
      .filter(([, n]) => n.type === 'string' && n['x-kubernetes-validations'] && n.maxLength === undefined)
      .map(([p]) => p);
    expect(unbounded).toEqual([]);
  });

  it('states each default in the description', () => {
    const undocumented = [...walk(spec, 'spec')]
      .filter(([, n]) => n.default !== undefined && typeof n.default !== 'object')
      .filter(([, n]) => !String(n.description).includes(`Default: ${String(n.default)}`))
      .map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  it('has the fields the issue asks for and no others', () => {
    const fields = [...walk(spec, 'spec')]
      .map(([p]) => p)
      .filter((p) => !/^spec\.runtime\.(resources|env|tolerations|affinity)[.[{]/.test(p))
      .filter(
        (p) =>
          !/^spec\.retraining\.template\.(env|envFrom|resources|volumes|volumeMounts|tolerations)[.[{]/.test(
            p,
          ),
      )
      // Label selectors, as Kubernetes defines them (network-policy.ts).
      .filter((p) => !/^spec\.networkPolicy\.\w+\[\]\.(namespaceSelector|podSelector)\./.test(p));
    expect(fields).toEqual([
      'spec.model',
      'spec.model.name',
      'spec.model.version',
      'spec.model.storageUri',
      'spec.model.format',
      'spec.model.sha256',
      'spec.model.caBundle',
      'spec.model.caBundle.configMapRef',
      'spec.model.caBundle.configMapRef.name',
      'spec.model.caBundle.configMapRef.key',
      'spec.model.requireDigest',
      'spec.model.signature',
      'spec.model.signature.publicKey',
      'spec.model.signature.signature',
      'spec.model.signature.signatureUri',
      'spec.runtime',
      'spec.runtime.image',
      'spec.runtime.replicas',
      'spec.runtime.resources',
      'spec.runtime.batching',
      'spec.runtime.batching.maxBatchSize',
      'spec.runtime.batching.maxQueueDelayMs',
      'spec.runtime.batching.maxQueueSize',
      'spec.runtime.threads',
      'spec.runtime.threads.intraOp',
      'spec.runtime.threads.interOp',
      'spec.runtime.env',
      'spec.runtime.nodeSelector',
      'spec.runtime.tolerations',
      'spec.runtime.affinity',
      'spec.runtime.serviceAccountName',
      'spec.runtime.autoscaling',
      'spec.runtime.autoscaling.minReplicas',
      'spec.runtime.autoscaling.maxReplicas',
      'spec.runtime.autoscaling.targetCPUUtilizationPercentage',
      'spec.rollout',
      'spec.rollout.strategy',
      'spec.rollout.steps',
      'spec.rollout.steps[].setWeight',
      'spec.rollout.steps[].pause',
      'spec.rollout.steps[].pause.duration',
      'spec.rollout.steps[].analysis',
      'spec.rollout.steps[].analysis.duration',
      'spec.rollout.revisionHistoryLimit',
      'spec.rollout.warmReplicas',
      'spec.rollout.shadow',
      'spec.rollout.shadow.duration',
      'spec.rollout.shadow.minSamples',
      'spec.rollout.shadow.agreement',
      'spec.rollout.shadow.tolerance',
      'spec.rollout.shadow.tolerance.absolute',
      'spec.rollout.shadow.tolerance.relative',
      'spec.analysis',
      'spec.analysis.interval',
      'spec.analysis.window',
      'spec.analysis.metrics',
      'spec.analysis.metrics[].name',
      'spec.analysis.metrics[].max',
      'spec.analysis.metrics[].min',
      'spec.analysis.metrics[].relativeToStable',
      'spec.analysis.metrics[].minSamples',
      'spec.analysis.minSamples',
      'spec.analysis.failureLimit',
      'spec.analysis.noData',
      'spec.analysis.noData.policy',
      'spec.analysis.noData.timeout',
      'spec.analysis.prometheus',
      'spec.analysis.prometheus.address',
      'spec.analysis.prometheus.queries',
      'spec.analysis.prometheus.queries.requests',
      'spec.analysis.prometheus.queries.errorRate',
      'spec.analysis.prometheus.queries.latencyP99',
      'spec.traffic',
      'spec.traffic.provider',
      'spec.traffic.match',
      'spec.traffic.match[].header',
      'spec.traffic.match[].value',
      'spec.traffic.gatewayAPI',
      'spec.traffic.gatewayAPI.parentRefs',
      'spec.traffic.gatewayAPI.parentRefs[].name',
      'spec.traffic.gatewayAPI.parentRefs[].namespace',
      'spec.traffic.gatewayAPI.parentRefs[].sectionName',
      'spec.traffic.gatewayAPI.hostnames',
      'spec.traffic.istio',
      'spec.traffic.istio.hosts',
      'spec.traffic.istio.gateways',
      'spec.retraining',
      'spec.retraining.schedule',
      'spec.retraining.timeZone',
      'spec.retraining.suspend',
      'spec.retraining.concurrencyPolicy',
      'spec.retraining.successfulJobsHistoryLimit',
      'spec.retraining.failedJobsHistoryLimit',
      'spec.retraining.activeDeadlineSeconds',
      'spec.retraining.backoffLimit',
      'spec.retraining.output',
      'spec.retraining.template',
      'spec.retraining.template.image',
      'spec.retraining.template.imagePullPolicy',
      'spec.retraining.template.command',
      'spec.retraining.template.args',
      'spec.retraining.template.env',
      'spec.retraining.template.envFrom',
      'spec.retraining.template.resources',
      'spec.retraining.template.volumes',
      'spec.retraining.template.volumeMounts',
      'spec.retraining.template.serviceAccountName',
      'spec.retraining.template.nodeSelector',
      'spec.retraining.template.tolerations',
      'spec.retraining.promotion',
      'spec.retraining.promotion.mode',
      'spec.retraining.promotion.metrics',
      'spec.retraining.promotion.metrics[].name',
      'spec.retraining.promotion.metrics[].min',
      'spec.retraining.promotion.metrics[].max',
      'spec.retraining.promotion.metrics[].notWorseThanStable',
      'spec.retraining.promotion.metrics[].tolerance',
      'spec.retraining.promotion.metrics[].higherIsBetter',
      'spec.retraining.promotion.requireCompatibleSignature',
      'spec.retraining.versionHistoryLimit',
      'spec.retraining.onDrift',
      'spec.retraining.cooldown',
      'spec.monitoring',
      'spec.monitoring.interval',
      'spec.monitoring.drift',
      'spec.monitoring.drift.baseline',
      'spec.monitoring.drift.threshold',
      'spec.monitoring.drift.window',
      'spec.monitoring.drift.minSamples',
      'spec.monitoring.drift.features',
      'spec.monitoring.feedback',
      'spec.monitoring.feedback.output',
      'spec.monitoring.feedback.window',
      'spec.monitoring.feedback.storeSize',
      'spec.monitoring.feedback.maxAge',
      'spec.logging',
      'spec.logging.payloads',
      'spec.logging.payloads.sample',
      'spec.logging.payloads.redact',
      'spec.logging.payloads.maxBytes',
      'spec.logging.payloads.sink',
      'spec.logging.payloads.url',
      'spec.auth',
      'spec.auth.apiKeys',
      'spec.auth.apiKeys.secretRef',
      'spec.auth.apiKeys.secretRef.name',
      'spec.auth.oidc',
      'spec.auth.oidc.issuer',
      'spec.auth.oidc.audiences',
      'spec.auth.oidc.jwksUri',
      'spec.auth.oidc.requiredClaims',
      'spec.auth.oidc.clockSkew',
      'spec.tls',
      'spec.tls.secretRef',
      'spec.tls.secretRef.name',
      'spec.tls.metrics',
      'spec.modelCard',
      'spec.modelCard.owner',
      'spec.modelCard.intendedUse',
      'spec.modelCard.limitations',
      'spec.modelCard.trainingData',
      'spec.modelCard.evaluationMetrics',
      'spec.modelCard.license',
      'spec.modelCard.contact',
      'spec.networkPolicy',
      'spec.networkPolicy.enabled',
      'spec.networkPolicy.from',
      'spec.networkPolicy.from[].namespaceSelector',
      'spec.networkPolicy.from[].podSelector',
      'spec.networkPolicy.metricsFrom',
      'spec.networkPolicy.metricsFrom[].namespaceSelector',
      'spec.networkPolicy.metricsFrom[].podSelector',
    ]);
  });
});

describe('the CRD', () => {
  const crd = modelDeploymentCrd();
  it('is namespaced, with short name md and category modelship', () => {
    expect(crd.metadata?.name).toBe('modeldeployments.modelship.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'ModelDeployment',
      plural: 'modeldeployments',
      shortNames: ['md'],
      categories: ['modelship'],
    });
  });

  it('serves v1alpha1 with a status subresource and the printer columns', () => {
    const v = crd.spec.versions[0]!;
    expect(v.name).toBe('v1alpha1');
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns?.map((c) => c.name)).toEqual([
      'Model',
      'Stable',
      'Canary',
      'Weight',
      'Phase',
      'Ready',
      'Age',
      'Drifted',
      'Accuracy',
    ]);
  });
});

describe('withDefaults', () => {
  it('fills nested defaults without touching what the user set', () => {
    const d = withDefaults({
      model: { version: '1', storageUri: 'file:///m.onnx' },
      runtime: { batching: { maxBatchSize: 8 } },
    });
    expect(d.model.format).toBe('onnx');
    expect(d.runtime?.batching).toEqual({ maxBatchSize: 8, maxQueueDelayMs: 0, maxQueueSize: 1024 });
    expect(d.runtime?.threads).toEqual({ intraOp: 0, interOp: 0 });
  });

  it('does not modify its argument', () => {
    const input = { model: { version: '1', storageUri: 'file:///m.onnx' } };
    withDefaults(input);
    expect(input).toEqual({ model: { version: '1', storageUri: 'file:///m.onnx' } });
  });
});
