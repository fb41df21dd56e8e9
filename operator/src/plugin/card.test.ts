import { describe, expect, it } from '@jest/globals';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import type { ModelCardSpec } from '../api/v1alpha1/security.js';
import { md as fixture } from '../testing/fixtures.js';
import { cardSubject, cardSummary, renderModelCard } from './card.js';
import { renderStatus } from './render.js';

const card = {
  owner: 'ml-team',
  intendedUse: 'Score churn risk of existing customers.',
  limitations: 'Not for new customers | no history.',
  trainingData: 'crm-2026-10 (s3://data/crm/2026-10)',
  evaluationMetrics: { f1: 0.91, accuracy: 0.97 },
  license: 'Apache-2.0',
  contact: 'ml-team@example.com',
};

const deployment = (extra: Partial<ModelDeployment['spec']> = {}): ModelDeployment =>
  fixture({
    model: {
      version: '1.0.0',
      storageUri: 'https://models.example.com/churn.onnx?X-Amz-Signature=secret',
      sha256: 'a'.repeat(64),
    },
    modelCard: card,
    ...extra,
  });

const version = (name: string, v: string, modelCard?: ModelCardSpec): ModelVersion => ({
  apiVersion: 'modelship.dev/v1alpha1',
  kind: 'ModelVersion',
  metadata: { name, namespace: 'ml' },
  spec: {
    deployment: 'churn',
    model: { name: 'churn', version: v, storageUri: `pvc://runs/${name}/model.onnx`, sha256: 'b'.repeat(64) },
    source: { kind: 'Job', name, parentVersion: '1.0.0' },
    ...(modelCard ? { modelCard } : {}),
  },
});

describe('renderModelCard', () => {
  it('prints every section of spec.modelCard as Markdown, the artifact without its query', () => {
    expect(renderModelCard(cardSubject(deployment(), []))).toBe(`# Model card: churn 1.0.0

| | |
|---|---|
| Model | churn |
| Version | 1.0.0 |
| ModelDeployment | ml/churn |
| Source | spec.model |
| Artifact | https://models.example.com/churn.onnx |
| SHA-256 | ${'a'.repeat(64)} |
| Signature | not verified |

## Owner

ml-team

## Intended use

Score churn risk of existing customers.

## Limitations

Not for new customers | no history.

## Training data

crm-2026-10 (s3://data/crm/2026-10)

## Evaluation

| Metric | Value |
|---|---|
| accuracy | 0.97 |
| f1 | 0.91 |

## License

Apache-2.0

## Contact

ml-team@example.com
`);
  });

  it('says what is missing instead of leaving it out', () => {
    const text = renderModelCard(cardSubject(fixture({ modelCard: { owner: 'me' } }), []));
    expect(text).toContain('## Owner\n\nme\n');
    expect(text).toContain('## Limitations\n\n_Not stated._\n');
    expect(text).toContain('## Evaluation\n\n_Not stated._\n');
    expect(text).toContain('| SHA-256 | not pinned |');
    const none = renderModelCard(cardSubject(fixture(), []));
    expect(none).toContain('> This version has no model card (spec.modelCard was not set).');
  });

  it('escapes a pipe inside a table cell', () => {
    const text = renderModelCard(
      cardSubject(fixture({ modelCard: { evaluationMetrics: { 'a|b': 1 } } }), []),
    );
    expect(text).toContain('| a\\|b | 1 |');
  });
});

describe('cardSubject', () => {
  it('is the served ModelVersion by default, with the card stored with it', () => {
    const md = deployment();
    md.status = {
      model: {
        source: 'ModelVersion',
        modelVersion: 'churn-run-2',
        version: '2',
        specModelHash: 'h',
        reason: 'promoted',
        since: '2026-12-01T00:00:00Z',
      },
    };
    const runCard = { ...card, evaluationMetrics: { accuracy: 0.98 } };
    const s = cardSubject(md, [version('churn-run-2', '2', runCard)]);
    expect(s).toMatchObject({
      version: '2',
      storageUri: 'pvc://runs/churn-run-2/model.onnx',
      source: 'retraining run churn-run-2 (parent version 1.0.0), ModelVersion churn-run-2',
      card: runCard,
      signed: false,
    });
  });

  it('is spec.model for its version, and marks a signed spec model', () => {
    const publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----';
    const md = deployment({
      model: { version: '1.0.0', storageUri: 'file:///m.onnx', signature: { publicKey, signature: 'AA==' } },
    });
    expect(cardSubject(md, [version('churn-run-2', '2')], '1.0.0')).toMatchObject({
      source: 'spec.model',
      signed: true,
      card,
    });
  });

  it('names the versions there are when asked for another', () => {
    expect(() => cardSubject(deployment(), [version('churn-run-2', '2')], '9')).toThrow(
      'ml/churn has no version 9; it has: 1.0.0, 2',
    );
  });
});

describe('the status line', () => {
  it('summarises the card and says how to print it', () => {
    expect(cardSummary(deployment())).toBe(
      'owner ml-team, license Apache-2.0, 2 evaluation metrics (kubectl modelship card churn)',
    );
    expect(cardSummary(fixture())).toBeUndefined();
    expect(renderStatus(deployment()).split('\n')).toContain(
      'Model card:   owner ml-team, license Apache-2.0, 2 evaluation metrics (kubectl modelship card churn)',
    );
  });
});
