import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { silentLogger } from '../telemetry/logger.js';
import { FakeApi } from './testing/fake-api.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';
import { Informer, type InformerOptions } from './informer.js';

const key = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
const rv = (o: KubernetesObject) => o.metadata?.resourceVersion;
const httpError = (statusCode: number) => Object.assign(new Error(`HTTP ${statusCode}`), { statusCode });
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });

function setup(options: Partial<InformerOptions<KubernetesObject>> = {}) {
  const api = new FakeApi();
  const clock = new FakeClock();
  const registry = new Registry();
  const informer = new Informer<KubernetesObject>({
    name: 'configmaps',
    logger: silentLogger(),
    registry,
    clock,
    random: () => 0,
    transport: api,
    pageSize: 2,
    ...options,
  });
  const events: string[] = [];
  informer.on('add', (o) => events.push(`add ${key(o)}@${rv(o)}`));
  informer.on('update', (o, old) => events.push(`update ${key(o)}@${rv(old)}->${rv(o)}`));
  informer.on('delete', (o) => events.push(`delete ${key(o)}`));
  const restarts = async () => {
    const metric = await registry.getSingleMetric('modelship_operator_watch_restarts_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
  };
  /** Starts the informer and waits until it has synced. */
  const sync = async () => {
    const started = informer.start();
    await flushMicrotasks();
    await started;
  };
  return { api, clock, registry, informer, events, restarts, sync };
}

describe('Informer: initial sync', () => {
  it('lists every page, reports each object as added, then watches from the list resourceVersion', async () => {
    const { api, informer, events, sync } = setup();
    api.put('default', 'a');
    api.put('default', 'b');
    api.put('other', 'c');
    expect(informer.hasSynced()).toBe(false);
    await sync();
    expect(informer.hasSynced()).toBe(true);
    expect(api.lists.map((l) => [l.namespace, l.limit, l.continueToken])).toEqual([
      [undefined, 2, undefined],
      [undefined, 2, '2'],
    ]);
    expect(events).toEqual(['add default/a@101', 'add default/b@102', 'add other/c@103']);
    expect(informer.list().map(key).sort()).toEqual(['default/a', 'default/b', 'other/c']);
    expect(informer.list('default').map(key).sort()).toEqual(['default/a', 'default/b']);
    expect(informer.get('other', 'c')?.metadata?.resourceVersion).toBe('103');
    expect(informer.get('other', 'zzz')).toBeUndefined();
    expect(api.watches.map((w) => w.req)).toEqual([
      { namespace: undefined, labelSelector: undefined, resourceVersion: '103', timeoutSeconds: 300 },
    ]);
    await informer.stop();
  });

  it('asks for a server-side timeout between the base and twice the base, at random', async () => {
    const { api, informer, sync } = setup({ random: () => 0.5, watchTimeoutSeconds: 240 });
    await sync();
    expect(api.watches[0]!.req.timeoutSeconds).toBe(360);
    await informer.stop();
  });

  it('returns the same promise from repeated start() calls and refuses to restart after stop()', async () => {
    const { informer } = setup();
    const first = informer.start();
    expect(informer.start()).toBe(first);
    await first;
    await informer.stop();
    expect(() => informer.start()).toThrow(/stopped/);
  });

  it('rejects start() when stopped before it synced', async () => {
    const { api, informer } = setup();
    api.listFailures = [httpError(503)];
    const started = informer.start();
    await flushMicrotasks();
    await informer.stop();
    await expect(started).rejects.toThrow(/stopped before it synced/);
  });
});

describe('Informer: watch events', () => {
  it('applies ADDED, MODIFIED and DELETED to the cache and calls handlers, update with (new, old)', async () => {
    const { api, informer, events, sync } = setup();
    api.put('default', 'a', { v: '1' });
    await sync();
    events.length = 0;
    api.put('default', 'b');
    api.put('default', 'a', { v: '2' });
    api.delete('default', 'b');
    expect(events).toEqual(['add default/b@102', 'update default/a@101->103', 'delete default/b']);
    expect(informer.list().map(key)).toEqual(['default/a']);
    expect((informer.get('default', 'a') as { data?: unknown }).data).toEqual({ v: '2' });
    await informer.stop();
  });

  it('tracks the resourceVersion of bookmarks and resumes from it without calling handlers', async () => {
    const { api, informer, events, sync, restarts } = setup({ namespaces: ['watched'] });
    api.put('watched', 'a');
    await sync();
    expect(api.watches[0]!.req.resourceVersion).toBe('101');
    // Changes elsewhere move the server's resourceVersion; the bookmark tells us so.
    api.put('elsewhere', 'x');
    api.put('elsewhere', 'y');
    api.bookmark();
    api.closeAll(); // the server-side timeout ran out
    await flushMicrotasks();
    expect(api.watches.map((w) => w.req.resourceVersion)).toEqual(['101', '103']);
    expect(events).toEqual(['add watched/a@101']);
    expect(await restarts()).toEqual({ expired: 1 });
    expect(api.lists).toHaveLength(1);
    await informer.stop();
  });

  it('resumes a watch that the server ended from the last event, without listing again and without delay', async () => {
    const { api, informer, events, sync, clock } = setup();
    await sync();
    api.put('default', 'a');
    await clock.advance(60_000);
    api.closeAll();
    await flushMicrotasks();
    expect(api.watches.map((w) => w.req.resourceVersion)).toEqual(['100', '101']);
    expect(clock.pendingDelays().filter((d) => d < 300_000)).toEqual([]);
    api.put('default', 'b');
    expect(events).toEqual(['add default/a@101', 'add default/b@102']);
    expect(api.lists).toHaveLength(1);
    await informer.stop();
  });
});

describe('Informer: 410 Gone', () => {
  async function missedChanges(gone: 'event' | 'status') {
    const s = setup();
    const { api, events, sync, clock } = s;
    api.put('default', 'unchanged');
    api.put('default', 'modified');
    api.put('default', 'deleted');
    await sync();
    events.length = 0;
    // The connection drops; while we back off, objects change and the server compacts its history.
    api.breakAll(refused());
    api.put('default', 'modified', { v: '2' });
    api.delete('default', 'deleted');
    api.put('default', 'added');
    if (gone === 'event') api.compact();
    else api.watchFailures = [httpError(410)];
    await clock.advance(200);
    return s;
  }

  it.each(['event', 'status'] as const)(
    'lists again after a 410 (%s) and reports exactly what changed meanwhile',
    async (gone) => {
      const { api, informer, events, restarts } = await missedChanges(gone);
      expect(api.lists.filter((l) => !l.continueToken)).toHaveLength(2); // two lists of two pages
      expect(events.sort()).toEqual([
        'add default/added@106',
        'delete default/deleted',
        'update default/modified@102->104',
      ]);
      expect(informer.list().map(key).sort()).toEqual([
        'default/added',
        'default/modified',
        'default/unchanged',
      ]);
      expect(await restarts()).toEqual({ network: 1, gone: 1 });
      // Watching again from the fresh list, and live.
      expect(api.watches.at(-1)!.req.resourceVersion).toBe('106');
      api.put('default', 'later');
      expect(events).toContain('add default/later@107');
      await informer.stop();
    },
  );

  it('backs off instead of listing in a loop when a watch from a fresh list is refused with 410 again', async () => {
    const { api, informer, sync, clock } = setup();
    await sync();
    api.breakAll(httpError(410));
    await flushMicrotasks();
    expect(api.lists).toHaveLength(2); // at once
    api.watchFailures = [httpError(410)];
    api.breakAll(httpError(410));
    await flushMicrotasks();
    expect(api.lists).toHaveLength(2);
    expect(clock.pendingDelays()[0]).toBe(200);
    await clock.advance(200);
    expect(api.lists).toHaveLength(3);
    await informer.stop();
  });
});

describe('Informer: failures', () => {
  it('retries failed watches with exponential backoff, resuming from the last resourceVersion', async () => {
    const { api, informer, sync, clock, restarts } = setup();
    api.put('default', 'a');
    await sync();
    api.watchFailures = [httpError(500), refused(), httpError(403), httpError(503)];
    api.breakAll(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await flushMicrotasks();
      const next = clock.pendingDelays().filter((d) => d < 300_000)[0]!;
      delays.push(next);
      await clock.advance(next);
    }
    expect(delays).toEqual([200, 400, 800, 1600, 3200]);
    expect(api.watches.map((w) => w.req.resourceVersion)).toEqual(Array(6).fill('101'));
    expect(api.open()).toHaveLength(1);
    expect(api.lists).toHaveLength(1);
    expect(await restarts()).toEqual({ network: 2, http_5xx: 2, forbidden: 1 });
    await informer.stop();
  });

  it('caps the delay at 30 s and never gives up', async () => {
    const { api, informer, sync, clock } = setup();
    await sync();
    api.watchFailures = Array.from({ length: 20 }, () => httpError(500));
    api.breakAll(httpError(500));
    const delays: number[] = [];
    for (let i = 0; i < 21; i++) {
      await flushMicrotasks();
      const next = clock.pendingDelays().filter((d) => d < 300_000)[0]!;
      delays.push(next);
      await clock.advance(next);
    }
    expect(delays.slice(0, 9)).toEqual([200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
    expect(new Set(delays.slice(8))).toEqual(new Set([30_000]));
    expect(api.open()).toHaveLength(1);
    await informer.stop();
  });

  it('adds jitter to the backoff', async () => {
    const { api, informer, sync, clock } = setup({ random: () => 0.5 });
    await sync();
    api.watchFailures = [httpError(500)];
    api.breakAll(httpError(500));
    await flushMicrotasks();
    expect(clock.pendingDelays().filter((d) => d < 300_000)[0]).toBe(220); // 200 × (1 + 0.2 × 0.5)
    await informer.stop();
  });

  it('starts the backoff over after a healthy watch', async () => {
    const { api, informer, sync, clock } = setup();
    await sync();
    api.watchFailures = [httpError(500), httpError(500)];
    api.breakAll(httpError(500));
    await clock.advance(200);
    await clock.advance(400);
    await clock.advance(800); // third reconnect succeeds
    expect(api.open()).toHaveLength(1);
    api.put('default', 'a'); // the watch delivers: healthy
    api.breakAll(httpError(500));
    await flushMicrotasks();
    expect(clock.pendingDelays().filter((d) => d < 300_000)[0]).toBe(200);
    await informer.stop();
  });

  it('backs off when the server keeps ending watches at once without sending anything', async () => {
    const { api, informer, sync, clock, restarts } = setup();
    await sync();
    api.closeAll();
    await flushMicrotasks();
    expect(clock.pendingDelays().filter((d) => d < 300_000)[0]).toBe(200);
    expect(await restarts()).toEqual({ closed_early: 1 });
    await informer.stop();
  });

  it('replaces a watch on which nothing arrives, not even its end, after its timeout plus a grace period', async () => {
    const { api, informer, sync, clock, restarts } = setup({
      watchTimeoutSeconds: 60,
      watchStallGraceMs: 5000,
    });
    await sync();
    const first = api.watches[0]!;
    await clock.advance(64_999);
    expect(first.aborted).toBe(false);
    await clock.advance(1);
    expect(first.aborted).toBe(true);
    expect(await restarts()).toEqual({ stalled: 1 });
    await clock.advance(200);
    expect(api.open()).toHaveLength(1);
    await informer.stop();
  });

  it('retries a failing initial list (e.g. 403 until RBAC is fixed) and syncs once it succeeds', async () => {
    const { api, informer, clock, events, restarts } = setup();
    api.put('default', 'a');
    api.listFailures = [httpError(403), httpError(500)];
    let synced = false;
    void informer.start().then(() => (synced = true));
    await flushMicrotasks();
    expect(synced).toBe(false);
    await clock.advance(200);
    expect(synced).toBe(false);
    await clock.advance(400);
    expect(synced).toBe(true);
    expect(api.lists).toHaveLength(3);
    expect(events).toEqual(['add default/a@101']);
    expect(await restarts()).toEqual({ forbidden: 1, http_5xx: 1 });
    await informer.stop();
  });

  it('restarts the whole list when a later page fails', async () => {
    const { api, informer, clock } = setup();
    for (const n of ['a', 'b', 'c']) api.put('default', n);
    api.listFailures = [undefined, httpError(410)]; // first page fine, then "continue token expired"
    const started = informer.start();
    await clock.advance(200);
    await started;
    expect(api.lists.map((l) => l.continueToken)).toEqual([undefined, '2', undefined, '2']);
    expect(informer.list()).toHaveLength(3);
    await informer.stop();
  });

  it('lists again after a backoff when a watch delivers something malformed, instead of losing events', async () => {
    const { api, informer, sync, clock, restarts, events } = setup();
    await sync();
    for (const w of api.open()) w.onEvent('ADDED', null);
    api.put('default', 'a'); // not seen by the broken watch
    await flushMicrotasks();
    expect(await restarts()).toEqual({ internal: 1 });
    expect(api.lists).toHaveLength(1);
    await clock.advance(200);
    expect(api.lists).toHaveLength(2);
    expect(events).toEqual(['add default/a@101']);
    await informer.stop();
  });

  it('stops during a backoff: cancels the retry, makes no more calls and emits nothing more', async () => {
    const { api, informer, sync, clock, events } = setup();
    await sync();
    api.breakAll(httpError(500));
    await flushMicrotasks();
    expect(clock.pendingDelays().filter((d) => d < 300_000)).toEqual([200]);
    await informer.stop();
    expect(clock.pendingDelays()).toEqual([]);
    const calls = api.watches.length + api.lists.length;
    await clock.advance(60_000);
    expect(api.watches.length + api.lists.length).toBe(calls);
    api.put('default', 'late');
    expect(events).toEqual([]);
  });

  it('aborts the open watch on stop', async () => {
    const { api, informer, sync, clock } = setup();
    await sync();
    await informer.stop();
    expect(api.watches[0]!.aborted).toBe(true);
    expect(clock.pendingDelays()).toEqual([]);
  });
});

describe('Informer: namespaces and selectors', () => {
  it('lists and watches each namespace on its own, merged into one cache, synced when all are', async () => {
    const { api, informer, clock, events } = setup({ namespaces: ['a', 'b'] });
    api.put('a', 'x');
    api.put('b', 'y');
    api.put('c', 'ignored');
    api.listFailures = [httpError(500)]; // namespace a's first list fails
    const started = informer.start();
    await flushMicrotasks();
    expect(informer.hasSynced()).toBe(false);
    expect(informer.list().map(key)).toEqual(['b/y']);
    await clock.advance(200);
    await started;
    expect(informer.hasSynced()).toBe(true);
    expect(informer.list().map(key).sort()).toEqual(['a/x', 'b/y']);
    expect(
      api
        .open()
        .map((w) => w.req.namespace)
        .sort(),
    ).toEqual(['a', 'b']);
    // A 410 in namespace a relists a only and leaves b's objects alone.
    api.delete('a', 'x');
    api.compact();
    for (const w of api.open()) if (w.req.namespace === 'a') w.onEvent('ERROR', { code: 410 });
    await flushMicrotasks();
    expect(api.lists.filter((l) => l.namespace === 'b')).toHaveLength(1);
    expect(informer.list().map(key)).toEqual(['b/y']);
    expect(events).toEqual(['add b/y@102', 'add a/x@101', 'delete a/x']);
    await informer.stop();
  });

  it('passes the label selector to lists and watches', async () => {
    const { api, informer, sync, events } = setup({ labelSelector: 'app=m' });
    api.put('default', 'mine', {}, { app: 'm' });
    api.put('default', 'theirs', {}, { app: 'other' });
    await sync();
    expect(api.lists[0]!.labelSelector).toBe('app=m');
    expect(api.watches[0]!.req.labelSelector).toBe('app=m');
    api.put('default', 'mine2', {}, { app: 'm' });
    api.put('default', 'theirs2', {}, { app: 'x' });
    expect(events).toEqual(['add default/mine@101', 'add default/mine2@103']);
    await informer.stop();
  });

  it('refuses an empty namespace list', () => {
    expect(() => setup({ namespaces: [] })).toThrow(/at least one/);
  });
});

describe('Informer: handlers and indexes', () => {
  it('isolates handlers that throw or reject', async () => {
    const { api, informer, sync, events } = setup();
    informer.on('add', () => {
      throw new Error('handler bug');
    });
    informer.on('add', () => Promise.reject(new Error('async handler bug')));
    const after: string[] = [];
    informer.on('add', (o) => after.push(key(o)));
    await sync();
    api.put('default', 'a');
    api.put('default', 'b');
    await flushMicrotasks();
    expect(after).toEqual(['default/a', 'default/b']);
    expect(events).toEqual(['add default/a@101', 'add default/b@102']);
    expect(informer.list()).toHaveLength(2);
    await informer.stop();
  });

  it('replays cached objects to an add handler registered late, and unregisters handlers', async () => {
    const { api, informer, sync } = setup();
    api.put('default', 'a');
    await sync();
    const late: string[] = [];
    const off = informer.on('add', (o) => late.push(key(o)));
    expect(late).toEqual(['default/a']);
    api.put('default', 'b');
    off();
    api.put('default', 'c');
    expect(late).toEqual(['default/a', 'default/b']);
    await informer.stop();
  });
});
