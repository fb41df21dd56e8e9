import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ApiKeySet, parseKeyFile, type ApiKey } from './api-keys.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const key = (name: string, content: string): ApiKey => parseKeyFile(name, content) as ApiKey;

describe('API key files', () => {
  it('keeps the sha256 of a plaintext key, never the key', () => {
    const k = key('ci', '  s3cret-key\n');
    expect(k.name).toBe('ci');
    expect(k.hash.toString('hex')).toBe(hex('s3cret-key'));
    expect(JSON.stringify(k)).not.toContain('s3cret-key');
  });

  it('takes a sha256:<hex> file as the hash of the key', () => {
    expect(key('batch', `sha256:${hex('other-key')}\n`).hash.toString('hex')).toBe(hex('other-key'));
  });

  it('skips what is not a key, saying why without the content', () => {
    expect(parseKeyFile('ci', ' \n')).toEqual({ skipped: 'the file is empty' });
    expect(parseKeyFile('ci', 'sha256:ABC')).toEqual({
      skipped: 'a sha256: key must be sha256:<64 lowercase hexadecimal digits>',
    });
    expect(parseKeyFile('ci', `sha256:${hex('x').toUpperCase()}`)).toHaveProperty('skipped');
    expect(parseKeyFile('ci', 'two words')).toEqual({ skipped: 'the key holds blanks' });
    expect(parseKeyFile('bad name', 'k')).toHaveProperty('skipped');
    expect(JSON.stringify(parseKeyFile('ci', 'two words'))).not.toContain('words');
  });
});

describe('ApiKeySet', () => {
  const set = new ApiKeySet([
    key('old', 'key-1'),
    key('new', 'key-2'),
    key('hashed', `sha256:${hex('key-3')}`),
  ]);

  it('names the key presented, several keys valid at once', () => {
    expect(set.lookup('key-1')).toBe('old');
    expect(set.lookup('key-2')).toBe('new');
    expect(set.lookup('key-3')).toBe('hashed');
    expect(set.size).toBe(3);
  });

  it('knows no other key, nor a hash presented as a key', () => {
    expect(set.lookup('key-4')).toBeUndefined();
    expect(set.lookup('')).toBeUndefined();
    expect(set.lookup(hex('key-3'))).toBeUndefined();
    expect(set.lookup('key-1 ')).toBeUndefined();
  });

  it('an empty set knows nothing', () => {
    expect(new ApiKeySet([]).lookup('key-1')).toBeUndefined();
  });
});
