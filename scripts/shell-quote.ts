/**
 * Commands printed for people to copy: quoted so that pasting them into bash runs exactly the argv that was run
 * (pure functions).
 */

/** Characters that never mean anything to bash inside a word: no expansion, globbing, splitting or comment. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** In single quotes, where nothing is special but the quote itself: it closes, is escaped, and reopens. */
const singleQuoted = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** One word for bash: as it is when nothing in it is special, else in single quotes (a ' becomes '\''). */
export function shellQuote(word: string): string {
  return SAFE_WORD.test(word) ? word : singleQuoted(word);
}

/**
 * A command line for bash. With `stdin`, the command reads it from a here-document whose quoted delimiter turns
 * off every expansion inside, so the text arrives as written (with a final newline added if it lacked one).
 */
export function shellCommand(argv: readonly string[], stdin?: string): string {
  // A first word with `=` would be read as a variable assignment, not as the command.
  const words = argv.map((w, i) => (i === 0 && w.includes('=') ? singleQuoted(w) : shellQuote(w)));
  const line = words.join(' ');
  if (stdin === undefined) return line;
  const lines = new Set(stdin.split('\n'));
  let delimiter = 'EOF';
  for (let i = 1; lines.has(delimiter); i++) delimiter = `EOF${i}`;
  return `${line} <<'${delimiter}'\n${stdin}${stdin.endsWith('\n') ? '' : '\n'}${delimiter}`;
}
