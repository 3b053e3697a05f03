/**
 * The hand-off of AWS credentials-mode sessions, on a real SQLite store: once only, never after
 * a revocation, encrypted at rest and bound to its elevation, whatever the order of a retried
 * grant, the bot's request and a revocation.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialVault,
  HandoffClosedError,
  HandoffUnreadableError,
  type HandoffCredentials,
} from '../../domain/credential-vault.js';
import { newCredentialsKey, parseCredentialsKey } from '../../core/crypto/credentials-key.js';
import { openStores, type Stores } from '../../store/stores.js';

let dir: string;
let stores: Stores;
let store: Stores['singleUse'];
/** Stores opened besides the first, as other processes would. */
const others: Stores[] = [];
let file: string;
const key = randomBytes(32);
let n = 0;
const nextId = () => `el_${(++n).toString(16).padStart(24, '0')}`;

function creds(id: string, minutes = 60): HandoffCredentials {
  return {
    accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(60).toString('base64'),
    expiration: new Date(Date.now() + minutes * 60_000).toISOString(),
    sessionName: `elevate-${id}`,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'elevate-vault-'));
  file = join(dir, 'audit.db');
  stores = await openStores({ sqlitePath: file });
  store = stores.singleUse;
});

afterAll(async () => {
  for (const s of [stores, ...others]) await s?.database.close();
  await rm(dir, { recursive: true, force: true });
});

/** Another process's stores on the same file. */
async function another(): Promise<Stores['singleUse']> {
  const opened = await openStores({ sqlitePath: file });
  others.push(opened);
  return opened.singleUse;
}

describe('credential vault', () => {
  it('hands the credentials over once, then refuses with the reason', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    const issued = creds(id);
    const info = await vault.issueOnce(id, () => Promise.resolve(issued));
    expect(info).toEqual({ sessionName: issued.sessionName, expiration: issued.expiration });

    const first = await vault.deliver(id);
    expect(first).toEqual({ ok: true, credentials: issued });
    const second = await vault.deliver(id);
    expect(second).toEqual({ ok: false, reason: 'already_delivered', session: info });
    // Revoking afterwards reports that the bot had them (so the session must be cut off).
    expect(await vault.withdraw(id)).toEqual({ session: info, delivered: true });
  });

  it('of concurrent deliveries exactly one gets the credentials', async () => {
    const vault = new CredentialVault(store, key);
    const other = new CredentialVault(await another(), key);
    const id = nextId();
    await vault.issueOnce(id, () => Promise.resolve(creds(id)));
    const results = await Promise.all([vault.deliver(id), other.deliver(id), vault.deliver(id)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('a retried grant reuses the first deposit and issues nothing new', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    let issues = 0;
    const issue = () => {
      issues += 1;
      return Promise.resolve(creds(id));
    };
    const a = await vault.issueOnce(id, issue);
    const b = await vault.issueOnce(id, issue);
    expect(issues).toBe(1);
    expect(b).toEqual(a);
  });

  it('after a delivery a late grant retry issues nothing and no second set can be fetched', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    let issues = 0;
    const issue = () => {
      issues += 1;
      return Promise.resolve(creds(id));
    };
    const info = await vault.issueOnce(id, issue);
    expect((await vault.deliver(id)).ok).toBe(true);
    expect(await vault.issueOnce(id, issue)).toEqual(info);
    expect(issues).toBe(1);
    expect((await vault.deliver(id)).ok).toBe(false);
  });

  it('a revocation before delivery destroys the credentials', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    const info = await vault.issueOnce(id, () => Promise.resolve(creds(id)));
    expect(await vault.withdraw(id)).toEqual({ session: info, delivered: false });
    expect(await vault.deliver(id)).toEqual({ ok: false, reason: 'revoked', session: info });
    // Nothing of the secret is left in the database.
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT * FROM ephemeral').all() as Record<string, unknown>[];
    db.close();
    expect(JSON.stringify(rows)).not.toContain(`credentials:deposit:${id}`);
    // Withdrawing twice is fine.
    expect(await vault.withdraw(id)).toEqual({ session: info, delivered: false });
  });

  it('a grant that arrives after the revocation issues nothing', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    await vault.withdraw(id);
    let issues = 0;
    await expect(
      vault.issueOnce(id, () => {
        issues += 1;
        return Promise.resolve(creds(id));
      }),
    ).rejects.toBeInstanceOf(HandoffClosedError);
    expect(issues).toBe(0);
    expect(await vault.deliver(id)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('a revocation racing the deposit leaves nothing behind', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    // The revocation lands while the grant is talking to STS.
    await vault.issueOnce(id, async () => {
      await vault.withdraw(id);
      return creds(id);
    });
    expect(await vault.deliver(id)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('stores only ciphertext, bound to its elevation', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    const issued = creds(id);
    await vault.issueOnce(id, () => Promise.resolve(issued));
    const db = new Database(file);
    const text = JSON.stringify(db.prepare('SELECT * FROM ephemeral').all());
    expect(text).not.toContain(issued.secretAccessKey);
    expect(text).not.toContain(issued.sessionToken);
    expect(text).not.toContain(issued.accessKeyId);
    // Moved under another elevation, the deposit does not decrypt.
    const thief = nextId();
    const moved = db
      .prepare('UPDATE ephemeral SET key = ? WHERE key = ?')
      .run(`credentials:deposit:${thief}`, `credentials:deposit:${id}`);
    db.close();
    expect(moved.changes).toBe(1);
    await expect(vault.deliver(thief)).rejects.toBeInstanceOf(HandoffUnreadableError);
  });

  it('a deposit whose tag was cut short is refused, though its first bytes are genuine', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    await vault.issueOnce(id, () => Promise.resolve(creds(id)));
    const db = new Database(file);
    const row = db.prepare('SELECT value FROM ephemeral WHERE key = ?').get(`credentials:deposit:${id}`) as {
      value: string;
    };
    const deposit = JSON.parse(row.value) as { tag: string };
    // A 4-byte prefix of the genuine tag: Node's GCM accepts it unless the length is pinned.
    deposit.tag = Buffer.from(deposit.tag, 'base64').subarray(0, 4).toString('base64');
    db.prepare('UPDATE ephemeral SET value = ? WHERE key = ?').run(
      JSON.stringify(deposit),
      `credentials:deposit:${id}`,
    );
    db.close();
    await expect(vault.deliver(id)).rejects.toBeInstanceOf(HandoffUnreadableError);
  });

  it('a process with another key cannot read a deposit', async () => {
    const id = nextId();
    await new CredentialVault(store, key).issueOnce(id, () => Promise.resolve(creds(id)));
    const wrong = new CredentialVault(store, randomBytes(32));
    await expect(wrong.deliver(id)).rejects.toThrow(/ELEVATE_CREDENTIALS_KEY differs/);
  });

  it('a key being rotated out still opens what waits, and new deposits use the new key', async () => {
    const id = nextId();
    await new CredentialVault(store, key).issueOnce(id, () => Promise.resolve(creds(id)));
    const next = randomBytes(32);
    const rotated = new CredentialVault(store, next, undefined, [key]);
    expect((await rotated.deliver(id)).ok).toBe(true);
    const later = nextId();
    await rotated.issueOnce(later, () => Promise.resolve(creds(later)));
    // A process that only has the old key cannot open what the new key sealed.
    await expect(new CredentialVault(store, key).deliver(later)).rejects.toBeInstanceOf(
      HandoffUnreadableError,
    );
  });

  it('expired credentials are not handed out', async () => {
    const vault = new CredentialVault(store, key);
    const id = nextId();
    const issued = { ...creds(id), expiration: new Date(Date.now() + 300).toISOString() };
    await vault.issueOnce(id, () => Promise.resolve(issued));
    await new Promise((r) => setTimeout(r, 400));
    expect(await vault.deliver(id)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('reads keys as base64 or hex, and refuses anything else without echoing it', () => {
    const k = newCredentialsKey();
    expect(parseCredentialsKey(k)).toHaveLength(32);
    expect(parseCredentialsKey(randomBytes(32).toString('hex'))).toHaveLength(32);
    for (const bad of ['', 'short', randomBytes(16).toString('base64'), `${k}x`]) {
      expect(() => parseCredentialsKey(bad)).toThrow(/32 random bytes/);
      if (bad) {
        try {
          parseCredentialsKey(bad);
        } catch (err) {
          expect((err as Error).message).not.toContain(bad);
        }
      }
    }
  });
});
