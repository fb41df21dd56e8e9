import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package version (from package.json, found from sources and from dist/ alike). */
export const packageVersion: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'modelship' && pkg.version) return pkg.version;
    } catch {
      // keep looking upwards
    }
  }
  return '0.0.0';
})();

/** The serving image this operator version ships with (server-image/Dockerfile, built and tagged by make). */
export const defaultServerImage = `modelship/server:${packageVersion}`;
