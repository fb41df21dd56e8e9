import { readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { Pki } from './pki.js';

/** Writes an admin kubeconfig with the CA and client certificate embedded, so it stays valid when copied. */
export function writeAdminKubeconfig(
  path: string,
  server: string,
  pki: Pki,
  contextName = 'modelship-local',
): void {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: contextName, cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: 'admin',
        user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: contextName, user: 'admin', namespace: 'default' } }],
    'current-context': contextName,
  };
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
}
