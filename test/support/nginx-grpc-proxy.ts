/**
 * Debian's nginx as a gRPC proxy (`grpc_pass`) in front of the Temporal dev server, which has
 * no TLS of its own: a real TLS endpoint for the tests, the way a secured cluster or Temporal
 * Cloud looks to a client.
 *
 * - `mtls`: server TLS and `ssl_verify_client on` (only certificates from the test CA pass);
 * - `api-key`: server TLS, and every call must carry `authorization: Bearer <key>` (else 401,
 *   which gRPC clients read as UNAUTHENTICATED), as Temporal Cloud's API keys are checked;
 * - `permissionDenied`: some or all calls answered PERMISSION_DENIED, in either mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { freePort } from '../../dev/processes.js';
import type { TestPki } from './test-pki.js';

export interface GrpcProxy {
  /** `127.0.0.1:<port>` of the TLS endpoint. */
  address: string;
  /** `api-key` mode: accept only `key` from now on (the configuration is reloaded, as in production). */
  setApiKey(key: string): Promise<void>;
  stop(): Promise<void>;
}

export interface GrpcProxyOptions {
  mode: 'mtls' | 'api-key';
  /** The plain gRPC server behind it (`host:port`). */
  upstream: string;
  pki: TestPki;
  /** Required for `api-key`. */
  apiKey?: string;
  /** Where nginx keeps its configuration, logs and temporary files. */
  dir: string;
  /**
   * Answer with PERMISSION_DENIED (grpc-status 7), as a server answers credentials it knows but
   * that may not use the namespace: `every-call` for all calls, `namespace` only for
   * `DescribeNamespace` (everything else is passed on).
   */
  permissionDenied?: 'every-call' | 'namespace';
  /** Serve this certificate instead of the server certificate (a name mismatch). */
  serverCert?: { cert: string; key: string };
}

/** A gRPC "trailers-only" answer: the status in the headers of a response without a body. */
const PERMISSION_DENIED = `
      default_type application/grpc;
      add_header grpc-status 7 always;
      add_header grpc-message "Request unauthorized." always;
      return 204;`;

/** Where Debian's nginx is, or undefined (scripts/setup installs it). */
export function findNginx(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
}

export async function startGrpcProxy(opts: GrpcProxyOptions): Promise<GrpcProxy> {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed: run scripts/setup');
  if (opts.mode === 'api-key' && !opts.apiKey) throw new Error('api-key mode needs an apiKey');
  mkdirSync(path.join(opts.dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const cert = opts.serverCert ?? { cert: opts.pki.serverCert, key: opts.pki.serverKey };
  const tmp = (name: string) => `${name}_temp_path ${path.join(opts.dir, 'tmp', name)};`;
  const render = (apiKey: string | undefined) => `
# As root, workers would switch to www-data, who cannot read the test's private files.
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${path.join(opts.dir, 'nginx.pid')};
error_log ${path.join(opts.dir, 'error.log')} info;
events { worker_connections 1024; }
http {
  access_log ${path.join(opts.dir, 'access.log')};
  ${tmp('client_body')} ${tmp('proxy')} ${tmp('fastcgi')} ${tmp('uwsgi')} ${tmp('scgi')}
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ${opts.mode === 'mtls' ? `ssl_client_certificate ${opts.pki.caCert};\n    ssl_verify_client on;` : ''}
    # Temporal's long polls wait up to a minute for work.
    grpc_read_timeout 300s;
    grpc_send_timeout 300s;
    client_body_timeout 300s;
    client_max_body_size 0;
    http2_max_concurrent_streams 1024;
    location / {
      ${opts.mode === 'api-key' ? `if ($http_authorization != "Bearer ${apiKey}") { return 401; }` : ''}
      ${opts.permissionDenied === 'every-call' ? PERMISSION_DENIED : `grpc_pass grpc://${opts.upstream};`}
    }
    ${opts.permissionDenied === 'namespace' ? `location = /temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace { ${PERMISSION_DENIED} }` : ''}
  }
}
`;
  const confFile = path.join(opts.dir, 'nginx.conf');
  writeFileSync(confFile, render(opts.apiKey));
  const child: ChildProcess = spawn(
    nginx,
    ['-c', confFile, '-p', opts.dir, '-e', path.join(opts.dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = existsSync(path.join(opts.dir, 'error.log'))
        ? readFileSync(path.join(opts.dir, 'error.log'), 'utf8')
        : '';
      throw new Error(`nginx exited (${child.exitCode}): ${stderr}\n${log}`);
    }
    const listening = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (listening) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: `127.0.0.1:${port}`,
    async setApiKey(key) {
      writeFileSync(confFile, render(key));
      child.kill('SIGHUP');
      // New workers take the new configuration; give them a moment to start.
      await new Promise((r) => setTimeout(r, 300));
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
