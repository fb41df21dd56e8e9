import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { corefile } from '../node/coredns.js';
import { clusterDir, readVersions } from '../versions.js';
import { checkPinnedVersion, COREDNS_SOURCE, requiredVersion } from './coredns.js';

const source = (file: string) => readFileSync(join(clusterDir, COREDNS_SOURCE, file), 'utf8');

/** The directives of a Corefile's server blocks: the first word of each line one level deep (pure). */
function corefileDirectives(text: string): string[] {
  const found = new Set<string>();
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (depth === 1 && line && line !== '}') found.add(line.split(/\s+/)[0]!);
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
  }
  return [...found];
}

/** The directive list and the imported plugin packages of cluster/images/coredns/main.go. */
function builtPlugins(mainGo: string): { directives: string[]; packages: string[] } {
  const list = /var directives = \[\]string\{([^}]*)\}/.exec(mainGo)?.[1] ?? '';
  return {
    directives: [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!),
    packages: [...mainGo.matchAll(/_ "github\.com\/coredns\/coredns\/plugin\/([^"]+)"/g)].map((m) => m[1]!),
  };
}

/** The package of a directive's plugin: upstream's plugin.cfg names them alike except prometheus. */
const packageOf = (directive: string) => (directive === 'prometheus' ? 'metrics' : directive);

describe('the CoreDNS build', () => {
  const built = builtPlugins(source('main.go'));

  it('has every plugin the node Corefile uses', () => {
    const used = corefileDirectives(corefile);
    expect(used).toEqual(
      expect.arrayContaining(['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'cache']),
    );
    for (const directive of used) expect(built.directives).toContain(directive);
  });

  it('imports exactly the plugins of its directives', () => {
    expect([...built.packages].sort()).toEqual(built.directives.map(packageOf).sort());
  });

  it("builds the CoreDNS version that versions.env pins (the image's tag)", () => {
    const version = readVersions().COREDNS_VERSION!;
    expect(requiredVersion(source('go.mod'), 'github.com/coredns/coredns')).toBe(version);
    expect(() => checkPinnedVersion(source('go.mod'), version)).not.toThrow();
  });

  it('refuses a go.mod that builds another version, saying how to fix it', () => {
    const goMod = 'module x\n\ngo 1.25.0\n\nrequire github.com/coredns/coredns v1.14.6\n';
    expect(() => checkPinnedVersion(goMod, 'v1.14.7')).toThrow(
      /requires github.com\/coredns\/coredns v1.14.6 but cluster\/versions.env pins COREDNS_VERSION=v1.14.7.*go get github.com\/coredns\/coredns@v1.14.7/,
    );
    expect(
      requiredVersion('require (\n\tgithub.com/coredns/coredns v1.2.3\n)\n', 'github.com/coredns/coredns'),
    ).toBe('v1.2.3');
    expect(
      requiredVersion('require github.com/coredns/corednsx v9.9.9\n', 'github.com/coredns/coredns'),
    ).toBe(undefined);
  });
});
