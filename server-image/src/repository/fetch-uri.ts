/**
 * Model URIs, parsed into where the bytes are. Pure: no I/O, so every rule here is unit-tested.
 *
 *   /models/m.onnx, ./m.onnx, file:///models/m.onnx   a file on this machine, used in place
 *   pvc://claim/dir/m.onnx                            `${pvcRoot}/claim/dir/m.onnx` (the claim mounted there)
 *   http(s)://host/m.onnx                             downloaded into the cache
 *   s3://bucket/dir/m.onnx                            downloaded into the cache
 *
 * pvc:// and s3:// paths are taken literally (no percent-decoding), as `aws s3 cp` and shells do.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFetchError } from './fetch-error.js';

export type ModelSource =
  /** `claim` is set for pvc:// URIs, to say which volume should be mounted when the file is missing. */
  | { kind: 'file'; path: string; claim?: string }
  | { kind: 'http'; url: URL }
  | { kind: 's3'; bucket: string; key: string };

export const DEFAULT_PVC_ROOT = '/mnt/pvc';

// RFC 3986 scheme. Anything shaped like `word:` is a scheme, so `gs://b/k` or `hf:org/model` are refused as
// unsupported instead of being looked up as odd relative file names; such a file is reachable as `./hf:x`.
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
// Kubernetes object names (DNS-1123 subdomain), which PersistentVolumeClaim names are.
const CLAIM_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// Lenient on purpose: S3-compatible stores accept more than AWS's current bucket naming rules.
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function parseModelUri(uri: string, pvcRoot: string = DEFAULT_PVC_ROOT): ModelSource {
  const shown = redactUri(uri);
  const invalid = (why: string): ModelFetchError =>
    new ModelFetchError('invalid_uri', shown, `Invalid model URI "${shown}": ${why}`);

  if (uri.trim() === '') throw invalid('it is empty');
  if (uri !== uri.trim()) throw invalid('it has leading or trailing whitespace');

  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'file', path: resolve(uri) };

  switch (scheme) {
    case 'file': {
      try {
        return { kind: 'file', path: fileURLToPath(uri) };
      } catch (err) {
        throw invalid(`not a local file URL (${(err as Error).message}); use file:///absolute/path`);
      }
    }
    case 'pvc':
      return pvcFile(uri, pvcRoot, invalid);
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw invalid('not a valid URL');
      }
      if (url.hostname === '') throw invalid('the URL has no host');
      return { kind: 'http', url };
    }
    case 's3': {
      const rest = afterSlashes(uri, 's3', invalid);
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      const key = slash < 0 ? '' : rest.slice(slash + 1);
      if (!BUCKET_NAME.test(bucket))
        throw invalid(`"${bucket}" is not a bucket name; expected s3://bucket/key`);
      if (key === '') throw invalid('the object key is missing; expected s3://bucket/key');
      return { kind: 's3', bucket, key };
    }
    default:
      throw new ModelFetchError(
        'unsupported_scheme',
        shown,
        `Unsupported model URI scheme "${scheme}:" in "${shown}": use a local path, file://, pvc://, http://, https:// or s3://`,
      );
  }
}

/** pvc://claim/path -> `${pvcRoot}/claim/path`, refusing paths that resolve outside the claim's directory. */
function pvcFile(
  uri: string,
  pvcRoot: string,
  invalid: (why: string) => ModelFetchError,
): { kind: 'file'; path: string; claim: string } {
  const rest = afterSlashes(uri, 'pvc', invalid);
  const slash = rest.indexOf('/');
  const claim = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  if (!CLAIM_NAME.test(claim)) {
    throw invalid(`"${claim}" is not a PersistentVolumeClaim name; expected pvc://claim-name/path/to/model`);
  }
  if (path === '')
    throw invalid('the path inside the claim is missing; expected pvc://claim-name/path/to/model');
  const claimDir = resolve(pvcRoot, claim);
  // relative() instead of a prefix test: '/mnt/pvc/claim-x' starts with '/mnt/pvc/claim' but is outside it.
  const inside = relative(claimDir, resolve(claimDir, path));
  if (inside === '')
    throw invalid(`"${path}" names the claim itself; expected pvc://claim-name/path/to/model`);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw invalid(`the path "${path}" leaves the claim's directory; ".." and absolute paths are not allowed`);
  }
  return { kind: 'file', path: resolve(claimDir, inside), claim };
}

function afterSlashes(uri: string, scheme: string, invalid: (why: string) => ModelFetchError): string {
  const prefix = `${scheme}://`;
  if (uri.slice(0, prefix.length).toLowerCase() !== prefix) throw invalid(`expected ${prefix}...`);
  return uri.slice(prefix.length);
}

/**
 * The URI as it may appear in messages, logs and metrics: userinfo (user:password@) and query strings
 * (presigned URLs carry signatures and tokens there) are removed, and so is any #fragment.
 * Local paths and file:// URIs are returned unchanged: they hold no secrets and '?' is a legal file name character.
 */
export function redactUri(uri: string): string {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') return uri;
  let out = uri;
  const hash = out.indexOf('#');
  if (hash >= 0) out = out.slice(0, hash);
  const query = out.indexOf('?');
  if (query >= 0) out = `${out.slice(0, query)}?REDACTED`;
  // scheme://user:secret@host/... -> scheme://REDACTED@host/... (only in the authority, before the first '/').
  return out.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?]*)@/, '$1REDACTED@');
}
