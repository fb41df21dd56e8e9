/**
 * The ca.crt of a Secret the spec names (spec.tls.secretRef), read through the API with `get` (the operator may not
 * list or watch Secrets: it reads exactly the ones a ModelDeployment names, in its own namespace). A short cache keeps
 * scrapes from reading it every second; a rotated CA is picked up within the cache's lifetime.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from './clock.js';
import { kubeRequest } from './http.js';

/** The PEM bundle under ca.crt of Secret `namespace/name`; rejects when there is none. */
export type CaSource = (namespace: string, name: string) => Promise<string>;

/** How long a read CA is used before it is read again. */
export const caCacheMs = 60_000;

/** Reads a Secret (for the caller: its data, base64 as the API returns it). */
export type SecretGetter = (namespace: string, name: string) => Promise<{ data?: Record<string, string> }>;

export function apiSecretGetter(kc: KubeConfig): SecretGetter {
  return async (namespace, name) =>
    (await kubeRequest(kc, {
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      timeoutMs: 5000,
    })) as { data?: Record<string, string> };
}

/** A CaSource over `get`, cached for caCacheMs per Secret. Only ca.crt is kept, never tls.key. */
export function cachedCaSource(get: SecretGetter, clock: Clock): CaSource {
  const cache = new Map<string, { pem: string; at: number }>();
  return async (namespace, name) => {
    const key = `${namespace}/${name}`;
    const hit = cache.get(key);
    if (hit && clock.now() - hit.at < caCacheMs) return hit.pem;
    const secret = await get(namespace, name);
    const b64 = secret.data?.['ca.crt'];
    if (!b64) {
      cache.delete(key);
      throw new Error(`Secret ${key} has no ca.crt to verify the pods' metrics against`);
    }
    const pem = Buffer.from(b64, 'base64').toString('utf8');
    cache.set(key, { pem, at: clock.now() });
    return pem;
  };
}
