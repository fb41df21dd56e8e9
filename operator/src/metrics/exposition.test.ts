import { describe, expect, it } from '@jest/globals';
import { parseExposition } from './exposition.js';

describe('parseExposition', () => {
  it('reads counters, histograms and labels as prom-client writes them', () => {
    const text = `# HELP modelship_router_requests_total Requests
# TYPE modelship_router_requests_total counter
modelship_router_requests_total{backend="iris-abc",code="2xx"} 12
modelship_router_requests_total{backend="iris-abc",code="5xx"} 3
modelship_router_request_duration_seconds_bucket{le="0.005",backend="iris-abc"} 10
modelship_router_request_duration_seconds_bucket{le="+Inf",backend="iris-abc"} 15
process_start_time_seconds 1.7e9
`;
    expect(parseExposition(text)).toEqual([
      { name: 'modelship_router_requests_total', labels: { backend: 'iris-abc', code: '2xx' }, value: 12 },
      { name: 'modelship_router_requests_total', labels: { backend: 'iris-abc', code: '5xx' }, value: 3 },
      {
        name: 'modelship_router_request_duration_seconds_bucket',
        labels: { le: '0.005', backend: 'iris-abc' },
        value: 10,
      },
      {
        name: 'modelship_router_request_duration_seconds_bucket',
        labels: { le: '+Inf', backend: 'iris-abc' },
        value: 15,
      },
      { name: 'process_start_time_seconds', labels: {}, value: 1.7e9 },
    ]);
  });

  it('unescapes label values with quotes, commas, braces and newlines', () => {
    const [s] = parseExposition('m{a="x\\"y,z}",b="line\\nnext"} 1 1700000000000');
    expect(s).toEqual({ name: 'm', labels: { a: 'x"y,z}', b: 'line\nnext' }, value: 1 });
  });

  it('skips lines it cannot read instead of failing the whole scrape', () => {
    expect(parseExposition('broken{a="x} 1\nok 2\nnovalue\nbad name 3\nm{a="1"} notanumber')).toEqual([
      { name: 'ok', labels: {}, value: 2 },
    ]);
  });
});
