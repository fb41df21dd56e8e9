/**
 * Opens an s3://bucket/key model for download through the AWS SDK. Credentials come from the SDK's usual
 * chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity (IRSA), shared files,
 * container/instance metadata); endpoint and region from the explicit option, else the AWS_* variables.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ModelFetchError } from './fetch-error.js';
import { networkError } from './fetch-http.js';
import type { OpenedDownload } from './fetch-source.js';
import { redactUri } from './fetch-uri.js';

export interface S3Options {
  /** An S3-compatible endpoint (MinIO, Ceph, ...), e.g. http://minio.storage:9000. */
  endpoint?: string;
  region?: string;
  /** bucket in the path instead of the host name; defaults to true when an endpoint is set. */
  forcePathStyle?: boolean;
}

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

/**
 * The client settings, from the explicit option first, then the environment. Resolved here rather than
 * left to the SDK because path-style addressing depends on whether an endpoint is configured: S3-compatible
 * stores rarely have a wildcard DNS name per bucket.
 */
export function resolveS3Settings(option: S3Options | undefined, env: NodeJS.ProcessEnv): S3Settings {
  const envEndpointsIgnored = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const envEndpoint = envEndpointsIgnored ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const endpoint = option?.endpoint || envEndpoint || undefined;
  // AWS itself redirects to the bucket's region (followRegionRedirects below), so any default works there;
  // S3-compatible stores mostly ignore the region but the signature needs one.
  const region = option?.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  return { endpoint, region, forcePathStyle: option?.forcePathStyle ?? endpoint !== undefined };
}

export async function openS3(
  bucket: string,
  key: string,
  settings: S3Settings,
  shownUri: string,
  signal: AbortSignal,
): Promise<OpenedDownload> {
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
  });
  const where = endpointUrl(settings, bucket);
  const fail = (err: unknown): never => {
    client.destroy();
    if (signal.aborted) throw signal.reason;
    throw s3Error(err, bucket, key, where, shownUri);
  };
  let out;
  try {
    out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  } catch (err) {
    return fail(err);
  }
  const body = out.Body as Readable | undefined;
  if (body === undefined || typeof body.pipe !== 'function') {
    return fail(new Error('the response has no body stream'));
  }
  return {
    body,
    announcedBytes: out.ContentLength,
    sourceError: (err) => s3Error(err, bucket, key, where, shownUri),
    close: () => client.destroy(),
  };
}

/** The URL requests go to, for messages and for naming the host in network errors. */
function endpointUrl(settings: S3Settings, bucket: string): URL {
  try {
    if (settings.endpoint !== undefined) return new URL(settings.endpoint);
  } catch {
    // An invalid endpoint fails in the SDK with its own message; name something sensible meanwhile.
  }
  return new URL(`https://${bucket}.s3.${settings.region}.amazonaws.com`);
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function s3Error(
  err: unknown,
  bucket: string,
  key: string,
  endpoint: URL,
  shownUri: string,
): ModelFetchError {
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const at = `at ${redactUri(endpoint.origin)}`;
  const deny = (what: string): ModelFetchError =>
    new ModelFetchError('access_denied', shownUri, `Access to "${shownUri}" ${at} was refused: ${what}`);

  switch (name) {
    case 'NoSuchKey':
      return new ModelFetchError(
        'not_found',
        shownUri,
        `No object "${key}" in bucket "${bucket}" ${at} ("${shownUri}"): check the key; S3 keys are case-sensitive`,
      );
    case 'NoSuchBucket':
      return new ModelFetchError(
        'not_found',
        shownUri,
        `The bucket "${bucket}" does not exist ${at} ("${shownUri}"): check the bucket name and the endpoint`,
      );
    case 'InvalidAccessKeyId':
      return deny('the access key id is unknown to the store; check AWS_ACCESS_KEY_ID');
    case 'SignatureDoesNotMatch':
      return deny(
        'the request signature does not match; check AWS_SECRET_ACCESS_KEY for the access key in use',
      );
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return deny(
        `the session token is ${name === 'InvalidToken' ? 'invalid' : 'expired'}; check AWS_SESSION_TOKEN`,
      );
    case 'AccessDenied':
      return deny(
        'the credentials in use may not read this object; grant s3:GetObject on it (bucket policy or IAM)',
      );
    case 'CredentialsProviderError':
      return new ModelFetchError(
        'access_denied',
        shownUri,
        `No AWS credentials were found to read "${shownUri}": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
          'or give the pod a service account with a web identity (IRSA)',
      );
    case 'PermanentRedirect':
      return new ModelFetchError(
        'unexpected_response',
        shownUri,
        `The bucket "${bucket}" is not served ${at} in the configured region; set AWS_REGION to the bucket's region`,
      );
  }
  if (status === 404) {
    return new ModelFetchError('not_found', shownUri, `"${shownUri}" was not found ${at} (HTTP 404)`);
  }
  if (status === 401 || status === 403)
    return deny(`the store answered HTTP ${status} (${name || 'no error code'})`);
  if (status !== undefined && status >= 500) {
    return new ModelFetchError(
      'server_error',
      shownUri,
      `The S3 store ${at} failed serving "${shownUri}": HTTP ${status} ${name}; try again later`,
    );
  }
  if (status === undefined && (e.code !== undefined || name === 'Error' || name === 'AggregateError')) {
    return networkError(err, endpoint, shownUri);
  }
  const detail = `${name}${e.message ? `: ${e.message.slice(0, 300)}` : ''}`;
  return new ModelFetchError(
    'unexpected_response',
    shownUri,
    `Cannot download "${shownUri}" ${at}: ${detail}${status !== undefined ? ` (HTTP ${status})` : ''}`,
  );
}
