import { describe, expect, it } from '@jest/globals';
import { defaultNodePorts, nodePortsFromEnv, resolveNodePorts } from './layout.js';

describe('nodePortsFromEnv', () => {
  it('reads each port from its variable and leaves the others unset', () => {
    expect(nodePortsFromEnv({ MODELSHIP_APISERVER_PORT: '16443', MODELSHIP_KUBELET_PORT: '20250' })).toEqual({
      apiserver: 16443,
      kubelet: 20250,
    });
    expect(nodePortsFromEnv({ MODELSHIP_PROXY_METRICS_PORT: '' })).toEqual({});
  });

  it.each(['abc', '0', '65536', '80.5', '-1', ' 80'])('refuses %j, naming the variable', (value) => {
    expect(() => nodePortsFromEnv({ MODELSHIP_KUBELET_HEALTHZ_PORT: value })).toThrow(
      `MODELSHIP_KUBELET_HEALTHZ_PORT must be a port number (1-65535), not "${value}"`,
    );
  });
});

describe('resolveNodePorts', () => {
  it('applies overrides over the defaults', () => {
    expect(resolveNodePorts()).toEqual(defaultNodePorts);
    expect(resolveNodePorts({ proxyHealthz: 30256 })).toEqual({ ...defaultNodePorts, proxyHealthz: 30256 });
  });

  it('refuses one port for two roles, naming both variables', () => {
    expect(() => resolveNodePorts({ kubelet: 6443 })).toThrow(
      'MODELSHIP_KUBELET_PORT and MODELSHIP_APISERVER_PORT cannot both be 6443',
    );
  });
});
