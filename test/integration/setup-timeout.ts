import { jest } from '@jest/globals';

// Real controllers converge in seconds, but garbage collection and watches can take tens of seconds on a
// busy 2-core machine; each test still bounds its own waits with `eventually`.
jest.setTimeout(60_000);
