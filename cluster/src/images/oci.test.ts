import { describe, expect, it } from '@jest/globals';
import { umociConfigArgs } from './oci.js';

describe('umociConfigArgs', () => {
  it('repeats the flag for each part of entrypoint, cmd, env, labels and ports', () => {
    expect(
      umociConfigArgs({
        entrypoint: ['/gofakes3', '-backend', 'memory'],
        cmd: ['-initialbucket', 'models'],
        user: '65532:65532',
        env: { PORT: '8080', PATH: '/bin' },
        workdir: '/srv',
        labels: { a: 'b' },
        exposedPorts: ['9000/tcp'],
      }),
    ).toEqual([
      '--architecture',
      'amd64',
      '--os',
      'linux',
      '--config.entrypoint',
      '/gofakes3',
      '--config.entrypoint',
      '-backend',
      '--config.entrypoint',
      'memory',
      '--config.cmd',
      '-initialbucket',
      '--config.cmd',
      'models',
      '--config.user',
      '65532:65532',
      '--config.env',
      'PORT=8080',
      '--config.env',
      'PATH=/bin',
      '--config.workingdir',
      '/srv',
      '--config.label',
      'a=b',
      '--config.exposedports',
      '9000/tcp',
    ]);
  });

  it('sets only the platform for an empty config', () => {
    expect(umociConfigArgs({})).toEqual(['--architecture', 'amd64', '--os', 'linux']);
  });
});
