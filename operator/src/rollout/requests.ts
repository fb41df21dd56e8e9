/**
 * Requests from users (kubectl modelship promote, abort, retry, undo, pause, resume) arrive as one annotation on
 * the ModelDeployment, never as a change of its spec: `modelship.dev/request: {"id": "...", "action": "promote"}`.
 * Each id is handled once; the status says what became of it (status.lastRequest). Pure.
 */
import type { HandledRequest } from '../api/v1alpha1/schema.js';
import type { UserRequest } from './machine.js';

export const requestAnnotation = 'modelship.dev/request';

const actions = ['promote', 'abort', 'retry', 'undo', 'pause', 'resume'] as const;

export type ParsedRequest = { request: UserRequest } | { invalid: HandledRequest };

/** The request in the annotation, unless it was handled already (its id is the last handled one). */
export function pendingRequest(
  annotations: Record<string, string> | undefined,
  last: HandledRequest | undefined,
): ParsedRequest | undefined {
  const text = annotations?.[requestAnnotation];
  if (text === undefined) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
    if (!raw || typeof raw !== 'object') throw new Error('not an object');
  } catch {
    const id = `invalid:${text.slice(0, 64)}`;
    if (last?.id === id) return undefined;
    return { invalid: { id, action: 'invalid', result: `${requestAnnotation} is not a JSON object` } };
  }
  const id = typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined;
  if (id === undefined) {
    const invalidId = `invalid:${text.slice(0, 64)}`;
    if (last?.id === invalidId) return undefined;
    return { invalid: { id: invalidId, action: 'invalid', result: `${requestAnnotation} needs an "id"` } };
  }
  if (last?.id === id) return undefined;
  const action = raw.action;
  if (!actions.includes(action as (typeof actions)[number]))
    return {
      invalid: {
        id,
        action: String(action),
        result: `unknown action ${JSON.stringify(action)}; one of ${actions.join(', ')}`,
      },
    };
  if (action === 'promote') return { request: { id, action, full: raw.full === true } };
  if (action === 'undo')
    return {
      request: { id, action, toRevision: typeof raw.toRevision === 'string' ? raw.toRevision : undefined },
    };
  return { request: { id, action } as UserRequest };
}
