import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import winston from 'winston';
import { FakeClock } from '../testing/fake-clock.js';
import { writeSecret } from '../testing/kubelet-secret.js';
import { ApiKeyDirectory, readKeyDirectory } from './api-key-dir.js';

function capture(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk: Buffer, _e, done) {
            lines.push(chunk.toString());
            done();
          },
        }),
      }),
    ],
  });
  return { logger, lines };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

let dir: string;
let opened: ApiKeyDirectory | undefined;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'modelship-keys-')), 'secret');
});
afterEach(async () => {
  opened?.close();
  opened = undefined;
  await rm(join(dir, '..'), { recursive: true, force: true });
});

describe('the API key directory', () => {
  it("reads a kubelet Secret volume: the visible names, not the '..' entries", async () => {
    await writeSecret(dir, { ci: 'key-ci', batch: 'key-batch' });
    const { keys, skipped } = await readKeyDirectory(dir);
    expect(keys.map((k) => k.name)).toEqual(['batch', 'ci']);
    expect(skipped).toEqual([]);
  });

  it('follows a swapped Secret on a re-read, and the periodic re-read happens on its clock', async () => {
    await writeSecret(dir, { old: 'key-1' });
    const clock = new FakeClock();
    const { logger } = capture();
    opened = await ApiKeyDirectory.open({ dir, logger, clock, reloadMs: 1000 });
    const d = opened;
    expect(d.current().lookup('key-1')).toBe('old');
    expect(clock.pendingDelays()).toEqual([1000]);
    await writeSecret(dir, { old: 'key-1', new: 'key-2' });
    await clock.advance(1000);
    await until(() => d.current().lookup('key-2') === 'new');
    expect(d.current().lookup('key-1')).toBe('old');
    await writeSecret(dir, { new: 'key-2' });
    await clock.advance(1000);
    await until(() => d.current().lookup('key-1') === undefined);
    expect(d.current().lookup('key-2')).toBe('new');
    // The next re-read is scheduled once this one (maybe still reading, behind a change event's) is done.
    await until(() => clock.pendingDelays().length > 0);
    expect(clock.pendingDelays()).toEqual([1000]);
  });

  it('keeps the last good keys when the directory empties or goes away, warning without key material', async () => {
    await writeSecret(dir, { ci: 'super-secret-key' });
    const { logger, lines } = capture();
    opened = await ApiKeyDirectory.open({ dir, logger, clock: new FakeClock(), reloadMs: 1000 });
    await writeSecret(dir, {});
    await opened.reload();
    expect(opened.current().lookup('super-secret-key')).toBe('ci');
    await rm(dir, { recursive: true });
    await opened.reload();
    expect(opened.current().lookup('super-secret-key')).toBe('ci');
    const warnings = lines.filter((l) => l.includes('"warn"'));
    expect(warnings.some((l) => l.includes('holds no key'))).toBe(true);
    expect(warnings.some((l) => l.includes('could not read'))).toBe(true);
    expect(lines.join('')).not.toContain('super-secret-key');
  });

  it('skips files that are not keys, naming the file but not its content', async () => {
    await writeSecret(dir, { good: 'k1', bad: 'two words', empty: '' });
    const { logger, lines } = capture();
    opened = await ApiKeyDirectory.open({ dir, logger, clock: new FakeClock() });
    expect(opened.current().size).toBe(1);
    expect(lines.join('')).toContain('"file":"bad"');
    expect(lines.join('')).not.toContain('two words');
  });

  it('starts with no key when there is none yet: every request is refused until one comes', async () => {
    const { logger } = capture();
    opened = await ApiKeyDirectory.open({ dir, logger, clock: new FakeClock(), reloadMs: 1000 });
    expect(opened.current().size).toBe(0);
    await writeSecret(dir, { ci: 'k1' });
    await opened.reload();
    expect(opened.current().lookup('k1')).toBe('ci');
  });
});
