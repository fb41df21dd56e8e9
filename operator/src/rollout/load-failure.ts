/**
 * Load failures the serving runtime names, read from a container's termination message (its last log lines, with
 * terminationMessagePolicy FallbackToLogsOnError): a model that will never load as it is, whatever the number of
 * restarts, gets a reason of its own and the server's own words, not the last lines of a generic crash. Pure.
 */

/** The server's phrase (server-image, model verification) and the condition reason it becomes. */
const known: { pattern: RegExp; reason: string }[] = [
  { pattern: /signature verification failed: .*/, reason: 'SignatureVerificationFailed' },
];

/** The text of a log line: a JSON line's message (winston), or the line as it is. */
function textOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const parsed = JSON.parse(line) as { message?: unknown; error?: unknown };
    return [parsed.message, parsed.error].filter((x) => typeof x === 'string').join(': ') || line;
  } catch {
    return line;
  }
}

/** The reason and the server's sentence for a known load failure in `message`, the last one if several. */
export function knownLoadFailure(
  message: string | undefined,
): { reason: string; detail: string } | undefined {
  if (!message) return undefined;
  const lines = message.split('\n').filter((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const text = textOf(lines[i]!.trim());
    for (const k of known) {
      const m = k.pattern.exec(text);
      if (m) return { reason: k.reason, detail: m[0].slice(0, 600) };
    }
  }
  return undefined;
}
