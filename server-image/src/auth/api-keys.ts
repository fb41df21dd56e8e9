/**
 * API keys (pure): each key is kept as the sha256 of its bytes, never as the key itself, and a presented key is
 * hashed and compared with every known hash in constant time (crypto.timingSafeEqual, no early exit), so neither
 * the comparison's timing nor the key set gives a key away. (A key in use is in memory like any request header:
 * authenticator.ts also holds the one accepted on an open connection, for that connection.) Several keys may be
 * valid at once (rotation).
 *
 * A key file's content is the key itself, or `sha256:<64 lowercase hex>` of it (a Secret that never holds the
 * key), trimmed; its file name is the key's name: the caller's identity in logs and metrics.
 */
import { hash, timingSafeEqual } from 'node:crypto';

export interface ApiKey {
  name: string;
  /** sha256 of the key's UTF-8 bytes. */
  hash: Buffer;
}

const HASHED = /^sha256:([0-9a-f]{64})$/;
/** What a key file's name may be: it becomes a log field and a metric label value. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,252}$/;

/** One-shot crypto.hash: a little cheaper than createHash().update().digest(); it runs once per key and connection. */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** One key file: the key, or why it is skipped (the message never holds the content). */
export function parseKeyFile(name: string, content: string): ApiKey | { skipped: string } {
  if (!KEY_NAME.test(name))
    return { skipped: 'the file name is not a key name (letters, digits, . _ @ -, at most 253)' };
  const text = content.trim();
  if (text === '') return { skipped: 'the file is empty' };
  if (text.startsWith('sha256:')) {
    const m = HASHED.exec(text);
    if (!m) return { skipped: 'a sha256: key must be sha256:<64 lowercase hexadecimal digits>' };
    return { name, hash: Buffer.from(m[1]!, 'hex') };
  }
  if (/\s/.test(text)) return { skipped: 'the key holds blanks' };
  return { name, hash: sha256(text) };
}

export class ApiKeySet {
  private readonly hashes: readonly Buffer[];
  private readonly names: readonly string[];

  constructor(keys: readonly ApiKey[]) {
    this.hashes = keys.map((k) => k.hash);
    this.names = keys.map((k) => k.name);
  }

  get size(): number {
    return this.hashes.length;
  }

  keyNames(): readonly string[] {
    return this.names;
  }

  /** The name of the key `presented` is, or undefined. Every known key is compared, whatever matches. */
  lookup(presented: string): string | undefined {
    const hash = sha256(presented);
    let found = -1;
    for (let i = 0; i < this.hashes.length; i++)
      if (timingSafeEqual(hash, this.hashes[i]!) && found === -1) found = i;
    return found === -1 ? undefined : this.names[found];
  }
}
