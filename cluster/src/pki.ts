import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';

/** Files of the cluster's private PKI, all under one directory. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Names and addresses the apiserver certificate is valid for. */
export const apiserverSans = [
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  'IP:127.0.0.1',
  'IP:10.96.0.1',
  'IP:10.244.0.1',
];

/**
 * Creates a CA, an apiserver serving certificate, an admin client certificate (O=system:masters) and a
 * ServiceAccount signing key pair. ECDSA P-256 keys: generated in milliseconds, accepted by every component.
 */
export async function createPki(dir: string): Promise<Pki> {
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    apiserverCert: p('apiserver.crt'),
    apiserverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-days',
    '3650',
    '-subj',
    '/CN=modelship-local-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  await signed(pki, 'apiserver', '/CN=kube-apiserver', [
    `subjectAltName=${apiserverSans.join(',')}`,
    'extendedKeyUsage=serverAuth',
  ]);
  await signed(pki, 'admin', '/O=system:masters/CN=modelship-admin', ['extendedKeyUsage=clientAuth']);
  await run('openssl', [
    'ecparam',
    '-name',
    'prime256v1',
    '-genkey',
    '-noout',
    '-out',
    pki.serviceAccountKey,
  ]);
  await run('openssl', ['ec', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  return pki;
}

async function signed(pki: Pki, name: string, subject: string, extensions: string[]): Promise<void> {
  const key = join(pki.dir, `${name}.key`);
  const csr = join(pki.dir, `${name}.csr`);
  const ext = join(pki.dir, `${name}.ext`);
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  await writeFile(ext, extensions.join('\n') + '\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-out',
    join(pki.dir, `${name}.crt`),
    '-days',
    '3650',
    '-extfile',
    ext,
  ]);
}
