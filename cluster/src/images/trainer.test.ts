import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVersions, repoRoot } from '../versions.js';
import { declaresPipCert, dockerfileBaseImages } from './dockerfile.js';
import { nodeBaseRef } from './node-base.js';
import { CONTEXT, DOCKERFILE, TRAINER_CONTEXT_FILES, trainerInputFiles } from './trainer.js';

describe('examples/retraining/Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, DOCKERFILE), 'utf8');

  it('builds only FROM the base image node-base makes', () => {
    expect(dockerfileBaseImages(dockerfile)).toEqual([nodeBaseRef(readVersions())]);
  });

  it('takes pip’s CA bundle as a build argument, which the builder sets behind a TLS-inspecting proxy', () => {
    expect(declaresPipCert(dockerfile)).toBe(true);
    expect(declaresPipCert(readFileSync(join(repoRoot, 'server-image/Dockerfile'), 'utf8'))).toBe(false);
    expect(declaresPipCert('FROM x\n  arg pip_cert\nRUN pip install y')).toBe(true);
    expect(declaresPipCert('FROM x\nARG PIP_CERT_FILE\n# ARG PIP_CERT\n')).toBe(false);
  });

  it('copies only the files the recipe hashes', () => {
    for (const line of dockerfile.split('\n').filter((l) => /^COPY\s/i.test(l))) {
      const sources = line.trim().split(/\s+/).slice(1, -1);
      for (const s of sources) expect(TRAINER_CONTEXT_FILES).toContain(s);
    }
  });
});

describe('trainerInputFiles', () => {
  it('are the Dockerfile, the context filter and exactly the files that filter lets through', () => {
    expect(trainerInputFiles()).toEqual([
      'examples/retraining/Dockerfile',
      'examples/retraining/.dockerignore',
      'examples/retraining/requirements.txt',
      'examples/retraining/train.py',
    ]);
    const ignore = readFileSync(join(repoRoot, CONTEXT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(['*', ...TRAINER_CONTEXT_FILES.map((f) => `!${f}`)]);
    const inFolder = new Set(readdirSync(join(repoRoot, CONTEXT)));
    for (const f of trainerInputFiles()) expect(inFolder).toContain(f.slice(CONTEXT.length + 1));
  });
});
