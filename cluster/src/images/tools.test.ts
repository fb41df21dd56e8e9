import { describe, expect, it } from '@jest/globals';
import { mountsUnder } from './tools.js';

const mountinfo = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '90 22 0:50 / /tmp/cache/build/rootfs/proc rw - proc proc rw',
  '91 22 0:51 / /tmp/cache/build/rootfs/dev rw - tmpfs tmpfs rw',
  '92 91 0:52 / /tmp/cache/build/rootfs/dev/pts rw - devpts devpts rw',
  '93 22 0:53 / /tmp/cache/build2 rw - tmpfs tmpfs rw',
  '94 22 0:54 / /tmp/cache/with\\040space rw - tmpfs tmpfs rw',
].join('\n');

describe('mountsUnder', () => {
  it('lists mounts inside a folder, deepest first, and not those of a sibling with the same prefix', () => {
    expect(mountsUnder(mountinfo, '/tmp/cache/build')).toEqual([
      '/tmp/cache/build/rootfs/dev/pts',
      '/tmp/cache/build/rootfs/proc',
      '/tmp/cache/build/rootfs/dev',
    ]);
  });

  it('includes the folder itself and decodes escaped spaces', () => {
    expect(mountsUnder(mountinfo, '/tmp/cache/build2/')).toEqual(['/tmp/cache/build2']);
    expect(mountsUnder(mountinfo, '/tmp/cache/with space')).toEqual(['/tmp/cache/with space']);
    expect(mountsUnder(mountinfo, '/srv')).toEqual([]);
  });
});
