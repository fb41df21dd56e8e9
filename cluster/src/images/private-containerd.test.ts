import { describe, expect, it } from '@jest/globals';
import { containerdConfig, ctrRunArgs } from './private-containerd.js';

describe('containerdConfig', () => {
  const toml = containerdConfig('/tmp/ctd');

  it('keeps root, state, sockets and plugin folders under its own folder', () => {
    expect(toml).toContain('root = "/tmp/ctd/root"');
    expect(toml).toContain('state = "/tmp/ctd/state"');
    expect(toml).toContain('address = "/tmp/ctd/containerd.sock"');
    expect(toml).toContain('address = "/tmp/ctd/containerd.sock.ttrpc"');
    expect(toml).toContain('path = "/tmp/ctd/opt"');
    expect(toml).toContain('conf_dir = "/tmp/ctd/cni"');
    expect(toml).not.toMatch(/\/run\/containerd|\/var\/lib\/containerd|\/opt\/containerd|\/etc\/cni/);
  });

  it('restricts oom_score_adj (root here lacks CAP_SYS_RESOURCE)', () => {
    expect(toml).toMatch(/^\s*restrict_oom_score_adj = true$/m);
  });
});

describe('ctrRunArgs', () => {
  it('puts every flag before the image and id, and the command after them', () => {
    expect(
      ctrRunArgs(
        {
          image: 'modelship.local/s3:1',
          id: 's3',
          args: ['/gofakes3', '-host', '127.0.0.1:9000'],
          netHost: true,
          readOnly: true,
          binds: [
            { src: '/tmp/m', dst: '/models' },
            { src: '/tmp/w', dst: '/w', readOnly: false },
          ],
          tmpfs: ['/tmp'],
          env: { A: 'b' },
        },
        '/parent',
      ),
    ).toEqual([
      'run',
      '--rm',
      '--cgroup',
      '/parent/s3',
      '--net-host',
      '--read-only',
      '--mount',
      'type=bind,src=/tmp/m,dst=/models,options=rbind:ro',
      '--mount',
      'type=bind,src=/tmp/w,dst=/w,options=rbind:rw',
      '--mount',
      'type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777',
      '--env',
      'A=b',
      'modelship.local/s3:1',
      's3',
      '/gofakes3',
      '-host',
      '127.0.0.1:9000',
    ]);
  });

  it("runs the image's own entrypoint when no command is given", () => {
    expect(ctrRunArgs({ image: 'i', id: 'c' }, '/p')).toEqual(['run', '--rm', '--cgroup', '/p/c', 'i', 'c']);
  });
});
