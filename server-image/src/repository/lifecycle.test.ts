import { describe, expect, it } from '@jest/globals';
import {
  ModelLifecycle,
  transition,
  type EventType,
  type ModelEvent,
  type ModelState,
  type Phase,
} from './lifecycle.js';

type State = ModelState<string>;
type Event = ModelEvent<string>;

const states: Record<string, State> = {
  'loading(1)': { phase: 'loading', attempt: 1 },
  'loading(2, lastError)': { phase: 'loading', attempt: 2, lastError: 'refused' },
  ready: { phase: 'ready', serving: 'model-A' },
  'draining(serving)': { phase: 'draining', serving: 'model-A' },
  draining: { phase: 'draining' },
  stopped: { phase: 'stopped' },
  'failed(loading)': { phase: 'failed', while: 'loading', error: 'not found' },
  'failed(serving)': { phase: 'failed', while: 'serving', error: 'worker exited' },
};

const events: Record<string, Event> = {
  'loadFailed(retry)': { type: 'loadFailed', error: 'timeout', retry: true },
  'loadFailed(final)': { type: 'loadFailed', error: 'timeout (attempt 3 of 3)', retry: false },
  loaded: { type: 'loaded', serving: 'model-B' },
  workerDied: { type: 'workerDied', error: 'worker exited (code 1)' },
  sigterm: { type: 'sigterm' },
  drained: { type: 'drained' },
};

const invalid = 'invalid' as const;

/** Every state × every event: the next state, or invalid. */
const table: Record<string, Record<string, State | typeof invalid>> = {
  'loading(1)': {
    'loadFailed(retry)': { phase: 'loading', attempt: 2, lastError: 'timeout' },
    'loadFailed(final)': { phase: 'failed', while: 'loading', error: 'timeout (attempt 3 of 3)' },
    loaded: { phase: 'ready', serving: 'model-B' },
    workerDied: invalid,
    sigterm: { phase: 'draining' },
    drained: invalid,
  },
  'loading(2, lastError)': {
    'loadFailed(retry)': { phase: 'loading', attempt: 3, lastError: 'timeout' },
    'loadFailed(final)': { phase: 'failed', while: 'loading', error: 'timeout (attempt 3 of 3)' },
    loaded: { phase: 'ready', serving: 'model-B' },
    workerDied: invalid,
    sigterm: { phase: 'draining' },
    drained: invalid,
  },
  ready: {
    'loadFailed(retry)': invalid,
    'loadFailed(final)': invalid,
    loaded: invalid,
    workerDied: { phase: 'failed', while: 'serving', error: 'worker exited (code 1)' },
    sigterm: { phase: 'draining', serving: 'model-A' },
    drained: invalid,
  },
  'draining(serving)': {
    'loadFailed(retry)': { phase: 'draining', serving: 'model-A' },
    'loadFailed(final)': { phase: 'draining', serving: 'model-A' },
    loaded: { phase: 'draining', serving: 'model-A' },
    workerDied: { phase: 'draining' },
    sigterm: { phase: 'draining', serving: 'model-A' },
    drained: { phase: 'stopped' },
  },
  draining: {
    'loadFailed(retry)': { phase: 'draining' },
    'loadFailed(final)': { phase: 'draining' },
    loaded: { phase: 'draining' },
    workerDied: { phase: 'draining' },
    sigterm: { phase: 'draining' },
    drained: { phase: 'stopped' },
  },
  stopped: {
    'loadFailed(retry)': { phase: 'stopped' },
    'loadFailed(final)': { phase: 'stopped' },
    loaded: { phase: 'stopped' },
    workerDied: invalid,
    sigterm: invalid,
    drained: invalid,
  },
  'failed(loading)': {
    'loadFailed(retry)': invalid,
    'loadFailed(final)': invalid,
    loaded: invalid,
    workerDied: invalid,
    sigterm: { phase: 'draining' },
    drained: invalid,
  },
  'failed(serving)': {
    'loadFailed(retry)': invalid,
    'loadFailed(final)': invalid,
    loaded: invalid,
    workerDied: invalid,
    sigterm: { phase: 'draining' },
    drained: invalid,
  },
};

const cases = Object.entries(table).flatMap(([s, row]) =>
  Object.entries(row).map(([e, expected]) => [s, e, expected] as const),
);

describe('model lifecycle transitions', () => {
  it('the table covers every phase and every event', () => {
    const phases: Phase[] = ['loading', 'ready', 'draining', 'stopped', 'failed'];
    const types: EventType[] = ['loadFailed', 'loaded', 'workerDied', 'sigterm', 'drained'];
    expect(new Set(Object.values(states).map((s) => s.phase))).toEqual(new Set(phases));
    expect(new Set(Object.values(events).map((e) => e.type))).toEqual(new Set(types));
    expect(Object.keys(table).sort()).toEqual(Object.keys(states).sort());
    for (const row of Object.values(table))
      expect(Object.keys(row).sort()).toEqual(Object.keys(events).sort());
  });

  it.each(cases)('%s + %s', (s, e, expected) => {
    const result = transition(states[s]!, events[e]!);
    if (expected === invalid) {
      expect(result).toEqual({
        ok: false,
        error: `a model in phase '${states[s]!.phase}' cannot take the event '${events[e]!.type}'`,
      });
    } else {
      expect(result).toEqual({ ok: true, state: expected });
    }
  });
});

describe('ModelLifecycle', () => {
  it('starts loading at attempt 1, reports each change once, and refuses invalid events', () => {
    const seen: State[] = [];
    const lifecycle = new ModelLifecycle<string>((s) => seen.push(s));
    expect(lifecycle.state).toEqual({ phase: 'loading', attempt: 1 });
    lifecycle.dispatch({ type: 'loaded', serving: 'm' });
    lifecycle.dispatch({ type: 'sigterm' });
    lifecycle.dispatch({ type: 'sigterm' }); // no change: not reported again
    expect(() => lifecycle.dispatch({ type: 'loaded', serving: 'x' })).not.toThrow();
    lifecycle.dispatch({ type: 'drained' });
    expect(() => lifecycle.dispatch({ type: 'drained' })).toThrow(
      "a model in phase 'stopped' cannot take the event 'drained'",
    );
    expect(lifecycle.state).toEqual({ phase: 'stopped' });
    expect(seen).toEqual([
      { phase: 'ready', serving: 'm' },
      { phase: 'draining', serving: 'm' },
      { phase: 'stopped' },
    ]);
  });
});
