/**
 * The Helm chart in deploy/helm/elevate, with real tools and no network: `helm lint`, then
 * `helm template` with the default values and with each values file in the chart's ci/ folder,
 * every rendered manifest validated by `kubeconform -strict` against the Kubernetes v1.34.0 and
 * ServiceMonitor schemas in test/fixtures/kubernetes (see its README), then what the schemas
 * cannot see: the signing key only in the API pods, the public keys only in the workers, one
 * audit checkpoint key (ELEVATE_AUDIT_CHECKPOINT_KEY_FILE) in the API and every worker, every
 * *_FILE / *_PATH variable pointing at a file a volume provides, probes, a non-root read-only
 * container, a termination grace longer than the shutdown grace.
 *
 * helm and kubeconform are built by scripts/setup (optional, with Go); without them these tests
 * are skipped and say which tool is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHART = path.join(ROOT, 'deploy/helm/elevate');
const FIXTURES = path.join(ROOT, 'test/fixtures/kubernetes');
const KUBERNETES_VERSION = '1.34.0';

/** A tool from its *_PATH variable, the folder scripts/setup installs into, or PATH. */
function findTool(name: string, variable: string): string | undefined {
  const toolsDir = process.env['ELEVATE_TOOLS_DIR'] ?? path.join(homedir(), '.cache/elevate/tools');
  const candidates = [process.env[variable], path.join(toolsDir, 'bin', name)];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const HELM = findTool('helm', 'HELM_PATH');
const KUBECONFORM = findTool('kubeconform', 'KUBECONFORM_PATH');
const missing = [!HELM && 'helm', !KUBECONFORM && 'kubeconform'].filter(Boolean);
const SKIP = missing.length > 0;
const because = SKIP
  ? ` [skipped: ${missing.join(' and ')} not installed; scripts/setup builds them with Go]`
  : '';
if (SKIP) console.warn(`deploy/helm/elevate is not checked:${because}`);

// Helm keeps caches and settings under $HOME; the tests use a folder of their own.
const helmHome = mkdtempSync(path.join(tmpdir(), 'elevate-helm-'));
afterAll(() => rmSync(helmHome, { recursive: true, force: true }));
const HELM_ENV = {
  ...process.env,
  HELM_CACHE_HOME: path.join(helmHome, 'cache'),
  HELM_CONFIG_HOME: path.join(helmHome, 'config'),
  HELM_DATA_HOME: path.join(helmHome, 'data'),
};

function helm(args: string[]): { status: number; out: string } {
  const res = spawnSync(HELM!, args, { cwd: ROOT, env: HELM_ENV, encoding: 'utf8' });
  return { status: res.status ?? 1, out: `${res.stdout}${res.stderr}` };
}

function render(valuesFile?: string, extra: string[] = []): string {
  const args = ['template', 'elevate', CHART, ...(valuesFile ? ['-f', valuesFile] : []), ...extra];
  return execFileSync(HELM!, args, { cwd: ROOT, env: HELM_ENV, encoding: 'utf8' });
}

interface Summary {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
}
interface Conformance {
  resources: { filename: string; kind: string; name: string; status: string; msg: string }[];
  summary: Summary;
}

/** kubeconform -strict over `manifests`, offline, with the fixture schemas only. */
function kubeconform(manifests: string): Conformance {
  const res = spawnSync(
    KUBECONFORM!,
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-kubernetes-version',
      KUBERNETES_VERSION,
      '-schema-location',
      `${FIXTURES}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-schema-location',
      `${FIXTURES}/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
      '-',
    ],
    { input: manifests, encoding: 'utf8' },
  );
  return JSON.parse(res.stdout) as Conformance;
}

type Obj = Record<string, unknown>;
interface Manifest extends Obj {
  kind: string;
  metadata: { name: string };
  spec?: Obj;
}
interface EnvVar {
  name: string;
  value?: string;
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  ports?: { name: string; containerPort: number }[];
  securityContext?: Obj;
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: Obj;
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: Obj;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function deployment(manifests: Manifest[], component: 'api' | 'worker'): { replicas: number; pod: PodSpec } {
  const found = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `elevate-${component}`);
  if (!found) throw new Error(`no Deployment elevate-${component}`);
  const spec = found.spec as { replicas: number; template: { spec: PodSpec } };
  return { replicas: spec.replicas, pod: spec.template.spec };
}

function envOf(container: Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
}

/**
 * Every *_FILE and *_PATH variable that names a file under /etc/elevate must point at a file that a
 * mounted volume provides: a mount at its folder, and an item of that Secret or ConfigMap with its
 * name (or a volume without `items`, which provides every key).
 */
function fileWiringProblems(pod: PodSpec): string[] {
  const problems: string[] = [];
  for (const container of pod.containers) {
    for (const [name, value] of Object.entries(envOf(container))) {
      if (!/_(FILE|PATH)$/.test(name) || !value.startsWith('/etc/elevate/')) continue;
      const mount = container.volumeMounts?.find((m) => m.mountPath === path.dirname(value));
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      const source = volume?.secret ?? volume?.configMap;
      if (!mount || !volume || !source) {
        problems.push(`${container.name}: ${name}=${value}: nothing is mounted at ${path.dirname(value)}`);
      } else if (source.items && !source.items.some((i) => i.path === path.basename(value))) {
        problems.push(
          `${container.name}: ${name}=${value}: volume ${volume.name} has no ${path.basename(value)}`,
        );
      }
    }
  }
  return problems;
}

/**
 * Every container that runs the API or a worker (`args: [api]`, `[worker]`) reads
 * ELEVATE_AUDIT_CHECKPOINT_KEY_FILE from a key of a mounted Secret, and it is the same Secret and
 * key for all: one key signs the audit checkpoints and keys the single-use and bot-state row
 * MACs, which every process must be able to check.
 */
function checkpointKeyProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const sources = new Map<string, string[]>();
  let processes = 0;
  for (const m of manifests.filter((x) => x.kind === 'Deployment')) {
    const pod = (m.spec as { template: { spec: PodSpec } }).template.spec;
    for (const container of pod.containers) {
      if (!['api', 'worker', 'start'].includes(container.args?.[0] ?? '')) continue;
      processes++;
      const who = `${m.metadata.name}/${container.name}`;
      const file = envOf(container)['ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'];
      if (!file) {
        problems.push(
          `${who}: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)`,
        );
        continue;
      }
      const mount = container.volumeMounts?.find((v) => v.mountPath === path.dirname(file));
      const secret = pod.volumes?.find((v) => v.name === mount?.name)?.secret;
      const key = secret?.items
        ? secret.items.find((i) => i.path === path.basename(file))?.key
        : secret && path.basename(file);
      if (!secret || !key) {
        problems.push(`${who}: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE=${file} is not a key of a mounted Secret`);
        continue;
      }
      const source = `Secret ${secret.secretName}, key ${key}`;
      sources.set(source, [...(sources.get(source) ?? []), who]);
    }
  }
  if (processes === 0) problems.push('no Deployment runs the API or a worker');
  if (sources.size > 1) {
    const each = [...sources].map(([source, who]) => `${who.join(', ')}: ${source}`).join('; ');
    problems.push(`the API and the workers do not share one checkpoint key (${each})`);
  }
  return problems;
}

const VALUES_FILES = readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const CASES: [string, string | undefined][] = [
  ['the default values', undefined],
  ...VALUES_FILES.map((f): [string, string] => [`ci/${f}`, path.join(CHART, 'ci', f)]),
];

describe('deploy/helm/elevate', () => {
  it.skipIf(SKIP)(
    `when linted strictly with each values file, then helm reports no problem${because}`,
    () => {
      for (const [name, file] of CASES) {
        const res = helm(['lint', '--strict', CHART, ...(file ? ['-f', file] : [])]);
        expect(res.status, `${name}:\n${res.out}`).toBe(0);
      }
    },
  );

  for (const [name, file] of CASES) {
    describe(`rendered with ${name}`, () => {
      const manifests = () => render(file);

      it.skipIf(SKIP)(
        `when validated with kubeconform -strict, then every resource is valid${because}`,
        () => {
          const result = kubeconform(manifests());
          const bad = result.resources.filter((r) => r.status !== 'statusValid');
          expect(bad).toEqual([]);
          expect(result.summary.invalid + result.summary.errors + result.summary.skipped).toBe(0);
          expect(result.summary.valid).toBe(parseManifests(manifests()).length);
        },
      );

      it.skipIf(SKIP)(
        `when read, then the signing key is only in the API pods, the public keys only in the workers${because}`,
        () => {
          const all = parseManifests(manifests());
          const api = deployment(all, 'api').pod;
          const worker = deployment(all, 'worker').pod;
          expect(envOf(api.containers[0]!)['ELEVATE_DECISION_SIGNING_KEY_FILE']).toBe(
            '/etc/elevate/api-secrets/decision-signing.pem',
          );
          expect(envOf(api.containers[0]!)).not.toHaveProperty('ELEVATE_DECISION_PUBLIC_KEYS_FILE');
          expect(envOf(worker.containers[0]!)['ELEVATE_DECISION_PUBLIC_KEYS_FILE']).toBe(
            '/etc/elevate/decision-keys/decision-public.pem',
          );
          expect(envOf(worker.containers[0]!)).not.toHaveProperty('ELEVATE_DECISION_SIGNING_KEY_FILE');
          // Nothing in a worker pod refers to the API's Secret or to the private key, by any name.
          const apiSecret = api.volumes?.find((v) => v.name === 'api-secrets')?.secret?.secretName;
          expect(apiSecret).toBeTruthy();
          expect(JSON.stringify(worker)).not.toContain(`"${apiSecret}"`);
          expect(JSON.stringify(worker)).not.toContain('decision-signing');
          expect(JSON.stringify(api)).not.toContain('decision-public');
        },
      );

      it.skipIf(SKIP)(
        `when read, then every *_FILE and *_PATH variable names a mounted file${because}`,
        () => {
          const all = parseManifests(manifests());
          expect(fileWiringProblems(deployment(all, 'api').pod)).toEqual([]);
          expect(fileWiringProblems(deployment(all, 'worker').pod)).toEqual([]);
        },
      );

      it.skipIf(SKIP)(
        `when read, then the API and every worker get ELEVATE_AUDIT_CHECKPOINT_KEY_FILE from one Secret key${because}`,
        () => {
          const all = parseManifests(manifests());
          expect(checkpointKeyProblems(all)).toEqual([]);
          expect(
            envOf(deployment(all, 'worker').pod.containers[0]!)['ELEVATE_AUDIT_CHECKPOINT_KEY_FILE'],
          ).toBe('/etc/elevate/secrets/audit-checkpoint.pem');
        },
      );

      it.skipIf(SKIP)(
        `when read, then probes, security context and termination grace are as required${because}`,
        () => {
          const all = parseManifests(manifests());
          for (const component of ['api', 'worker'] as const) {
            const { pod } = deployment(all, component);
            const container = pod.containers[0]!;
            const port = component === 'api' ? 'http' : 'metrics';
            expect(container.livenessProbe?.httpGet).toEqual({ path: '/livez', port });
            expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port });
            const env = envOf(container);
            const expectedPort =
              component === 'api' ? Number(env['PORT']) : Number(env['ELEVATE_METRICS_PORT']);
            expect(container.ports?.find((p) => p.name === port)?.containerPort).toBe(expectedPort);
            if (component === 'api') expect(expectedPort).toBe(8080);
            expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
            expect(container.securityContext).toMatchObject({
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
            });
            expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
              Number(env['ELEVATE_SHUTDOWN_GRACE_SECONDS']),
            );
          }
        },
      );
    });
  }

  it.skipIf(SKIP)(
    `when rendered with mTLS, then the client certificate, key and CA are mounted files${because}`,
    () => {
      const all = parseManifests(render(path.join(CHART, 'ci/mtls-values.yaml')));
      const { replicas, pod } = deployment(all, 'worker');
      expect(replicas).toBe(4);
      expect(envOf(pod.containers[0]!)).toMatchObject({
        TEMPORAL_TLS: 'true',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/elevate/temporal-tls/tls.crt',
        TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/elevate/temporal-tls/tls.key',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/elevate/temporal-ca/ca.crt',
        TEMPORAL_TLS_SERVER_NAME: 'temporal-frontend.temporal.svc.cluster.local',
      });
      expect(pod.volumes?.find((v) => v.name === 'temporal-tls')?.secret?.secretName).toBe(
        'elevate-temporal-client',
      );
      expect(all.filter((m) => m.kind === 'ServiceMonitor').map((m) => m.metadata.name)).toEqual([
        'elevate-api',
        'elevate-worker',
      ]);
    },
  );

  it.skipIf(SKIP)(
    `when rendered with LDAP and AWS, then only the workers hold the target credentials and the IAM role; the API gets its read-only account${because}`,
    () => {
      const all = parseManifests(render(path.join(CHART, 'ci/mtls-values.yaml')));
      const worker = deployment(all, 'worker').pod;
      const api = deployment(all, 'api').pod;
      expect(envOf(worker.containers[0]!)).toMatchObject({
        LDAP_BIND_DN: 'cn=elevate,ou=services,dc=example,dc=org',
        LDAP_BIND_PASSWORD_FILE: '/etc/elevate/ldap/ldap-bind-password',
        AWS_REGION: 'eu-west-1',
      });
      expect(envOf(api.containers[0]!)).toMatchObject({
        LDAP_BIND_DN: 'cn=elevate-reader,ou=services,dc=example,dc=org',
        LDAP_BIND_PASSWORD_FILE: '/etc/elevate/ldap/ldap-api-bind-password',
      });
      expect(envOf(api.containers[0]!)).not.toHaveProperty('AWS_REGION');
      expect(JSON.stringify(api)).not.toContain('"ldap-bind-password"');
      expect(JSON.stringify(worker)).not.toContain('ldap-api-bind-password');
      const accounts = Object.fromEntries(
        all.filter((m) => m.kind === 'ServiceAccount').map((m) => [m.metadata.name, m.metadata]),
      ) as Record<string, { annotations?: Record<string, string> }>;
      expect(api.serviceAccountName).toBe('elevate');
      expect(worker.serviceAccountName).toBe('elevate-worker');
      expect(accounts['elevate-worker']?.annotations?.['eks.amazonaws.com/role-arn']).toMatch(
        /^arn:aws:iam::/,
      );
      expect(accounts['elevate']?.annotations ?? {}).toEqual({});
    },
  );

  it.skipIf(SKIP)(`when rendered with an API key, then it is a mounted file and TLS is on${because}`, () => {
    const all = parseManifests(render(path.join(CHART, 'ci/api-key-values.yaml')));
    const env = envOf(deployment(all, 'api').pod.containers[0]!);
    expect(env).toMatchObject({
      TEMPORAL_TLS: 'true',
      TEMPORAL_API_KEY_FILE: '/etc/elevate/temporal-api-key/api-key',
      TEMPORAL_NAMESPACE: 'elevate.a1b2c',
    });
    expect(env).not.toHaveProperty('TEMPORAL_API_KEY');
    expect(deployment(all, 'worker').pod.terminationGracePeriodSeconds).toBe(135);
    expect(all.filter((m) => m.kind === 'ServiceMonitor' || m.kind === 'Secret')).toEqual([]);
  });

  describe('the checks', () => {
    it.skipIf(SKIP)(
      `when a manifest has a field Kubernetes does not define, then kubeconform reports it${because}`,
      () => {
        const broken = render().replace(
          'automountServiceAccountToken: false',
          'automountServiceAccountTokens: false',
        );
        const result = kubeconform(broken);
        expect(result.summary.invalid).toBeGreaterThan(0);
        expect(result.resources.map((r) => r.msg).join('\n')).toMatch(/automountServiceAccountTokens/);
      },
    );

    it.skipIf(SKIP)(
      `when a kind has no schema in the fixtures, then kubeconform reports an error, not a pass${because}`,
      () => {
        const result = kubeconform(
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {}\n',
        );
        expect(result.summary.errors).toBe(1);
        expect(result.summary.valid).toBe(0);
      },
    );

    it.skipIf(SKIP)(
      `when a variable points at a file no volume provides, then the wiring check names it${because}`,
      () => {
        const { pod } = deployment(parseManifests(render()), 'api');
        pod.volumes = pod.volumes?.filter((v) => v.name !== 'api-secrets');
        expect(fileWiringProblems(pod)).toEqual([
          'api: ELEVATE_DECISION_SIGNING_KEY_FILE=/etc/elevate/api-secrets/decision-signing.pem: nothing is mounted at /etc/elevate/api-secrets',
        ]);
      },
    );

    it.skipIf(SKIP)(
      `when the API or a worker lacks the checkpoint key, or reads another one, then the checkpoint key check names it${because}`,
      () => {
        const withoutEnv = parseManifests(render());
        const worker = deployment(withoutEnv, 'worker').pod.containers[0]!;
        worker.env = worker.env?.filter((e) => e.name !== 'ELEVATE_AUDIT_CHECKPOINT_KEY_FILE');
        expect(checkpointKeyProblems(withoutEnv)).toEqual([
          'elevate-worker/worker: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)',
        ]);

        const otherSecret = parseManifests(render());
        const volume = deployment(otherSecret, 'api').pod.volumes?.find((v) => v.name === 'secrets');
        volume!.secret!.secretName = 'elevate-api-only';
        expect(checkpointKeyProblems(otherSecret)).toEqual([
          'the API and the workers do not share one checkpoint key (elevate-api/api: Secret elevate-api-only, key audit-checkpoint.pem; elevate-worker/worker: Secret elevate, key audit-checkpoint.pem)',
        ]);

        const unmounted = parseManifests(render());
        const api = deployment(unmounted, 'api').pod;
        const secrets = api.volumes?.find((v) => v.name === 'secrets')?.secret;
        secrets!.items = secrets!.items?.filter((i) => i.key !== 'audit-checkpoint.pem');
        expect(checkpointKeyProblems(unmounted)).toEqual([
          'elevate-api/api: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE=/etc/elevate/secrets/audit-checkpoint.pem is not a key of a mounted Secret',
        ]);

        // Switched off in the values: both Deployments are named.
        expect(
          checkpointKeyProblems(parseManifests(render(undefined, ['--set', 'auditCheckpoints.key=false']))),
        ).toEqual([
          'elevate-api/api: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)',
          'elevate-worker/worker: no ELEVATE_AUDIT_CHECKPOINT_KEY_FILE (audit checkpoints unsigned, single-use and bot-state rows without MACs)',
        ]);
      },
    );

    it.skipIf(SKIP)(`when required values are missing, then rendering fails naming them${because}`, () => {
      expect(helm(['template', 'elevate', CHART, '--set', 'secrets.existingSecret=']).out).toMatch(
        /secrets\.existingSecret: name the Secret with database-url/,
      );
      expect(helm(['template', 'elevate', CHART, '--set', 'decisionKeys.existingConfigMap=']).out).toMatch(
        /decisionKeys: give publicKeys or existingConfigMap/,
      );
      expect(helm(['template', 'elevate', CHART, '--set', 'secrets.create=true']).out).toMatch(
        /secrets\.databaseUrl is required with secrets\.create/,
      );
      const created = ['secrets.create=true', 'secrets.databaseUrl=x', 'secrets.metricsToken=y'];
      expect(helm(['template', 'elevate', CHART, ...created.flatMap((v) => ['--set', v])]).out).toMatch(
        /secrets\.auditCheckpointKey is required with secrets\.create/,
      );
    });
  });
});
