/**
 * `docker-compose.yml`, checked without Docker: against the Compose Specification's JSON schema
 * (test/fixtures/compose-spec, see its README) and against the rules a production deployment must
 * keep, which the schema cannot express: pinned images, health checks and restart policies on
 * every long-running service, secrets only from files, nothing published beyond loopback, no
 * root, a supported Node.js, start-up ordered by conditions, one audit checkpoint key in the API
 * and every worker. Each rule is a function that lists
 * problems; the last block breaks a copy of the file once per rule to show that the rule notices.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicy } from '../../config/load-policy.js';
import { parseSigningKey } from '../../core/crypto/decision-keys.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const COMPOSE_TEXT = readFileSync(COMPOSE_FILE, 'utf8');

// ajv-formats is CommonJS: imported from an ES module, its plugin is the `default` property.
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ??
  formatsModule) as FormatsPlugin;

type Json = Record<string, unknown>;
interface Service extends Json {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  user?: string;
  restart?: string;
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: unknown;
  ports?: unknown[];
  secrets?: (string | { source: string; target?: string })[];
  command?: unknown;
  environment?: Record<string, unknown> | string[];
  volumes?: (string | Json)[];
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, Json>;
}

/** The Compose file as Compose reads it: YAML merge keys (`<<: *anchor`) resolved. */
function loadCompose(text: string): Compose {
  return parse(text, { merge: true }) as Compose;
}

/** A fresh copy of the repository's Compose file, to break in a test. */
function composeCopy(): Compose {
  return loadCompose(COMPOSE_TEXT);
}

function schemaErrors(compose: unknown): string[] {
  const schema = JSON.parse(
    readFileSync(path.join(ROOT, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8'),
  ) as Json;
  // The copy names its draft as "https://json-schema.org/draft-07/schema"; Ajv knows draft-07 by
  // its canonical id, and the default build is that draft.
  delete schema['$schema'];
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  if (validate(compose)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Services other services wait for to finish (`service_completed_successfully`): one-shot steps. */
function oneShotServices(compose: Compose): Set<string> {
  const names = new Set<string>();
  for (const service of Object.values(compose.services)) {
    const deps = service.depends_on;
    if (deps && typeof deps === 'object' && !Array.isArray(deps)) {
      for (const [name, dep] of Object.entries(deps as Record<string, { condition?: string }>)) {
        if (dep.condition === 'service_completed_successfully') names.add(name);
      }
    }
  }
  return names;
}

function longRunning(compose: Compose): [string, Service][] {
  const oneShot = oneShotServices(compose);
  return Object.entries(compose.services).filter(([name]) => !oneShot.has(name));
}

/** Path of the Dockerfile a service builds from, if it builds. */
function dockerfileOf(service: Service): string | undefined {
  if (!service.build) return undefined;
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  return path.join(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
}

/** Images whose upstream versions have two parts (PostgreSQL since 10: 17.11 is one release). */
const TWO_PART_VERSIONS = new Set(['postgres']);

/** Why `image` is not pinned to one release, or undefined when it is. */
function unpinned(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const match = /^(?<name>[a-z0-9][a-z0-9._/-]*):(?<tag>[A-Za-z0-9._-]+)$/.exec(image);
  if (!match?.groups) return 'has no tag';
  const { name, tag } = match.groups as { name: string; tag: string };
  if (tag === 'latest') return 'is tagged latest';
  // Debian's dated snapshots, e.g. bookworm-20260803-slim.
  if (/^[a-z]+-\d{8}(-slim)?$/.test(tag)) return undefined;
  const version = /^v?(\d+(?:\.\d+)*)/.exec(tag)?.[1];
  if (!version) return `has tag "${tag}", not a version`;
  const parts = version.split('.').length;
  const needed = TWO_PART_VERSIONS.has(path.basename(name)) ? 2 : 3;
  if (parts < needed) return `has tag "${tag}", which follows new releases (needs ${needed} version parts)`;
  return undefined;
}

/** `FROM` images of a Dockerfile, `AS` names and stage references left out. */
function fromImages(dockerfile: string): string[] {
  const text = readFileSync(dockerfile, 'utf8');
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (!m) continue;
    if (!stages.has(m[1]!)) images.push(m[1]!);
    if (m[2]) stages.add(m[2]);
  }
  return images;
}

/** The user the last stage of a Dockerfile runs as (`root` when it never says). */
function dockerfileUser(dockerfile: string): string {
  const lines = readFileSync(dockerfile, 'utf8').split('\n');
  let user = 'root';
  for (const line of lines) {
    if (/^FROM\s/i.test(line.trim())) user = 'root';
    const m = /^USER\s+(\S+)/i.exec(line.trim());
    if (m) user = m[1]!;
  }
  return user;
}

const isRoot = (user: string) => /^(root|0)(:.*)?$/.test(user.trim());

function imageProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (!service.image && !service.build) problems.push(`${name}: neither image nor build`);
    if (service.image) {
      const why = unpinned(service.image);
      if (why) problems.push(`${name}: image ${service.image} ${why}`);
    }
    const dockerfile = dockerfileOf(service);
    if (dockerfile) {
      if (!existsSync(dockerfile))
        problems.push(`${name}: ${path.relative(ROOT, dockerfile)} does not exist`);
      else
        for (const image of fromImages(dockerfile)) {
          const why = unpinned(image);
          if (why) problems.push(`${name}: ${path.relative(ROOT, dockerfile)} FROM ${image} ${why}`);
        }
    }
  }
  return problems;
}

/** Each pulled image says where its tag was found, in the comment line right above it. */
function imageSourceProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  for (const [name, service] of Object.entries(loadCompose(text).services)) {
    if (!service.image || service.build) continue;
    const at = lines.findIndex((l) => l.trim() === `image: ${service.image}`);
    const comment = at > 0 ? lines[at - 1]!.trim() : '';
    if (!comment.startsWith(`# ${service.image}:`)) {
      problems.push(`${name}: no comment above image ${service.image} naming where its tag was found`);
    }
  }
  return problems;
}

function healthAndRestartProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of longRunning(compose)) {
    const test = service.healthcheck?.test;
    if (!test || service.healthcheck?.disable || (Array.isArray(test) && test[0] === 'NONE')) {
      problems.push(`${name}: long-running service without a healthcheck`);
    }
    if (!['always', 'unless-stopped'].includes(service.restart ?? '')) {
      problems.push(`${name}: long-running service with restart "${service.restart ?? 'no'}"`);
    }
  }
  return problems;
}

/** Environment variables that hold a secret by their name (not their `_FILE` or `_HASH` variants). */
const SECRET_NAME = /(PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|SIGNING_KEY|DATABASE_URL)$/;

function secretProblems(compose: Compose): string[] {
  const problems: string[] = [];
  const defined = compose.secrets ?? {};
  for (const [name, secret] of Object.entries(defined)) {
    const file = secret['file'];
    if (typeof file !== 'string') problems.push(`secret ${name}: not from a file`);
    else if (!file.startsWith('./secrets/'))
      problems.push(`secret ${name}: file ${file} is outside ./secrets/`);
  }
  for (const [name, service] of Object.entries(compose.services)) {
    for (const ref of service.secrets ?? []) {
      const source = typeof ref === 'string' ? ref : ref.source;
      if (!(source in defined)) problems.push(`${name}: secret ${source} is not defined at the top level`);
    }
    const env = service.environment ?? {};
    const entries = Array.isArray(env)
      ? env.map((e) => e.split('=', 2) as [string, string])
      : Object.entries(env).map(([k, v]) => [k, v] as [string, unknown]);
    for (const [key, value] of entries) {
      if (SECRET_NAME.test(key) && value !== undefined && value !== null && value !== '') {
        problems.push(`${name}: ${key} is given in the environment; use a secret file (${key}_FILE)`);
      }
    }
  }
  return problems;
}

const LOOPBACK = ['127.0.0.1', '::1', '[::1]'];

function portProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    for (const port of service.ports ?? []) {
      if (typeof port === 'object' && port !== null) {
        const hostIp = (port as Json)['host_ip'];
        if (typeof hostIp !== 'string' || !LOOPBACK.includes(hostIp)) {
          problems.push(`${name}: port ${JSON.stringify(port)} is published beyond loopback`);
        }
        continue;
      }
      const spec = String(port);
      const hostIp = spec.startsWith('[') ? spec.slice(0, spec.indexOf(']') + 1) : spec.split(':')[0]!;
      if (spec.split(':').length < 3 || !LOOPBACK.includes(hostIp)) {
        problems.push(`${name}: port "${spec}" is published beyond loopback`);
      }
    }
  }
  return problems;
}

function userProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.user !== undefined) {
      if (isRoot(String(service.user))) problems.push(`${name}: runs as root (user: ${service.user})`);
      continue;
    }
    const dockerfile = dockerfileOf(service);
    if (!dockerfile) problems.push(`${name}: no user, and the image's user cannot be checked here`);
    else if (isRoot(dockerfileUser(dockerfile))) {
      problems.push(`${name}: ${path.relative(ROOT, dockerfile)} leaves the user root`);
    }
  }
  return problems;
}

function nodeProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const dockerfile = dockerfileOf(service);
    if (!dockerfile || !existsSync(dockerfile)) continue;
    for (const image of fromImages(dockerfile)) {
      const m = /^node:(\d+)/.exec(image);
      if (m && Number(m[1]) < 22) problems.push(`${name}: ${image} is older than Node.js 22 LTS`);
    }
  }
  return problems;
}

function dependsOnProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const deps = service.depends_on;
    if (deps === undefined) continue;
    if (Array.isArray(deps)) {
      problems.push(`${name}: depends_on is a list; give each dependency a condition`);
      continue;
    }
    for (const [dep, spec] of Object.entries(deps as Record<string, { condition?: string }>)) {
      if (!(dep in compose.services)) problems.push(`${name}: depends on unknown service ${dep}`);
      if (!spec?.condition) problems.push(`${name}: depends on ${dep} without a condition`);
    }
  }
  return problems;
}

/** Files and directories bind-mounted from the repository exist (`${VAR:-default}` taken as the default). */
function mountProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      if (typeof volume !== 'string') continue;
      const source = volume.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1').split(':')[0]!;
      if (source.startsWith('./') && !existsSync(path.join(ROOT, source))) {
        problems.push(`${name}: mounts ${source}, which does not exist`);
      }
    }
  }
  return problems;
}

/** Elevate's services outlast their own shutdown grace before Compose kills them. */
function gracePeriodProblems(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const env = service.environment;
    const value = env && !Array.isArray(env) ? env['ELEVATE_SHUTDOWN_GRACE_SECONDS'] : undefined;
    if (typeof value !== 'number' && typeof value !== 'string') continue;
    const grace = Number(value);
    const m = /^(\d+)s$/.exec(service.stop_grace_period ?? '');
    const stop = m ? Number(m[1]) : 10; // Compose's default
    if (stop <= grace) {
      problems.push(
        `${name}: stop_grace_period ${stop}s is not longer than ELEVATE_SHUTDOWN_GRACE_SECONDS=${grace}`,
      );
    }
  }
  return problems;
}

/** Services that run Elevate's API or a worker (`command: [api]`, `[worker]`, or both in `start`). */
function elevateProcesses(compose: Compose): [string, Service][] {
  return Object.entries(compose.services).filter(
    ([, s]) => Array.isArray(s.command) && ['api', 'worker', 'start'].includes(String(s.command[0])),
  );
}

/** Where Compose mounts a service's secret: `/run/secrets/<target or source>`, or an absolute target. */
function secretMounts(service: Service): { source: string; path: string }[] {
  return (service.secrets ?? []).map((ref) => {
    const { source, target } = typeof ref === 'string' ? { source: ref, target: undefined } : ref;
    const name = target ?? source;
    return { source, path: name.startsWith('/') ? name : `/run/secrets/${name}` };
  });
}

/**
 * Every API and worker signs audit checkpoints and MACs the single-use and bot-state rows with
 * one key: each reads ELEVATE_AUDIT_CHECKPOINT_KEY_FILE from one of its secrets, and it is the
 * same secret file for all (a process without it, or with another key, leaves checkpoints
 * missing and rows another process cannot check).
 */
function checkpointKeyProblems(compose: Compose): string[] {
  const problems: string[] = [];
  const processes = elevateProcesses(compose);
  if (processes.length === 0) problems.push('no service runs the API or a worker');
  const files = new Map<string, string[]>();
  for (const [name, service] of processes) {
    const env = service.environment;
    const vars: Record<string, unknown> = Array.isArray(env)
      ? Object.fromEntries(env.map((e) => e.split('=', 2) as [string, string]))
      : (env ?? {});
    if (vars['ELEVATE_AUDIT_CHECKPOINT_KEY']) {
      problems.push(
        `${name}: ELEVATE_AUDIT_CHECKPOINT_KEY is given in the environment; use ELEVATE_AUDIT_CHECKPOINT_KEY_FILE`,
      );
    }
    const wanted = vars['ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'];
    if (typeof wanted !== 'string' || wanted === '') {
      problems.push(
        `${name}: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)`,
      );
      continue;
    }
    const mount = secretMounts(service).find((m) => m.path === wanted);
    if (!mount) {
      problems.push(`${name}: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE=${wanted} is not one of its secrets`);
      continue;
    }
    const defined = compose.secrets?.[mount.source]?.['file'];
    const file = typeof defined === 'string' ? defined : `secret ${mount.source}`;
    files.set(file, [...(files.get(file) ?? []), name]);
  }
  if (files.size > 1) {
    const each = [...files].map(([file, names]) => `${names.join(', ')}: ${file}`).join('; ');
    problems.push(`the API and the workers do not share one checkpoint key (${each})`);
  }
  return problems;
}

const RULES = {
  images: imageProblems,
  health: healthAndRestartProblems,
  secrets: secretProblems,
  ports: portProblems,
  users: userProblems,
  node: nodeProblems,
  dependsOn: dependsOnProblems,
  mounts: mountProblems,
  grace: gracePeriodProblems,
  checkpointKey: checkpointKeyProblems,
};

describe('docker-compose.yml', () => {
  const compose = loadCompose(COMPOSE_TEXT);

  it('when validated against the Compose Specification schema, then it has no errors', () => {
    expect(schemaErrors(compose)).toEqual([]);
  });

  it('when its images are read, then each has a comment naming where its tag was found', () => {
    expect(imageSourceProblems(COMPOSE_TEXT)).toEqual([]);
  });

  for (const [rule, check] of Object.entries(RULES)) {
    it(`when checked for ${rule}, then nothing is reported`, () => {
      expect(check(compose)).toEqual([]);
    });
  }

  it('when read, then it runs Temporal from the maintained images, not the deprecated auto-setup', () => {
    const images = Object.values(compose.services).map((s) => s.image ?? '');
    expect(images.some((i) => i.startsWith('temporalio/server:'))).toBe(true);
    expect(images.some((i) => i.startsWith('temporalio/admin-tools:'))).toBe(true);
    expect(images.filter((i) => i.includes('auto-setup') || i.startsWith('bitnami/'))).toEqual([]);
  });

  it('when read, then only the API is published, and the Temporal UI only in an opt-in profile', () => {
    const published = Object.entries(compose.services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name, s]) => ({ name, profiles: (s['profiles'] as string[] | undefined) ?? [] }));
    expect(published).toEqual([
      { name: 'temporal-ui', profiles: ['ui'] },
      { name: 'elevate-api', profiles: [] },
    ]);
  });

  it('when read, then the signing key is only in the API and the public keys only in the workers', () => {
    const mounted = (name: string) =>
      (compose.services[name]?.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
    expect(mounted('elevate-api')).toContain('decision-signing.pem');
    expect(mounted('elevate-api')).not.toContain('decision-public.pem');
    expect(mounted('elevate-worker')).toContain('decision-public.pem');
    expect(mounted('elevate-worker')).not.toContain('decision-signing.pem');
    const holders = Object.keys(compose.services).filter((n) => mounted(n).includes('decision-signing.pem'));
    expect(holders).toEqual(['elevate-api']);
  });

  it('when read, then the workers bind to LDAP with their own account, not the root DN, and the API holds no target credentials', () => {
    const worker = compose.services['elevate-worker']?.environment as Record<string, string>;
    expect(worker['LDAP_BIND_DN']).toBe('cn=elevate,ou=services,dc=example,dc=org');
    const api = compose.services['elevate-api']?.environment as Record<string, string>;
    expect(Object.keys(api).filter((k) => /^(LDAP_|AWS_|ELEVATE_PG_)/.test(k))).toEqual([]);
    expect(compose.services['elevate-api']?.secrets).not.toContain('ldap-elevate-password');
    expect(COMPOSE_TEXT).not.toMatch(/cn=admin/);
  });
});

describe('deploy/compose/policy.yaml', () => {
  const text = readFileSync(path.join(ROOT, 'deploy/compose/policy.yaml'), 'utf8');
  const env = {
    ELEVATE_ADMIN_TOKEN_HASH: `sha256:${'a'.repeat(64)}`,
    ELEVATE_DEMO_BOT_KEY_HASH: `sha256:${'b'.repeat(64)}`,
  };

  it('when loaded with the two hashes, then it is valid and no role needs approvers (the API starts without OIDC_ISSUER)', () => {
    const policy = parsePolicy(text, 'policy.yaml', env);
    expect(policy.roles.length).toBeGreaterThan(0);
    expect(policy.roles.filter((r) => r.approval.mode !== 'auto').map((r) => r.id)).toEqual([]);
  });

  it('when its commented approval role is uncommented and given to the bot, then it is valid and needs approvers', () => {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.startsWith('  # - id: demo-approval'));
    expect(start).toBeGreaterThan(0);
    const uncommented = lines.map((l, i) => (i >= start && l.startsWith('  # ') ? `  ${l.slice(4)}` : l));
    const withRole = uncommented
      .join('\n')
      .replace('roles: [demo-auto]', 'roles: [demo-auto, demo-approval]');
    const policy = parsePolicy(withRole, 'policy.yaml', env);
    expect(policy.roles.find((r) => r.id === 'demo-approval')?.approval.mode).toBe('approvers');
  });
});

describe('deploy/compose/init-secrets.sh', () => {
  const openssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!openssl)('when run, then it creates every secret file docker-compose.yml names', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-secrets-'));
    try {
      execFileSync('sh', [path.join(ROOT, 'deploy/compose/init-secrets.sh'), dir], { stdio: 'ignore' });
      const wanted = Object.values(loadCompose(COMPOSE_TEXT).secrets ?? {}).map((s) =>
        path.basename(String(s['file'])),
      );
      expect(readdirSync(dir).sort()).toEqual([...wanted].sort());
      const url = readFileSync(path.join(dir, 'database-url'), 'utf8');
      expect(url).toBe(
        `postgres://elevate:${readFileSync(path.join(dir, 'audit-db-password'), 'utf8')}@audit-db:5432/elevate`,
      );
      expect(readFileSync(path.join(dir, 'decision-public.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
      // The checkpoint key is one Elevate accepts (Ed25519, PKCS#8).
      expect(parseSigningKey(readFileSync(path.join(dir, 'audit-checkpoint.pem'), 'utf8')).kid).toBeTruthy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the deployment checks', () => {
  /** Applies `change` to a fresh copy and returns what `rule` reports. */
  function broken(rule: keyof typeof RULES, change: (c: Compose) => void): string[] {
    const copy = composeCopy();
    change(copy);
    return RULES[rule](copy);
  }
  const svc = (c: Compose, name: string) => c.services[name]!;

  it('when the file breaks the schema, then validation reports it', () => {
    const copy = composeCopy() as unknown as Json;
    (copy['services'] as Record<string, Json>)['temporal']!['restart'] = 42;
    expect(schemaErrors(copy).join('\n')).toMatch(/\/services\/temporal\/restart/);
  });

  it('when an image is floating, then the images check names it', () => {
    expect(broken('images', (c) => (svc(c, 'temporal').image = 'temporalio/server:latest'))).toEqual([
      'temporal: image temporalio/server:latest is tagged latest',
    ]);
    expect(broken('images', (c) => (svc(c, 'audit-db').image = 'postgres:17-bookworm'))[0]).toMatch(
      /audit-db: image postgres:17-bookworm has tag "17-bookworm", which follows new releases/,
    );
    expect(broken('images', (c) => (svc(c, 'temporal-ui').image = 'temporalio/ui:2.52'))[0]).toMatch(
      /needs 3/,
    );
  });

  it('when the comment above an image does not name it, then the image sources check names the service', () => {
    const text = COMPOSE_TEXT.replace(/^ *# temporalio\/ui:2\.52\.0: .*\n/m, '');
    expect(text).not.toBe(COMPOSE_TEXT);
    expect(imageSourceProblems(text)).toEqual([
      'temporal-ui: no comment above image temporalio/ui:2.52.0 naming where its tag was found',
    ]);
  });

  it('when a long-running service has no healthcheck or restart policy, then the health check names it', () => {
    expect(broken('health', (c) => delete svc(c, 'openldap').healthcheck)).toEqual([
      'openldap: long-running service without a healthcheck',
    ]);
    expect(broken('health', (c) => delete svc(c, 'elevate-worker').restart)).toEqual([
      'elevate-worker: long-running service with restart "no"',
    ]);
  });

  it('when a secret is not from a file or a password is in the environment, then the secrets check names it', () => {
    expect(
      broken('secrets', (c) => (c.secrets!['metrics-token'] = { environment: 'METRICS_TOKEN' })),
    ).toEqual(['secret metrics-token: not from a file']);
    expect(
      broken('secrets', (c) => {
        (svc(c, 'audit-db').environment as Record<string, string>)['POSTGRES_PASSWORD'] = 'hunter2';
      }),
    ).toEqual([
      'audit-db: POSTGRES_PASSWORD is given in the environment; use a secret file (POSTGRES_PASSWORD_FILE)',
    ]);
  });

  it('when a port is published on all interfaces, then the ports check names it', () => {
    expect(broken('ports', (c) => (svc(c, 'elevate-api').ports = ['8080:8080']))).toEqual([
      'elevate-api: port "8080:8080" is published beyond loopback',
    ]);
    expect(broken('ports', (c) => (svc(c, 'temporal').ports = ['0.0.0.0:7233:7233']))).toEqual([
      'temporal: port "0.0.0.0:7233:7233" is published beyond loopback',
    ]);
  });

  it('when a service runs as root, then the users check names it', () => {
    expect(broken('users', (c) => (svc(c, 'temporal').user = 'root'))).toEqual([
      'temporal: runs as root (user: root)',
    ]);
    expect(broken('users', (c) => delete svc(c, 'audit-db').user)).toEqual([
      "audit-db: no user, and the image's user cannot be checked here",
    ]);
  });

  it('when a Dockerfile is built on Node.js 20 or runs as root, then the node and users checks name it', () => {
    mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    const dir = mkdtempSync(path.join(ROOT, '.tmp', 'compose-check-'));
    try {
      const from = 'FROM node:20.19.0-bookworm-slim';
      writeFileSync(path.join(dir, 'Dockerfile'), `${from} AS build\nUSER node\n${from}\n`);
      const context = `./${path.relative(ROOT, dir)}`;
      expect(broken('node', (c) => (svc(c, 'elevate-api').build = context))).toEqual([
        'elevate-api: node:20.19.0-bookworm-slim is older than Node.js 22 LTS',
        'elevate-api: node:20.19.0-bookworm-slim is older than Node.js 22 LTS',
      ]);
      expect(broken('users', (c) => (svc(c, 'elevate-api').build = context))).toEqual([
        `elevate-api: ${path.relative(ROOT, dir)}/Dockerfile leaves the user root`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a dependency has no condition, then the depends_on check names it', () => {
    expect(broken('dependsOn', (c) => (svc(c, 'temporal-ui').depends_on = ['temporal']))).toEqual([
      'temporal-ui: depends_on is a list; give each dependency a condition',
    ]);
    expect(broken('dependsOn', (c) => (svc(c, 'temporal-ui').depends_on = { temporal: {} }))).toEqual([
      'temporal-ui: depends on temporal without a condition',
    ]);
  });

  it('when a mounted file is missing, then the mounts check names it', () => {
    expect(
      broken(
        'mounts',
        (c) => (svc(c, 'temporal').volumes = ['./deploy/compose/missing.yaml:/etc/x.yaml:ro']),
      ),
    ).toEqual(['temporal: mounts ./deploy/compose/missing.yaml, which does not exist']);
  });

  it('when the API or a worker lacks the checkpoint key, or has another one, then the checkpoint key check names it', () => {
    expect(
      broken('checkpointKey', (c) => {
        delete (svc(c, 'elevate-worker').environment as Record<string, string>)[
          'ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'
        ];
      }),
    ).toEqual([
      'elevate-worker: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)',
    ]);
    expect(
      broken('checkpointKey', (c) => {
        svc(c, 'elevate-api').secrets = ['database-url', 'metrics-token', 'decision-signing.pem'];
      }),
    ).toEqual([
      'elevate-api: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE=/run/secrets/audit-checkpoint.pem is not one of its secrets',
    ]);
    expect(
      broken('checkpointKey', (c) => {
        c.secrets!['worker-checkpoint.pem'] = { file: './secrets/worker-checkpoint.pem' };
        const worker = svc(c, 'elevate-worker');
        worker.secrets = [...(worker.secrets ?? []), 'worker-checkpoint.pem'];
        (worker.environment as Record<string, string>)['ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'] =
          '/run/secrets/worker-checkpoint.pem';
      }),
    ).toEqual([
      'the API and the workers do not share one checkpoint key (elevate-worker: ./secrets/worker-checkpoint.pem; elevate-api: ./secrets/audit-checkpoint.pem)',
    ]);
    // A second kind of worker added without the key is named too.
    expect(
      broken('checkpointKey', (c) => {
        const { environment, ...rest } = svc(c, 'elevate-worker');
        const env = { ...(environment as Record<string, string>) };
        delete env['ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'];
        c.services['elevate-worker-aws'] = { ...rest, environment: env };
      }),
    ).toEqual([
      'elevate-worker-aws: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)',
    ]);
  });

  it('when Compose would kill a worker before its shutdown grace ends, then the grace check names it', () => {
    expect(broken('grace', (c) => (svc(c, 'elevate-worker').stop_grace_period = '30s'))).toEqual([
      'elevate-worker: stop_grace_period 30s is not longer than ELEVATE_SHUTDOWN_GRACE_SECONDS=30',
    ]);
  });
});
