import { describe, expect, it } from '@jest/globals';
import {
  mayAcquire,
  microTime,
  nextRecord,
  recordOf,
  releasedRecord,
  sameRecord,
  type LeaseRecord,
} from './lease.js';

const held: LeaseRecord = {
  holderIdentity: 'pod-a_1',
  leaseDurationSeconds: 15,
  acquireTime: '2024-01-01T00:00:00.000000Z',
  renewTime: '2024-01-01T00:00:10.000000Z',
  leaseTransitions: 3,
};

describe('mayAcquire', () => {
  it.each([
    ['nobody holds it', { ...held, holderIdentity: '' }, 'pod-b_2', 100_000, true],
    ['we hold it', held, 'pod-a_1', 100_000, true],
    ['the holder renewed within leaseDuration of our observation', held, 'pod-b_2', 114_999, false],
    ['the holder has not renewed for leaseDuration as we saw it', held, 'pod-b_2', 115_000, true],
    ['a released lease expires after 1 s', { ...held, leaseDurationSeconds: 1 }, 'pod-b_2', 101_000, true],
  ])('%s → %s', (_why, record, identity, now, expected) => {
    // Observed (changed) at t=100 000 ms on our clock.
    expect(mayAcquire(record, identity, 100_000, now)).toBe(expected);
  });

  it('ignores the renewTime written by the holder: only our observation time counts', () => {
    const renewedLongAgo = { ...held, renewTime: '2000-01-01T00:00:00.000000Z' };
    expect(mayAcquire(renewedLongAgo, 'pod-b_2', 100_000, 100_001)).toBe(false);
  });
});

describe('nextRecord', () => {
  const now = '2024-01-01T00:01:00.000000Z';

  it('keeps acquireTime and transitions when the holder renews', () => {
    expect(nextRecord(held, 'pod-a_1', 15, now)).toEqual({ ...held, renewTime: now });
  });

  it('counts a transition when another candidate takes over, or takes a released lease', () => {
    expect(nextRecord(held, 'pod-b_2', 15, now)).toEqual({
      holderIdentity: 'pod-b_2',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 4,
    });
    const released = releasedRecord(held, now);
    expect(released).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 3,
    });
    expect(nextRecord(released, 'pod-b_2', 15, now).leaseTransitions).toBe(4);
  });

  it('starts at 0 transitions on a new lease', () => {
    expect(nextRecord(undefined, 'pod-a_1', 15, now).leaseTransitions).toBe(0);
  });
});

describe('records', () => {
  it('reads missing fields of a Lease as no holder and no transitions', () => {
    expect(recordOf({ spec: {} })).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 0,
      leaseTransitions: 0,
    });
    expect(recordOf({ spec: { ...held, preferredHolder: 'x' } })).toEqual(held);
  });

  it('tells a renewal apart from an unchanged record', () => {
    expect(sameRecord(held, { ...held })).toBe(true);
    expect(sameRecord(held, { ...held, renewTime: '2024-01-01T00:00:12.000000Z' })).toBe(false);
    expect(sameRecord(undefined, held)).toBe(false);
  });

  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2024, 4, 1, 10, 0, 0, 123))).toBe('2024-05-01T10:00:00.123000Z');
  });
});
