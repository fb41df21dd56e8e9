import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { shellCommand, shellQuote } from './shell-quote.js';

/** What bash really runs for a printed line: node prints its argv (after -e) and its stdin as JSON. */
function runInBash(line: (printer: string[]) => string): { args: string[]; stdin: string } {
  const printer = [
    process.execPath,
    '-e',
    'let s="";process.stdin.on("data",(c)=>(s+=c)).on("end",()=>process.stdout.write(JSON.stringify({args:process.argv.slice(1),stdin:s})))',
  ];
  const r = spawnSync('bash', ['-c', line(printer)], { encoding: 'utf8', input: '' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { args: string[]; stdin: string };
}

// The demo's own commands, and words that exercise every kind of special character.
const patch = '{"spec":{"model":{"version":"2","storageUri":"pvc://models/iris/2/model.onnx"}}}';
const jsonpath = 'jsonpath={range .status.conditions[*]}{.type}={.status}  {.reason}: {.message}{"\\n"}{end}';
const tricky = [
  patch,
  jsonpath,
  "it's",
  "''",
  '',
  ' ',
  '$HOME',
  '`id`',
  '$(id)',
  '*',
  '~',
  '#not-a-comment',
  'a;b|c&d',
  'x\ny',
  'tab\there',
  '!',
  '\\',
  'ünï',
];

describe('shellQuote', () => {
  it('leaves plain words as they are', () => {
    for (const word of [
      'kubectl',
      'patch',
      '--type=merge',
      '-p',
      'md,deployments',
      '/work/main/crds',
      'a@b:c%d+e',
    ])
      expect(shellQuote(word)).toBe(word);
  });

  it('single-quotes anything special, as the README shows the demo patch', () => {
    expect(shellQuote(patch)).toBe(`'${patch}'`);
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellCommand(['kubectl', 'patch', 'md', 'iris', '--type=merge', '-p', patch])).toBe(
      `kubectl patch md iris --type=merge -p '${patch}'`,
    );
  });

  it('gives bash back exactly the words it was given', () => {
    const { args } = runInBash((printer) => shellCommand([...printer, ...tricky]));
    expect(args).toEqual(tricky);
  });
});

describe('shellCommand', () => {
  it('quotes a first word with = so that bash runs it instead of assigning a variable', () => {
    expect(shellCommand(['A=b', 'c'])).toBe("'A=b' c");
    expect(shellCommand(['c', 'A=b'])).toBe('c A=b');
  });

  it('passes stdin in a here-document that bash does not expand', () => {
    const stdin = 'apiVersion: v1\nname: "$HOME `id` $(id)"\n';
    const line = shellCommand(['kubectl', 'apply', '-f', '-'], stdin);
    expect(line).toBe(`kubectl apply -f - <<'EOF'\n${stdin}EOF`);
    expect(runInBash((printer) => shellCommand(printer, stdin)).stdin).toBe(stdin);
  });

  it('picks a delimiter that the text does not contain, and ends the text with a newline', () => {
    const stdin = 'a\nEOF\nEOF1\nb';
    const line = shellCommand(['cat'], stdin);
    expect(line).toBe(`cat <<'EOF2'\n${stdin}\nEOF2`);
    expect(runInBash((printer) => shellCommand(printer, stdin)).stdin).toBe(`${stdin}\n`);
  });
});
