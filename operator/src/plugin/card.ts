/**
 * `kubectl modelship card`: a model card in Markdown (the sections of Mitchell et al., "Model Cards for Model
 * Reporting", as far as spec.modelCard carries them), for the version that serves or a named one. A section the card
 * leaves empty says so: an auditor should see a gap, not miss it. Pure.
 */
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import type { ModelCardSpec } from '../api/v1alpha1/security.js';
import { redactedUri } from '../reconcile/digest-policy.js';

export interface CardSubject {
  /** namespace/name of the ModelDeployment. */
  deployment: string;
  model: string;
  version: string;
  storageUri: string;
  sha256?: string;
  /** Whether the file's signature is verified before it loads (spec.model.signature). */
  signed: boolean;
  /** Where this version came from, in words. */
  source: string;
  card?: ModelCardSpec;
}

/** The subject of `card NAME [--version V]`: the served version by default. Throws, saying what exists, otherwise. */
export function cardSubject(md: ModelDeployment, versions: ModelVersion[], version?: string): CardSubject {
  const deployment = `${md.metadata.namespace}/${md.metadata.name}`;
  const served = md.status?.model?.modelVersion;
  const wanted =
    version ?? (served ? versions.find((v) => v.metadata.name === served)?.spec.model.version : undefined);
  const fromSpec = (): CardSubject => ({
    deployment,
    model: md.spec.model.name ?? md.metadata.name!,
    version: md.spec.model.version,
    storageUri: md.spec.model.storageUri,
    sha256: md.spec.model.sha256,
    signed: md.spec.model.signature !== undefined,
    source: 'spec.model',
    card: md.spec.modelCard,
  });
  if (wanted === undefined || (wanted === md.spec.model.version && !served)) return fromSpec();
  const v = versions.find((x) => x.spec.model.version === wanted);
  if (!v) {
    if (wanted === md.spec.model.version) return fromSpec();
    const known = [md.spec.model.version, ...versions.map((x) => x.spec.model.version)];
    throw new Error(`${deployment} has no version ${wanted}; it has: ${[...new Set(known)].join(', ')}`);
  }
  const run = v.spec.source.kind === 'Job';
  return {
    deployment,
    model: v.spec.model.name,
    version: v.spec.model.version,
    storageUri: v.spec.model.storageUri,
    sha256: v.spec.model.sha256,
    // A run's file is pinned by its sha256; the spec's signature is for the spec's file only.
    signed: !run && md.spec.model.signature !== undefined,
    source: run
      ? `retraining run ${v.spec.source.name ?? '?'}${v.spec.source.parentVersion ? ` (parent version ${v.spec.source.parentVersion})` : ''}, ModelVersion ${v.metadata.name}`
      : `spec.model, ModelVersion ${v.metadata.name}`,
    card: v.spec.modelCard,
  };
}

/** Text safe inside a Markdown table cell: pipes escaped, lines joined. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const notStated = '_Not stated._';
const section = (title: string, text: string | undefined): string[] => [
  `## ${title}`,
  '',
  text?.trim() || notStated,
  '',
];

export function renderModelCard(s: CardSubject): string {
  const card = s.card ?? {};
  const metrics = Object.entries(card.evaluationMetrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const lines = [
    `# Model card: ${s.model} ${s.version}`,
    '',
    ...(s.card ? [] : ['> This version has no model card (spec.modelCard was not set).', '']),
    '| | |',
    '|---|---|',
    `| Model | ${cell(s.model)} |`,
    `| Version | ${cell(s.version)} |`,
    `| ModelDeployment | ${cell(s.deployment)} |`,
    `| Source | ${cell(s.source)} |`,
    `| Artifact | ${cell(redactedUri(s.storageUri))} |`,
    `| SHA-256 | ${s.sha256 ?? 'not pinned'} |`,
    `| Signature | ${s.signed ? 'verified against the public key in spec.model.signature before it loads' : 'not verified'} |`,
    '',
    ...section('Owner', card.owner),
    ...section('Intended use', card.intendedUse),
    ...section('Limitations', card.limitations),
    ...section('Training data', card.trainingData),
    '## Evaluation',
    '',
    ...(metrics.length
      ? ['| Metric | Value |', '|---|---|', ...metrics.map(([k, v]) => `| ${cell(k)} | ${v} |`)]
      : [notStated]),
    '',
    ...section('License', card.license),
    ...section('Contact', card.contact),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The one line `kubectl modelship status` shows for spec.modelCard. */
export function cardSummary(md: ModelDeployment): string | undefined {
  const card = md.spec.modelCard;
  if (!card) return undefined;
  const metrics = Object.keys(card.evaluationMetrics ?? {}).length;
  const parts = [
    card.owner && `owner ${card.owner}`,
    card.license && `license ${card.license}`,
    metrics && `${metrics} evaluation metric${metrics === 1 ? '' : 's'}`,
  ].filter(Boolean);
  return `${parts.length ? parts.join(', ') : 'set'} (kubectl modelship card ${md.metadata.name})`;
}
