import { jest } from '@jest/globals';

// Pods start in seconds, but a first image import, a rollout under load or a garbage collection can take
// tens of seconds on a busy 2-core machine; each test still bounds its own waits.
jest.setTimeout(180_000);
