import { describe, expect, it } from '@jest/globals';
import { parseExposition } from './exposition.js';
import { routerReadings, serverReadings } from './readings.js';

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
