import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Folders that are never build inputs (dependencies are covered by package-lock.json). */
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage']);
const TS_FILE = /\.(m|c)?tsx?$/;

/** Every file under `dir` (absolute paths), skipping dependency and output folders. */
export function walkFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * A tsconfig include/exclude pattern as a regular expression over slash-separated paths relative to the config's
 * folder (pure). As in tsc: `**\/` is any number of folders, `*` and `?` stay within one, and a pattern without
 * wildcards or extension names a folder and everything below it.
 */
export function tsconfigPattern(pattern: string): RegExp {
  let p = pattern.replace(/^\.\//, '').replace(/\/+$/, '');
  const last = p.split('/').pop() ?? '';
  if (!/[*?]/.test(p) && !/\.[A-Za-z0-9]+$/.test(last)) p = p === '' || p === '.' ? '**/*' : `${p}/**/*`;
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The relative specifiers a TypeScript file imports, re-exports or references (pure; comments may add extras). */
export function relativeSpecifiers(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\bfrom\s*['"](\.{1,2}\/[^'"]*)['"]/g, // import ... from, export ... from (multi-line too)
    /\bimport\s*['"](\.{1,2}\/[^'"]*)['"]/g, // import './side-effect.js'
    /\b(?:import|require)\s*\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*\)/g, // import('./x.js'), require('./x.js')
    /\/\/\/\s*<reference\s+path\s*=\s*['"]([^'"]+)['"]/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.add(m[1]!);
  return [...found];
}

/**
 * The files a relative import specifier may name, in TypeScript's NodeNext order: './x.js' is written for x.ts,
 * './x' (or a folder) for x.ts or x/index.ts (pure).
 */
export function importCandidates(fromFile: string, specifier: string): string[] {
  const base = resolve(dirname(fromFile), specifier);
  const js = /\.(m|c)?js$/.exec(base);
  if (js) {
    const stem = base.slice(0, -js[0].length);
    const ext = js[1] ?? '';
    return [`${stem}.${ext}ts`, ...(ext === '' ? [`${stem}.tsx`] : []), `${stem}.d.${ext}ts`, base];
  }
  if (/\.(json|ts|mts|cts|tsx)$/.test(base)) return [base];
  return [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base];
}

interface TsconfigFiles {
  include?: string[];
  exclude?: string[];
  files?: string[];
}

/** JSON with comments and trailing commas, as tsconfig files may be written (pure). */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = /"(?:[^"\\]|\\.)*"/y;
      end.lastIndex = i;
      const m = end.exec(text);
      if (!m) throw new Error('unterminated string');
      out += m[0];
      i += m[0].length - 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/** include/exclude/files of a tsconfig, inherited through relative `extends` as tsc does. */
function readTsconfig(path: string): TsconfigFiles {
  const config = parseJsonc(readFileSync(path, 'utf8')) as TsconfigFiles & { extends?: string };
  const parent =
    typeof config.extends === 'string' && config.extends.startsWith('.')
      ? readTsconfig(
          resolve(
            dirname(path),
            config.extends.endsWith('.json') ? config.extends : `${config.extends}.json`,
          ),
        )
      : {};
  return {
    include: config.include ?? parent.include,
    exclude: config.exclude ?? parent.exclude,
    files: config.files ?? parent.files,
  };
}

/**
 * The TypeScript files `tsc -p <tsconfig>` reads from the repository: the config's root files (include, exclude and
 * files honoured) and, transitively, every file they import by relative path, which may lie outside the included
 * folders (scripts/ imports test/fixtures/, for instance). Absolute paths, sorted; node_modules is left out.
 * A light reading of the config and the imports rather than the TypeScript API, whose load alone takes a second.
 */
export function compiledFiles(repoRoot: string, tsconfig: string): string[] {
  const root = resolve(repoRoot);
  const config = readTsconfig(join(root, tsconfig));
  // include/exclude/files are relative to the tsconfig's own folder.
  const cfgDir = dirname(join(root, tsconfig));
  const include = (config.include ?? (config.files ? [] : ['**/*'])).map(tsconfigPattern);
  const exclude = (config.exclude ?? ['node_modules']).map(tsconfigPattern);
  // Walk only the folders the include patterns can reach: their fixed prefixes.
  const bases = new Set(
    (config.include ?? ['**/*']).map((p) => {
      const fixed = p.replace(/^\.\//, '').split('/');
      const stop = fixed.findIndex((seg) => /[*?]/.test(seg));
      return join(cfgDir, ...(stop < 0 ? fixed : fixed.slice(0, stop)));
    }),
  );
  const rel = (p: string) => relative(cfgDir, p).split(sep).join('/');
  const roots = [...bases]
    .flatMap((b) => (existsSync(b) && statSync(b).isFile() ? [b] : walkFiles(b)))
    .filter((f) => TS_FILE.test(f))
    .filter((f) => include.some((re) => re.test(rel(f))) && !exclude.some((re) => re.test(rel(f))));
  roots.push(...(config.files ?? []).map((f) => resolve(cfgDir, f)));

  const inRepo = (p: string) =>
    p.startsWith(root + sep) &&
    !relative(root, p)
      .split(sep)
      .some((part) => SKIP_DIRS.has(part));
  const seen = new Set<string>();
  const queue = roots.filter(inRepo);
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    if (!TS_FILE.test(file)) continue;
    for (const spec of relativeSpecifiers(readFileSync(file, 'utf8'))) {
      const hit = importCandidates(file, spec).find((c) => existsSync(c) && statSync(c).isFile());
      if (hit && inRepo(hit) && !seen.has(hit)) queue.push(hit);
    }
  }
  return [...seen].sort();
}

/** Paths relative to the repository root, with forward slashes, sorted and without duplicates. */
export function relativeToRepo(repoRoot: string, paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => relative(repoRoot, p).split(sep).join('/')))].sort();
}
