/**
 * A private certificate authority for TLS tests, made with the `openssl` command line in a temp dir: a CA, leaf
 * certificates it signs for the names a test connects to, and a Secret volume written the way the kubelet writes
 * one (files behind a `..data` symlink swapped atomically), so that a rotation looks to the server as it does in a
 * pod. Nothing here is trusted by the system: a client trusts the CA only when a test hands it `ca`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeSecret } from '../../src/testing/kubelet-secret.js';

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

export interface KeyPair {
  /** PEM: the leaf, then (with `chain`) the CA. */
  cert: string;
  /** PEM, unencrypted PKCS#8. */
  key: string;
}

export interface TestCa {
  /** The CA certificate (PEM): what a client must trust. */
  ca: string;
  /** Where `ca` is written, e.g. for NODE_EXTRA_CA_CERTS or MODELSHIP_ROUTER_BACKEND_CA_FILE. */
  caFile: string;
  /** A server certificate for `names` (DNS names or IP addresses), signed by this CA. */
  issue(names: string[], opts?: { days?: number }): Promise<KeyPair>;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

const isIp = (name: string) => /^[\d.]+$/.test(name) || name.includes(':');

/** A new CA (EC P-256) in a temp dir of its own. */
export async function createTestCa(commonName = 'Modelship test CA'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-pki-'));
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const caFile = join(dir, 'ca.crt');
  const ca = await readFile(caFile, 'utf8');
  let issued = 0;
  return {
    ca,
    caFile,
    async issue(names, opts = {}) {
      const n = ++issued;
      const san = names.map((name) => (isIp(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
      await writeFile(
        join(dir, `leaf${n}.ext`),
        [
          `subjectAltName=${san}`,
          'basicConstraints=CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth',
        ].join('\n'),
      );
      await openssl(
        [
          'req',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          `leaf${n}.key`,
          '-out',
          `leaf${n}.csr`,
          '-subj',
          `/CN=${names[0]}`,
        ],
        dir,
      );
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          `leaf${n}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          `0x${randomBytes(8).toString('hex')}`,
          '-days',
          String(opts.days ?? 2),
          '-extfile',
          `leaf${n}.ext`,
          '-out',
          `leaf${n}.crt`,
        ],
        dir,
      );
      return {
        cert: await readFile(join(dir, `leaf${n}.crt`), 'utf8'),
        key: await readFile(join(dir, `leaf${n}.key`), 'utf8'),
      };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fresh temp dir holding `pair` as a kubernetes.io/tls Secret volume (tls.crt, tls.key, ca.crt). */
export async function tlsSecretDir(pair: KeyPair, ca?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-tls-'));
  await writeSecret(dir, {
    'tls.crt': pair.cert,
    'tls.key': pair.key,
    ...(ca ? { 'ca.crt': ca } : {}),
  });
  return dir;
}
