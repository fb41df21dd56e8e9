import { ModelFetchError } from '../../../src/repository/fetch.js';

/** Awaits a fetch that must fail, and returns its ModelFetchError (anything else fails the test). */
export async function fetchFailure(attempt: Promise<unknown>): Promise<ModelFetchError> {
  try {
    await attempt;
  } catch (err) {
    if (err instanceof ModelFetchError) return err;
    throw new Error(`expected a ModelFetchError, got: ${String(err)}`, { cause: err });
  }
  throw new Error('expected the fetch to fail, but it succeeded');
}
