import { describe, expect, it } from '@jest/globals';
import { parseExposition } from './exposition.js';
import { measurementsOf } from './measurements.js';
import { feedbackReadings, routerReadings, serverReadings } from './readings.js';

describe('routerReadings', () => {
  it('counts requests per backend revision, 5xx and connection failures as errors, and the latency buckets', () => {
    const r = routerReadings(
      parseExposition(`
modelship_router_requests_total{revision="a",code="2xx"} 90
modelship_router_requests_total{revision="a",code="4xx"} 5
modelship_router_requests_total{revision="a",code="5xx"} 3
modelship_router_requests_total{revision="a",code="error"} 2
modelship_router_request_duration_seconds_bucket{revision="a",le="0.01"} 80
modelship_router_request_duration_seconds_bucket{revision="a",le="+Inf"} 100
modelship_router_requests_total{revision="b",code="2xx"} 10
process_cpu_seconds_total 4
`),
    );
    expect(r.get('a')).toEqual({
      requests: 100,
      errors: 5,
      buckets: new Map([
        [0.01, 80],
        [Infinity, 100],
      ]),
    });
    expect(r.get('b')).toMatchObject({ requests: 10, errors: 0 });
  });
});

describe('serverReadings', () => {
  it("counts the server's own failures as errors, not the client's", () => {
    const r = serverReadings(
      parseExposition(`
modelship_inference_request_success_total{model="m",version="1",revision="a"} 50
modelship_inference_request_failure_total{model="m",version="1",reason="bad_request",revision="a"} 7
modelship_inference_request_failure_total{model="m",version="1",reason="internal",revision="a"} 3
modelship_inference_request_failure_total{model="_unknown",version="",reason="not_found",revision="a"} 9
modelship_inference_request_duration_seconds_bucket{le="+Inf",model="m",version="1",revision="a"} 60
`),
    );
    expect(r.get('a')).toEqual({ requests: 60, errors: 3, buckets: new Map([[Infinity, 60]]) });
  });
});

describe('ground truth and shadow comparisons', () => {
  it('counts the router comparisons of mirrored requests and the pods’ ground truth', () => {
    const router = routerReadings(
      parseExposition(
        [
          'modelship_router_shadow_requests_total{revision="r2",result="agree"} 40',
          'modelship_router_shadow_requests_total{revision="r2",result="disagree"} 10',
          'modelship_router_shadow_requests_total{revision="r2",result="error"} 3',
          'modelship_router_shadow_requests_total{revision="r2",result="skipped"} 7',
        ].join('\n'),
      ),
    );
    expect(router.get('r2')!.requests).toBe(0);
    expect(Object.fromEntries(router.get('r2')!.counts!)).toEqual({ shadowCompared: 50, shadowAgreed: 40 });
    const feedback = [
      'modelship_feedback_rows_total{model="m",version="2",revision="r2"} 20',
      'modelship_feedback_correct_total{model="m",version="2",revision="r2"} 15',
      'modelship_feedback_absolute_error_sum{model="m",version="2",revision="r2"} 0',
      'modelship_inference_request_success_total{model="m",version="2",revision="r2"} 99',
    ].join('\n');
    const pod = feedbackReadings(parseExposition(feedback)).get('r2')!;
    expect(pod.requests).toBe(0);
    expect(Object.fromEntries(pod.counts!)).toEqual({
      feedbackRows: 20,
      feedbackCorrect: 15,
      feedbackAbsoluteError: 0,
    });
    expect(serverReadings(parseExposition(feedback)).get('r2')!.requests).toBe(99);
  });

  it('turns window counts into accuracy, mean absolute error and agreement', () => {
    const m = measurementsOf({
      requests: 0,
      errors: 0,
      buckets: new Map(),
      spanMs: 1000,
      counts: new Map([
        ['feedbackRows', 20],
        ['feedbackCorrect', 15],
        ['feedbackAbsoluteError', 4],
        ['shadowCompared', 50],
        ['shadowAgreed', 40],
      ]),
    });
    expect(m.accuracy).toEqual({ samples: 20, value: 0.75 });
    expect(m.meanAbsoluteError).toEqual({ samples: 20, value: 0.2 });
    expect(m.agreement).toEqual({ samples: 50, value: 0.8 });
    expect(m.errorRate).toEqual({ samples: 0 });
  });
});
