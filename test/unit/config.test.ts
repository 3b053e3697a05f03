import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { parsePolicy } from '../../config/load-policy.js';
import { loadSettings } from '../../config/settings.js';
import { strictestRole } from '../../config/bundle-policy.js';

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;
const env = { BOT_HASH: HASH_A, ADMIN_HASH: HASH_B };

const valid = `version: 1
admins:
  - id: ops
    tokenHash: \${ADMIN_HASH}
bots:
  - id: ci-bot
    owner: Owner@Example.org
    team: platform
    purpose: deploys
    environment: prod
    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org
    apiKeyHash: \${BOT_HASH}
    roles: [deploy, reviewed]
roles:
  - id: deploy
    environment: prod
    target: { type: ldap, groupDn: "cn=deploy,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 900
    approval: { mode: auto }
  - id: reviewed
    environment: prod
    target: { type: ldap, groupDn: "cn=reviewed,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 900
    approval:
      mode: approvers
      approvers: [ann@example.org, ben@example.org]
      quorum: 2
`;

function problem(text: string, e: Record<string, string> = env): ConfigError {
  try {
    parsePolicy(text, 'policy.yaml', e);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy file', () => {
  it('when the policy is valid, then it parses with defaults applied, e-mails lower-cased, and frozen', () => {
    const policy = parsePolicy(valid, 'policy.yaml', env);
    expect(policy.bots[0]).toMatchObject({ owner: 'owner@example.org', apiKeyHash: HASH_A, disabled: false });
    expect(policy.roles[1]!.approval).toEqual({
      mode: 'approvers',
      groups: [{ name: 'approvers', quorum: 2, members: ['ann@example.org', 'ben@example.org'] }],
      windowSeconds: 900,
      ownerMayApprove: false,
    });
    expect(Object.isFrozen(policy.bots[0])).toBe(true);
  });

  it('when the shipped example policy is loaded with its two hashes, then it is valid', () => {
    const text = readFileSync(path.resolve(import.meta.dirname, '../../examples/policy.yaml'), 'utf8');
    const policy = parsePolicy(text, 'examples/policy.yaml', {
      ELEVATE_DEMO_BOT_KEY_HASH: HASH_A,
      ELEVATE_ADMIN_TOKEN_HASH: HASH_B,
    });
    expect(policy.roles.map((r) => [r.id, r.approval.mode, r.maxDurationSeconds])).toEqual([
      ['demo-auto', 'auto', 3600],
      ['demo-approval', 'approvers', 3600],
    ]);
  });

  it.each([
    [
      'an unknown field',
      valid.replace('team: platform', 'team: platform\n    tem: typo'),
      'bots[0].tem: unknown field',
      '9:5',
    ],
    [
      'a quorum above the approvers',
      valid.replace('quorum: 2', 'quorum: 3'),
      'roles[1].approval.quorum: is 3 but only 2',
      '27:7',
    ],
    [
      'an unknown role on a bot',
      valid.replace('[deploy, reviewed]', '[deploy, ghost]'),
      'bots[0].roles[1]: unknown role "ghost"',
      '',
    ],
    [
      'a role of another environment',
      valid.replace(
        'environment: prod\n    target: { type: ldap, groupDn: "cn=deploy',
        'environment: dev\n    target: { type: ldap, groupDn: "cn=deploy',
      ),
      'bots[0].roles[0]: role "deploy" is in environment "dev"',
      '',
    ],
    [
      'an invalid group DN',
      valid.replace('cn=deploy,ou=groups', 'cn=deploy,,ou=groups'),
      'roles[0].target.groupDn: must be a valid LDAP DN',
      '',
    ],
    [
      'a malformed API key hash',
      valid.replace('${BOT_HASH}', 'md5:abc'),
      'bots[0].apiKeyHash: must be "sha256:"',
      '',
    ],
    [
      'a bot id with LDAP specials',
      valid.replace('id: ci-bot', 'id: "ci*)(uid=*"'),
      'bots[0].id: must be 1-63 lowercase',
      '',
    ],
    [
      'a zero duration',
      valid.replace('maxDurationSeconds: 900', 'maxDurationSeconds: 0'),
      'roles[0].maxDurationSeconds',
      '',
    ],
    [
      'the same key for a bot and an admin',
      valid.replace('${ADMIN_HASH}', '${BOT_HASH}'),
      'bots[0].apiKeyHash: is already used',
      '',
    ],
    [
      'an unknown approval mode',
      valid.replace('{ mode: auto }', '{ mode: yolo }'),
      'roles[0].approval.mode',
      '',
    ],
  ])('when the policy has %s, then start-up stops naming the field and its line', (_, text, message, at) => {
    const err = problem(text);
    expect(err.message).toContain(message);
    if (at) expect(err.message).toContain(`policy.yaml:${at} `);
    expect(err.message).toMatch(/^policy\.yaml:\d+:\d+ /);
  });

  it('when only the owner could approve a role that refuses owners, then it is refused before it can deadlock', () => {
    const text = valid
      .replace('[ann@example.org, ben@example.org]', '[owner@example.org]')
      .replace('quorum: 2', 'quorum: 1');
    expect(problem(text).message).toContain(
      `bots[0].roles[1]: role "reviewed"'s approver groups cannot be met by people other than the bot's owner`,
    );
  });

  it('when a referenced environment variable is unset, then the message names the field and the variable', () => {
    const err = problem(valid, { ADMIN_HASH: HASH_B });
    expect(err.message).toBe('policy.yaml:12:5 bots[0].apiKeyHash: environment variable BOT_HASH is not set');
    expect(err.field).toBe('bots[0].apiKeyHash');
  });

  it('when a value has a default or an escaped dollar, then both are honoured', () => {
    const text = valid.replace('purpose: deploys', 'purpose: "costs $$5 ${PURPOSE:-by default}"');
    expect(parsePolicy(text, 'p.yaml', env).bots[0]!.purpose).toBe('costs $5 by default');
  });

  it('when the YAML itself is broken, then the message points at the line', () => {
    expect(problem('version: 1\nbots: [\n').message).toMatch(/^policy\.yaml:\d+:\d+ invalid YAML/);
    expect(problem('version: 1\nversion: 2\n').message).toMatch(/invalid YAML/);
  });
});

describe('settings from the environment', () => {
  it('when nothing is set, then the embedded defaults apply', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      temporal: { namespace: 'default', taskQueue: 'elevate' },
    });
    expect(s.audit.sqlitePath).toBe(path.resolve('data', 'audit.db'));
    expect(s.ldap).toBeUndefined();
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://u:secret@db/x' }, 'DATABASE_URL'],
    [{ LDAP_URL: 'http://x' }, 'LDAP_URL'],
    [{ LDAP_URL: 'ldap://x' }, 'LDAP_BIND_DN'],
    [{ LDAP_URL: 'ldap://x', LDAP_BIND_DN: 'cn=admin' }, 'LDAP_BIND_PASSWORD'],
    [
      { LDAP_URL: 'ldap://x', LDAP_BIND_DN: 'cn=a', LDAP_BIND_PASSWORD_FILE: '/nonexistent/pw' },
      'LDAP_BIND_PASSWORD_FILE',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ADMIN_OIDC_GROUPS: 'admins', ADMIN_SIGN_IN_MAX_AGE_SECONDS: '30' }, 'ADMIN_SIGN_IN_MAX_AGE_SECONDS'],
    [{ ADMIN_OIDC_GROUPS: 'admins', ADMIN_SIGN_IN_MAX_AGE_SECONDS: 'soon' }, 'ADMIN_SIGN_IN_MAX_AGE_SECONDS'],
    [{ ADMIN_SIGN_IN_MAX_AGE_SECONDS: '900' }, 'ADMIN_SIGN_IN_MAX_AGE_SECONDS'],
  ])('when the environment has %o, then start-up stops naming %s without echoing secrets', (e, field) => {
    let err: unknown;
    try {
      loadSettings(e);
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
    expect((err as Error).message.startsWith(`${field}:`)).toBe(true);
    expect((err as Error).message).not.toContain('secret');
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8', 'loopback, 10.0.0.0/8'],
  ])('when ELEVATE_TRUST_PROXY is %s, then trust proxy is %s', (value, expected) => {
    expect(loadSettings(value === undefined ? {} : { ELEVATE_TRUST_PROXY: value }).trustProxy).toEqual(
      expected,
    );
  });

  it('when the console asks for a recent sign-in, then its settings carry the age; otherwise the bounded default (L13)', () => {
    expect(
      loadSettings({ ADMIN_OIDC_GROUPS: 'admins', ADMIN_SIGN_IN_MAX_AGE_SECONDS: '300' }).adminConsole,
    ).toMatchObject({ groups: ['admins'], signInMaxAgeSeconds: 300 });
    // Never "reuse any session at the provider" by default: an amr may be hours old.
    expect(loadSettings({ ADMIN_OIDC_GROUPS: 'admins' }).adminConsole).toMatchObject({
      signInMaxAgeSeconds: 900,
    });
  });

  it('when the e-mail claim is not `email` and not declared trusted, then start-up stops naming OIDC_EMAIL_CLAIM_TRUSTED (M2)', () => {
    const oidc = { OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'elevate' };
    expect(() => loadSettings({ ...oidc, OIDC_EMAIL_CLAIM: 'upn' })).toThrow(/OIDC_EMAIL_CLAIM_TRUSTED/);
    expect(
      loadSettings({ ...oidc, OIDC_EMAIL_CLAIM: 'upn', OIDC_EMAIL_CLAIM_TRUSTED: 'true' }).oidc,
    ).toMatchObject({
      emailClaim: 'upn',
      emailClaimTrusted: true,
    });
  });

  it('when approvers are joined by another LDAP attribute, then the claim that holds it must be named (M1)', () => {
    const oidc = { OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'elevate' };
    expect(() => loadSettings({ ...oidc, LDAP_APPROVER_JOIN_ATTRIBUTE: 'uid' })).toThrow(
      /OIDC_APPROVER_JOIN_CLAIM/,
    );
    expect(() => loadSettings({ ...oidc, OIDC_APPROVER_JOIN_CLAIM: 'preferred_username' })).toThrow(
      /LDAP_APPROVER_JOIN_ATTRIBUTE/,
    );
    expect(() => loadSettings({ LDAP_APPROVER_JOIN_ATTRIBUTE: 'uid)(mail=*' })).toThrow(
      /LDAP_APPROVER_JOIN_ATTRIBUTE/,
    );
    const s = loadSettings({
      ...oidc,
      LDAP_APPROVER_JOIN_ATTRIBUTE: 'uid',
      OIDC_APPROVER_JOIN_CLAIM: 'preferred_username',
    });
    expect(s.ldapApproverJoinAttribute).toBe('uid');
    expect(s.oidc).toMatchObject({ joinClaim: 'preferred_username', mfaMethods: ['mfa', 'hwk', 'fido'] });
  });

  it('when the LDAP password comes from a file, then it is read and trimmed', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-settings-'));
    writeFileSync(path.join(dir, 'pw'), 's3cret\n');
    const s = loadSettings({
      LDAP_URL: 'ldap://x',
      LDAP_BIND_DN: 'cn=a',
      LDAP_BIND_PASSWORD_FILE: path.join(dir, 'pw'),
    });
    expect(s.ldap?.bindPassword).toBe('s3cret');
  });
});

/** Runs the `elevate` command with the test environment (audit store, Slack and OIDC unset) plus `extra`. */
const cli = (args: string[], extra: Record<string, string> = {}) => {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of ['DATABASE_URL', 'ELEVATE_SQLITE_PATH', 'OIDC_ISSUER', 'SLACK_BOT_TOKEN'])
    delete childEnv[name];
  Object.assign(childEnv, extra);
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bin/elevate.ts', ...args], {
      encoding: 'utf8',
      stdio: 'pipe',
      env: childEnv,
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stderr: string };
    return { code: e.status, out: e.stderr };
  }
};

describe('elevate config check', () => {
  it('when the file is valid, then it exits 0; when not, then 3 with the field; with no file, then 2', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-cli-'));
    writeFileSync(path.join(dir, 'good.yaml'), valid);
    writeFileSync(path.join(dir, 'bad.yaml'), valid.replace('quorum: 2', 'quorum: 5'));
    const good = cli(['config', 'check', path.join(dir, 'good.yaml')]);
    expect(good).toMatchObject({ code: 0 });
    expect(good.out).toContain('valid (1 bot(s), 2 role(s), 1 admin(s))');
    const bad = cli(['config', 'check', path.join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(3);
    expect(bad.out).toContain('roles[1].approval.quorum');
    expect(cli(['config', 'check']).code).toBe(2);
  });

  /** What `elevate api` and `elevate worker` are started with: a valid policy, nothing reachable. */
  const processEnv = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-cli-'));
    writeFileSync(path.join(dir, 'good.yaml'), valid);
    return {
      dir,
      env: {
        ELEVATE_CONFIG: path.join(dir, 'good.yaml'),
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        LDAP_URL: 'ldap://127.0.0.1:1',
        LDAP_BIND_DN: 'cn=admin',
        LDAP_BIND_PASSWORD: 'not-used',
      },
    };
  };

  it('when `elevate api` or `worker` has no shared audit store, then it refuses to start naming DATABASE_URL', () => {
    const base = processEnv().env;
    for (const command of ['api', 'worker']) {
      const res = cli([command], base);
      expect(res.code).toBe(3);
      expect(res.out).toContain(`DATABASE_URL: must be set for \`elevate ${command}\``);
      const noTemporal = cli([command], { ...base, TEMPORAL_ADDRESS: '' });
      expect(noTemporal.code).toBe(3);
      expect(noTemporal.out).toContain('TEMPORAL_ADDRESS: must be set');
    }
  });

  it('when `elevate api` has no decision signing key, or `elevate worker` no public key, then it refuses to start naming it', () => {
    const { dir, env } = processEnv();
    const base = {
      ...env,
      ELEVATE_SQLITE_PATH: path.join(dir, 'audit.db'),
      OIDC_ISSUER: 'https://idp.example.org',
      OIDC_CLIENT_ID: 'elevate',
    };
    const api = cli(['api'], base);
    expect(api.code).toBe(3);
    expect(api.out).toContain('ELEVATE_DECISION_SIGNING_KEY: must be set');
    const worker = cli(['worker'], base);
    expect(worker.code).toBe(3);
    expect(worker.out).toContain('ELEVATE_DECISION_PUBLIC_KEYS: must be set');
  });
});

describe('approver groups in the policy', () => {
  const SHORTHAND = `    approval:
      mode: approvers
      approvers: [ann@example.org, ben@example.org]
      quorum: 2
`;
  /** The valid policy with role "reviewed"'s approval replaced by `lines` (indented under `approval:`). */
  const withApproval = (...lines: string[]): string => {
    expect(valid).toContain(SHORTHAND);
    return valid.replace(
      SHORTHAND,
      `    approval:\n${['mode: approvers', ...lines].map((l) => `      ${l}\n`).join('')}`,
    );
  };
  const SECURITY_DN = 'cn=security,ou=groups,dc=example,dc=org';
  const reviewed = (text: string) => parsePolicy(text, 'policy.yaml', env).roles[1]!.approval;

  it('when groups list members or an LDAP group, then each parses with its quorum and lower-cased members', () => {
    const text = withApproval(
      'groups:',
      '  - name: ops',
      '    members: [Ann@Example.org, ben@example.org]',
      '  - name: security',
      `    ldapGroup: "${SECURITY_DN}"`,
      '    quorum: 2',
      'windowSeconds: 600',
    );
    expect(reviewed(text)).toEqual({
      mode: 'approvers',
      groups: [
        { name: 'ops', quorum: 1, members: ['ann@example.org', 'ben@example.org'] },
        { name: 'security', quorum: 2, ldapGroupDn: SECURITY_DN },
      ],
      windowSeconds: 600,
      ownerMayApprove: false,
    });
  });

  it('when the shorthand approvers is used without a quorum, then it is one group named approvers of quorum 1', () => {
    expect(reviewed(withApproval('approvers: [Sue@Example.org]'))).toEqual({
      mode: 'approvers',
      groups: [{ name: 'approvers', quorum: 1, members: ['sue@example.org'] }],
      windowSeconds: 900,
      ownerMayApprove: false,
    });
  });

  it.each([
    [
      'both groups and approvers',
      ['approvers: [ann@example.org]', 'groups:', '  - name: ops', '    members: [ben@example.org]'],
      'roles[1].approval.groups: give exactly one of groups',
    ],
    ['neither groups nor approvers', ['windowSeconds: 600'], 'roles[1].approval.groups: give exactly one of'],
    [
      'a quorum next to groups',
      ['quorum: 1', 'groups:', '  - name: ops', '    members: [ben@example.org]'],
      'roles[1].approval.quorum: goes with approvers',
    ],
    [
      'a group with both members and an LDAP group',
      ['groups:', '  - name: ops', '    members: [ben@example.org]', `    ldapGroup: "${SECURITY_DN}"`],
      'roles[1].approval.groups[0].members: give exactly one of members',
    ],
    [
      'a group with neither members nor an LDAP group',
      ['groups:', '  - name: ops', '  - name: security', '    members: [ben@example.org]'],
      'roles[1].approval.groups[0].members: give exactly one of members',
    ],
    [
      'two groups with the same name',
      [
        'groups:',
        '  - name: ops',
        '    members: [ann@example.org]',
        '  - name: ops',
        '    members: [ben@example.org]',
      ],
      'roles[1].approval.groups[1].name: duplicate group "ops"',
    ],
    [
      'a group quorum above its members',
      ['groups:', '  - name: ops', '    members: [ann@example.org, ben@example.org]', '    quorum: 3'],
      'roles[1].approval.groups[0].quorum: is 3 but only 2 member(s)',
    ],
    [
      'a group listing the same person twice in other case',
      ['groups:', '  - name: ops', '    members: [ann@example.org, ANN@example.org]'],
      'roles[1].approval.groups[0].members: lists the same person twice',
    ],
    [
      'an invalid LDAP group DN',
      ['groups:', '  - name: ops', '    ldapGroup: "cn=ops,,dc=example,dc=org"'],
      'roles[1].approval.groups[0].ldapGroup: must be a valid LDAP DN',
    ],
    [
      'a group name with LDAP specials',
      ['groups:', '  - name: "ops*)(cn=*"', '    members: [ann@example.org]'],
      'roles[1].approval.groups[0].name: must be 1-63 lowercase',
    ],
    ['an empty list of groups', ['groups: []'], 'roles[1].approval.groups: must list at least one group'],
  ])('when the approval has %s, then it is refused naming the field', (_, lines, message) => {
    const err = problem(withApproval(...lines));
    expect(err.message).toContain(message);
    expect(err.message).toMatch(/^policy\.yaml:\d+:\d+ /);
  });

  it('when one group can only be met by the bot owner and owners may not approve, then the bot role is refused', () => {
    const text = withApproval(
      'groups:',
      '  - name: ops',
      '    members: [ann@example.org, ben@example.org]',
      '  - name: owners',
      '    members: [OWNER@example.org]',
    );
    const err = problem(text);
    expect(err.message).toContain(
      `bots[0].roles[1]: role "reviewed"'s approver groups cannot be met by people other than the bot's owner owner@example.org`,
    );
    expect(err.field).toBe('bots[0].roles[1]');
    // The same groups are fine once the owner may approve.
    const allowed = text.replace('mode: approvers', 'mode: approvers\n      ownerMayApprove: true');
    expect(reviewed(allowed).mode).toBe('approvers');
  });

  it('when the only person other than the owner is in both groups, then the groups cannot be met and it is refused', () => {
    // ann can fill one seat only; the other group's only other member is the owner.
    const text = withApproval(
      'groups:',
      '  - name: ops',
      '    members: [owner@example.org, ann@example.org]',
      '  - name: security',
      '    members: [ann@example.org, owner@example.org]',
    );
    expect(problem(text).message).toContain('bots[0].roles[1]: role "reviewed"');
    // A second non-owner in either group is enough.
    const fixed = reviewed(
      text.replace('[owner@example.org, ann@example.org]', '[ben@example.org, ann@example.org]'),
    );
    expect(fixed.mode === 'approvers' && fixed.groups.map((g) => g.members)).toEqual([
      ['ben@example.org', 'ann@example.org'],
      ['ann@example.org', 'owner@example.org'],
    ]);
  });

  it('when a group is an LDAP group, then it is assumed to have people other than the owner', () => {
    const text = withApproval(
      'groups:',
      '  - name: owners',
      '    members: [ann@example.org]',
      '  - name: security',
      `    ldapGroup: "${SECURITY_DN}"`,
      '    quorum: 3',
    );
    expect(reviewed(text).mode).toBe('approvers');
    // Only the listed group is checked: replacing ann by the owner makes it refused again.
    expect(problem(text.replace('[ann@example.org]', '[owner@example.org]')).message).toContain(
      'bots[0].roles[1]: role "reviewed"',
    );
  });
});

describe('approval settings', () => {
  it('when a role has groups nobody can meet together, then the role is refused even where owners may approve', () => {
    const text = valid.replace(
      `    approval:
      mode: approvers
      approvers: [ann@example.org, ben@example.org]
      quorum: 2
`,
      `    approval:
      mode: approvers
      ownerMayApprove: true
      groups:
        - name: a
          members: [ann@example.org]
        - name: b
          members: [ann@example.org]
`,
    );
    expect(problem(text).message).toContain(
      'roles[1].approval.groups: cannot all be met: one person counts for one group only',
    );
  });

  it('when ELEVATE_PUBLIC_URL has a path, then it is refused; OIDC_ISSUER keeps its trailing slash', () => {
    expect(() => loadSettings({ ELEVATE_PUBLIC_URL: 'https://example.org/elevate' })).toThrow(
      /ELEVATE_PUBLIC_URL: must be an http:\/\/ or https:\/\/ origin without a path/,
    );
    const s = loadSettings({
      ELEVATE_PUBLIC_URL: 'https://elevate.example.org/',
      OIDC_ISSUER: 'https://login.example.org/realms/main/',
      OIDC_CLIENT_ID: 'elevate',
    });
    expect(s.publicUrl).toBe('https://elevate.example.org');
    expect(s.oidc).toMatchObject({
      issuer: 'https://login.example.org/realms/main/',
      redirectUri: 'https://elevate.example.org/approvals/callback',
      mfaMethods: ['mfa', 'hwk', 'fido'],
      maxAgeSeconds: 300,
    });
    expect(() => loadSettings({ OIDC_ISSUER: 'https://login.example.org' })).toThrow(/OIDC_CLIENT_ID/);
    expect(() => loadSettings({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => loadSettings({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SOCKET_MODE: 'true' })).toThrow(
      /SLACK_APP_TOKEN/,
    );
  });

  it('when browsers would reach Elevate over plain http on another machine, then it refuses to start unless ELEVATE_ALLOW_INSECURE_HTTP is set', () => {
    const oidc = { OIDC_ISSUER: 'https://login.example.org', OIDC_CLIENT_ID: 'elevate' };
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's'.repeat(32) };
    for (const people of [oidc, slack]) {
      expect(() => loadSettings({ ...people, ELEVATE_PUBLIC_URL: 'http://elevate.example.org' })).toThrow(
        /^ELEVATE_PUBLIC_URL: http:\/\/elevate\.example\.org is plain http:\/\/ to another machine.*ELEVATE_ALLOW_INSECURE_HTTP=1/,
      );
      // The default derived from HOST names HOST.
      expect(() => loadSettings({ ...people, HOST: '0.0.0.0' })).toThrow(
        /^HOST: the public URL derived from it/,
      );
      for (const ok of [
        'https://elevate.example.org',
        'http://127.0.0.1:8080',
        'http://localhost:8080',
        'http://[::1]:8080',
      ]) {
        expect(loadSettings({ ...people, ELEVATE_PUBLIC_URL: ok }).publicUrl, ok).toBe(ok);
      }
      for (const allow of ['1', 'true']) {
        const s = loadSettings({ ...people, HOST: '0.0.0.0', ELEVATE_ALLOW_INSECURE_HTTP: allow });
        expect(s.publicUrl).toBe('http://0.0.0.0:8080');
      }
    }
    // Without OIDC or Slack no browser uses the public URL: nothing to refuse.
    expect(loadSettings({ HOST: '0.0.0.0' }).publicUrl).toBe('http://0.0.0.0:8080');
    expect(() => loadSettings({ ELEVATE_ALLOW_INSECURE_HTTP: 'yes' })).toThrow(
      /^ELEVATE_ALLOW_INSECURE_HTTP:/,
    );
  });

  it('when the limit of failed authentications is not set, then 20 at once and 10 a minute per network; set, it is taken', () => {
    expect(loadSettings({}).authFailureLimit).toEqual({ burst: 20, perMinute: 10 });
    expect(
      loadSettings({ ELEVATE_AUTH_FAILURE_BURST: '0', ELEVATE_AUTH_FAILURE_PER_MINUTE: '60' })
        .authFailureLimit,
    ).toEqual({ burst: 0, perMinute: 60 });
    expect(() => loadSettings({ ELEVATE_AUTH_FAILURE_PER_MINUTE: '0' })).toThrow(
      /^ELEVATE_AUTH_FAILURE_PER_MINUTE:/,
    );
  });

  it('when `elevate api` has roles that need approvals but no OIDC_ISSUER, then it refuses to start naming it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-cli-'));
    writeFileSync(path.join(dir, 'good.yaml'), valid);
    const res = cli(['api'], {
      ELEVATE_CONFIG: path.join(dir, 'good.yaml'),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      LDAP_URL: 'ldap://127.0.0.1:1',
      LDAP_BIND_DN: 'cn=admin',
      LDAP_BIND_PASSWORD: 'not-used',
      ELEVATE_SQLITE_PATH: path.join(dir, 'audit.db'),
    });
    expect(res.code).toBe(3);
    expect(res.out).toContain('OIDC_ISSUER: must be set for `elevate api`: roles reviewed need approvals');
  });
});

describe('targets in the policy', () => {
  const pgRole = `    target: { type: postgres, server: warehouse, role: "reporting read" }`;
  const withTarget = (target: string, botExtra = ''): string =>
    valid
      .replace(`    target: { type: ldap, groupDn: "cn=deploy,ou=groups,dc=example,dc=org" }`, target)
      .replace(
        '    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org\n',
        `    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org\n${botExtra}`,
      );

  it('when a role is granted in PostgreSQL, then the bot needs postgresLogin, and the role name is kept as written', () => {
    expect(problem(withTarget(pgRole)).message).toContain(
      'bots[0].roles[0]: role "deploy" is granted in postgres, so the bot needs postgresLogin',
    );
    const policy = parsePolicy(withTarget(pgRole, '    postgresLogin: ci_bot\n'), 'policy.yaml', env);
    expect(policy.roles[0]!.target).toEqual({
      type: 'postgres',
      server: 'warehouse',
      role: 'reporting read',
    });
  });

  it('when a PostgreSQL role is a predefined pg_ role or too long, then it is refused naming the field', () => {
    expect(
      problem(withTarget(pgRole.replace('reporting read', 'pg_read_all_data'), '    postgresLogin: x\n'))
        .message,
    ).toContain('roles[0].target.role: must not be a predefined pg_ role');
    expect(
      problem(withTarget(pgRole.replace('reporting read', 'r'.repeat(64)), '    postgresLogin: x\n')).message,
    ).toContain('roles[0].target.role: must be 1-63 bytes');
  });

  it('when a role attaches an AWS policy, then the document is kept as JSON and the bot needs an IAM principal ARN', () => {
    const attach = `    target:
      type: aws-iam
      mode: attach
      policy:
        Version: "2012-10-17"
        Statement:
          - { Effect: Allow, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/*" }`;
    expect(problem(withTarget(attach)).message).toContain('so the bot needs awsPrincipal');
    expect(problem(withTarget(attach, '    awsPrincipal: ci-bot\n')).message).toContain(
      'bots[0].awsPrincipal: must be the ARN of an IAM role or user',
    );
    const policy = parsePolicy(
      withTarget(attach, '    awsPrincipal: arn:aws:iam::123456789012:role/ci-bot\n'),
      'policy.yaml',
      env,
    );
    const target = policy.roles[0]!.target;
    expect(target).toMatchObject({ type: 'aws-iam', mode: 'attach' });
    expect(JSON.parse((target as { policyDocument: string }).policyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }],
    });
    expect(problem(withTarget(attach.replace('"2012-10-17"', '"2008-10-17"'))).message).toContain(
      'roles[0].target',
    );
  });

  it('when a role asks for AWS credentials mode, then it needs a role ARN and no drift rule', () => {
    const creds = `    target: { type: aws-iam, mode: credentials, roleArn: "arn:aws:iam::123456789012:role/deployer" }`;
    const policy = parsePolicy(withTarget(creds), 'policy.yaml', env);
    expect(policy.roles[0]!.target).toEqual({
      type: 'aws-iam',
      mode: 'credentials',
      roleArn: 'arn:aws:iam::123456789012:role/deployer',
    });
    expect(
      problem(
        withTarget(`${creds}
    drift: { action: revert }`),
      ).message,
    ).toContain('roles[0].drift: credentials mode leaves nothing standing to reconcile');
    expect(problem(withTarget(creds.replace(':role/deployer', ':user/deployer'))).message).toContain(
      'must be the ARN of an IAM role',
    );
  });
});

describe('drift in the policy', () => {
  const deploy = `    target: { type: ldap, groupDn: "cn=deploy,ou=groups,dc=example,dc=org" }\n`;
  const withDrift = (drift: string, target = deploy): string =>
    valid.replace(deploy, `${target}    drift: ${drift}\n`);

  it('when a role says nothing, then drift is alert with no standing members', () => {
    expect(parsePolicy(valid, 'policy.yaml', env).roles[0]!.drift).toEqual({ action: 'alert', standing: [] });
  });

  it('when a role reverts with standing members, then they are kept as written', () => {
    const policy = parsePolicy(
      withDrift('{ action: revert, standing: ["uid=release,ou=bots,dc=example,dc=org"] }'),
      'policy.yaml',
      env,
    );
    expect(policy.roles[0]!.drift).toEqual({
      action: 'revert',
      standing: ['uid=release,ou=bots,dc=example,dc=org'],
    });
  });

  it('when an LDAP standing member is not a DN, or an action is unknown, then it is refused naming the field', () => {
    expect(problem(withDrift('{ standing: ["release-bot"] }')).message).toContain(
      'roles[0].drift.standing[0]',
    );
    expect(problem(withDrift('{ action: delete }')).message).toContain('roles[0].drift.action');
  });

  it('when an AWS role reverts drift, then its standing entries must be policy ARNs or inline names', () => {
    const aws = `    target:
      type: aws-iam
      mode: attach
      policy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "s3:GetObject", Resource: "*" }] }
`;
    const text = (drift: string) =>
      withDrift(drift, aws).replace(
        '    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org\n',
        '    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org\n    awsPrincipal: arn:aws:iam::123456789012:role/ci\n',
      );
    const standing = ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'inline:baseline'];
    const policy = parsePolicy(
      text(`{ action: revert, standing: ${JSON.stringify(standing)} }`),
      'p.yaml',
      env,
    );
    expect(policy.roles[0]!.drift).toEqual({ action: 'revert', standing });
    expect(problem(text('{ action: revert, standing: ["uid=x,dc=example,dc=org"] }')).message).toContain(
      'roles[0].drift.standing[0]: must be the ARN of a managed policy',
    );
  });
});

describe('policy file: role bundles', () => {
  const bundles = (body: string) => `${valid}bundles:\n${body}`;
  const both = '  - id: release\n    roles: [deploy, reviewed]\n';

  it('when a bundle lists known roles, then it parses and its approval is left to the strictest role', () => {
    const policy = parsePolicy(bundles(both), 'policy.yaml', env);
    expect(policy.bundles).toEqual([{ id: 'release', roles: ['deploy', 'reviewed'] }]);
  });

  it('when a bundle names no approval, then the strictest role decides: approvers over auto, then the most approvals', () => {
    const policy = parsePolicy(bundles(both), 'policy.yaml', env);
    expect(strictestRole(policy.roles)?.id).toBe('reviewed');
    expect(strictestRole([policy.roles[0]!])?.id).toBe('deploy');
  });

  it.each([
    ['an unknown role', both.replace('reviewed]', 'ghost]'), 'bundles[0].roles[1]: unknown role "ghost"'],
    [
      'the same role twice',
      both.replace('reviewed]', 'deploy]'),
      'bundles[0].roles[1]: lists role "deploy" twice',
    ],
    [
      'one role',
      both.replace('[deploy, reviewed]', '[deploy]'),
      'bundles[0].roles: must list at least two roles',
    ],
    [
      'a role id as its id',
      both.replace('id: release', 'id: deploy'),
      'bundles[0].id: "deploy" is a role id too',
    ],
    [
      'an approval laxer than a role',
      `${both}    approval: { mode: auto }\n`,
      'bundles[0].approval: must need approvers: role "reviewed" does',
    ],
    [
      'a smaller quorum than a role',
      `${both}    approval: { mode: approvers, approvers: [ann@example.org] }\n`,
      'bundles[0].approval: needs 1 approval(s) in all but role "reviewed" needs 2',
    ],
    ['an unknown field', `${both}    extend: true\n`, 'bundles[0].extend: unknown field'],
  ])('when a bundle has %s, then start-up stops naming the field', (_, body, message) => {
    expect(problem(bundles(body)).message).toContain(message);
  });
});
