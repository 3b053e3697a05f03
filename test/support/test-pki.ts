/**
 * Certificates made at test time with the `openssl` command: a CA, a server certificate for
 * 127.0.0.1 and localhost, a client certificate signed by the CA, and a second, unrelated CA
 * with a client certificate of its own (what a stranger would present).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  dir: string;
  /** The CA that signed the server and the trusted client certificate. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A certificate pair from another CA (`otherCaCert`), which the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  otherCaCert: string;
  /** A server certificate for another host name (signed by the trusted CA). */
  wrongNameCert: string;
  wrongNameKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Make a key and a certificate signed by `caName`, with the given extensions. */
function leaf(dir: string, name: string, caName: string, subject: string, ext: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  const extFile = path.join(dir, `${name}.ext`);
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', ext, extFile]);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      extFile,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

function rootCa(dir: string, name: string, subject: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subject,
      '-days',
      '2',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/** Make the whole set under `dir` (created if needed). */
export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  rootCa(dir, 'ca', '/CN=Elevate test CA');
  rootCa(dir, 'other-ca', '/CN=Someone else');
  const serverExt = [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ].join('\n');
  const clientExt = [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    'extendedKeyUsage=clientAuth',
  ].join('\n');
  leaf(dir, 'server', 'ca', '/CN=temporal.test', serverExt);
  leaf(dir, 'client', 'ca', '/CN=elevate-worker', clientExt);
  leaf(dir, 'stranger', 'other-ca', '/CN=stranger', clientExt);
  leaf(
    dir,
    'wrong-name',
    'ca',
    '/CN=elsewhere',
    serverExt.replace('DNS:localhost,IP:127.0.0.1', 'DNS:elsewhere.test'),
  );
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
    otherCaCert: p('other-ca.pem'),
    wrongNameCert: p('wrong-name.pem'),
    wrongNameKey: p('wrong-name.key'),
  };
}

/** A file's text (certificates for `_DATA` variables). */
export function pem(file: string): string {
  return readFileSync(file, 'utf8');
}
