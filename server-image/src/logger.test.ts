import { describe, expect, it } from '@jest/globals';
import { LineWriter, createAccessLog, createLogging, type AccessEntry } from './logger.js';

const entry: AccessEntry = {
  method: 'POST',
  path: '/v2/models/m/infer',
  status: 200,
  durationMs: 1.25,
  requestId: 'req-1',
};

/** A LineWriter whose sink records each write (one element per flush). */
function recorder(): { out: LineWriter; writes: string[]; lines(): Record<string, unknown>[] } {
  const writes: string[] = [];
  const out = new LineWriter((text) => writes.push(text));
  return {
    out,
    writes,
    lines: () =>
      writes
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('createAccessLog', () => {
  it('writes the line winston writes for logger.info("request", entry): same keys, same order', async () => {
    const viaWinston = recorder();
    createLogging('info', { model: 'm' }, viaWinston.out).logger.info('request', { ...entry });
    const direct: string[] = [];
    createAccessLog('info', { model: 'm' }, (l) => direct.push(l))(entry);
    await turn();
    const [expected] = viaWinston.lines();
    const actual = JSON.parse(direct[0]!) as Record<string, unknown>;
    expect(direct[0]!.endsWith('}\n')).toBe(true);
    expect(Object.keys(actual)).toEqual(Object.keys(expected!));
    expect({ ...actual, timestamp: 0 }).toEqual({ ...expected, timestamp: 0 });
    expect(actual.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('adds the caller after the request id when there is one, as winston would', async () => {
    const withCaller = { ...entry, caller: 'ci"key' };
    const viaWinston = recorder();
    createLogging('info', { model: 'm' }, viaWinston.out).logger.info('request', { ...withCaller });
    const direct: string[] = [];
    createAccessLog('info', { model: 'm' }, (l) => direct.push(l))(withCaller);
    await turn();
    const [expected] = viaWinston.lines();
    const actual = JSON.parse(direct[0]!) as Record<string, unknown>;
    expect(Object.keys(actual)).toEqual(Object.keys(expected!));
    expect(actual.caller).toBe('ci"key');
  });

  it('escapes what clients control (path, request id) into valid JSON', () => {
    const lines: string[] = [];
    const nasty = { ...entry, path: '/v2/"x"\n\\', requestId: 'a"b\u0000c' };
    createAccessLog('debug', { model: 'm"1' }, (l) => lines.push(l))(nasty);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.indexOf('\n')).toBe(lines[0]!.length - 1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      model: 'm"1',
      path: nasty.path,
      requestId: nasty.requestId,
    });
  });

  it('writes nothing below level info, as winston would not', () => {
    for (const level of ['warn', 'error']) {
      const lines: string[] = [];
      createAccessLog(level, {}, (l) => lines.push(l))(entry);
      expect(lines).toEqual([]);
    }
  });
});

describe('LineWriter', () => {
  it('writes the lines of one event-loop turn in one call, in order', async () => {
    const r = recorder();
    r.out.write('{"n":1}\n');
    r.out.write('{"n":2}\n');
    expect(r.writes).toEqual([]);
    await turn();
    expect(r.writes).toEqual(['{"n":1}\n{"n":2}\n']);
    r.out.write('{"n":3}\n');
    await turn();
    expect(r.writes).toHaveLength(2);
    expect(r.lines().map((l) => l.n)).toEqual([1, 2, 3]);
  });

  it('writes at once past 64 KiB, and flush() writes the rest synchronously', () => {
    const r = recorder();
    const line = `${JSON.stringify({ pad: 'x'.repeat(1000) })}\n`;
    for (let i = 0; i < 70; i++) r.out.write(line);
    expect(r.writes).toHaveLength(1);
    expect(r.writes[0]!.length).toBeGreaterThanOrEqual(65_536);
    r.out.flush();
    expect(r.writes.join('')).toBe(line.repeat(70));
  });

  it('keeps winston lines and access lines in the order they were written', async () => {
    const r = recorder();
    const { logger, access } = createLogging('info', { model: 'm' }, r.out);
    logger.info('first');
    access(entry);
    logger.warn('third');
    await turn();
    expect(r.lines().map((l) => l.message)).toEqual(['first', 'request', 'third']);
  });
});
