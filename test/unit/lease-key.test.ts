import { describe, expect, it } from 'vitest';
import { leaseKey } from '../../domain/grant-ledger.js';

describe('leaseKey', () => {
  it('when names contain `|` or `\\`, then two different grants never share a key', () => {
    const pg = (role: string, login: string) =>
      leaseKey({ type: 'postgres', server: 'main', role }, login, 'el_1');
    expect(pg('a|b', 'c')).not.toBe(pg('a', 'b|c'));
    expect(pg('a\\', '|c')).not.toBe(pg('a\\|', 'c'));

    const ldap = (group: string, principal: string) =>
      leaseKey({ type: 'ldap', groupDn: group }, principal, 'el_1');
    // `dc=x|uid=b` is one value: the split must not move between group and principal.
    expect(ldap('cn=g,dc=x|cn=h', 'uid=b')).not.toBe(ldap('cn=g,dc=x', 'cn=h|uid=b'));
  });

  it('when names hold neither character, then the key is the one recorded by earlier versions', () => {
    expect(leaseKey({ type: 'postgres', server: 'main', role: 'reader' }, 'bot_a', 'el_1')).toBe(
      'postgres|main|reader|bot_a',
    );
    expect(leaseKey({ type: 'ldap', groupDn: 'CN=Deployers,DC=Example' }, 'uid=Bot-1', 'el_1')).toBe(
      'ldap|cn=deployers,dc=example|uid=bot-1',
    );
  });
});
