/**
 * The lifecycle of a served model as one pure transition function, and the holder that applies it:
 *
 *   loading(attempt, lastError) --loaded--> ready --sigterm--> draining --drained--> stopped
 *        |  ^ loadFailed(retry)              |                    ^
 *        |  +-----------+                    +--workerDied--> failed --sigterm--+
 *        +--loadFailed(final)--> failed
 *
 * The loader (loader.ts) reports loadFailed and loaded, main.ts workerDied, sigterm and drained; the registry reads
 * the state to answer readiness and to find the model a request runs on. `S` is what a ready model serves with (the
 * registry's Serving); it is opaque here, so the table test uses plain strings.
 */

export type ModelState<S> =
  /** Fetching, creating the session, warming up; `lastError` says why the previous attempt failed. */
  | { phase: 'loading'; attempt: number; lastError?: string }
  | { phase: 'ready'; serving: S }
  /**
   * Shutting down: never ready again. Requests already arriving on open connections are still answered while
   * `serving` is there (it is when the model was ready), so a client in the middle of a keep-alive exchange gets
   * its answer rather than a 503.
   */
  | { phase: 'draining'; serving?: S }
  | { phase: 'stopped' }
  /** Loading gave up (`while: 'loading'`) or the onnxruntime worker of a ready model died (`'serving'`). */
  | { phase: 'failed'; while: 'loading' | 'serving'; error: string };

export type ModelEvent<S> =
  /** A load attempt failed; `retry` when another attempt follows. */
  | { type: 'loadFailed'; error: string; retry: boolean }
  | { type: 'loaded'; serving: S }
  | { type: 'workerDied'; error: string }
  /** SIGTERM or SIGINT, or the process giving up: stop being ready, drain. */
  | { type: 'sigterm' }
  /** Nothing is in flight any more (or the drain timed out): the server closes. */
  | { type: 'drained' };

export type Phase = ModelState<unknown>['phase'];
export type EventType = ModelEvent<unknown>['type'];

export type Transition<S> = { ok: true; state: ModelState<S> } | { ok: false; error: string };

const to = <S>(state: ModelState<S>): Transition<S> => ({ ok: true, state });

/** The next state, or why `event` cannot happen in `state` (a bug in the caller, never a runtime condition). */
export function transition<S>(state: ModelState<S>, event: ModelEvent<S>): Transition<S> {
  switch (state.phase) {
    case 'loading':
      switch (event.type) {
        case 'loadFailed':
          return event.retry
            ? to({ phase: 'loading', attempt: state.attempt + 1, lastError: event.error })
            : to({ phase: 'failed', while: 'loading', error: event.error });
        case 'loaded':
          return to({ phase: 'ready', serving: event.serving });
        case 'sigterm':
          return to({ phase: 'draining' });
        default:
          break;
      }
      break;
    case 'ready':
      switch (event.type) {
        case 'workerDied':
          return to({ phase: 'failed', while: 'serving', error: event.error });
        case 'sigterm':
          return to({ phase: 'draining', serving: state.serving });
        default:
          break;
      }
      break;
    case 'draining':
      switch (event.type) {
        // A load that ends during the drain changes nothing (the model is never served again), and a second
        // signal (SIGINT after SIGTERM) is harmless.
        case 'loaded':
        case 'loadFailed':
        case 'sigterm':
          return to(state);
        case 'workerDied':
          // Requests still arriving are refused as not ready rather than failing on a dead worker.
          return to({ phase: 'draining' });
        case 'drained':
          return to({ phase: 'stopped' });
      }
      break;
    case 'failed':
      if (event.type === 'sigterm') return to({ phase: 'draining' });
      break;
    case 'stopped':
      // A load still in progress when the server stopped may still end; it is not served.
      if (event.type === 'loaded' || event.type === 'loadFailed') return to(state);
      break;
  }
  return { ok: false, error: `a model in phase '${state.phase}' cannot take the event '${event.type}'` };
}

/** Holds one model's state; every change goes through `transition`. */
export class ModelLifecycle<S> {
  private current: ModelState<S> = { phase: 'loading', attempt: 1 };

  /** `onChange` sees every new state (main.ts keeps the ready gauge with it). */
  constructor(private readonly onChange: (state: ModelState<S>) => void = () => undefined) {}

  get state(): ModelState<S> {
    return this.current;
  }

  /** Applies `event`. Throws when the state cannot take it: callers only send events their state accepts. */
  dispatch(event: ModelEvent<S>): ModelState<S> {
    const next = transition(this.current, event);
    if (!next.ok) throw new Error(next.error);
    if (next.state !== this.current) {
      this.current = next.state;
      this.onChange(next.state);
    }
    return this.current;
  }
}
