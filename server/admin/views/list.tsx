/**
 * `/admin`: the elevations, filtered and paged; and the list and pager the bot page shows too.
 */
import type { Policy } from '../../../config/policy.js';
import { ELEVATION_STATUSES, type ElevationView } from '../../../core/model/elevation.js';
import { renderDocument } from '../../html-document.js';
import { when } from './format.js';
import { ErrorAlert, Layout, StatusBadge, type PageUser } from './layout.js';
import { ElevationRisk } from './risk-score.js';

/** The filters of the list, as the form shows them (strings as typed). */
export interface ListFilters {
  bot?: string | undefined;
  owner?: string | undefined;
  team?: string | undefined;
  role?: string | undefined;
  targetType?: string | undefined;
  environment?: string | undefined;
  status?: readonly string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  risk?: string | undefined;
}

/** One `<datalist>` of suggestions: the distinct values, sorted. */
function Suggestions({ id, values }: { id: string; values: Iterable<string> }) {
  return (
    <datalist id={id}>
      {[...new Set(values)].sort().map((v) => (
        <option value={v}></option>
      ))}
    </datalist>
  );
}

/** The filter form, with `<datalist>` suggestions from the policy. */
function FilterForm({
  filters: f,
  policy,
  action,
}: {
  filters: ListFilters;
  policy: Policy;
  action: string;
}) {
  const text = (name: keyof ListFilters, label: string, list: string) => (
    <label>
      {label}
      <input type="text" name={name} value={String(f[name] ?? '')} list={list} />
    </label>
  );
  const select = (name: keyof ListFilters, label: string, options: [string, string][]) => (
    <label>
      {label}
      <select name={name}>
        <option value="">any</option>
        {options.map(([v, t]) => (
          <option value={v} selected={f[name] === v}>
            {t}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <>
      <form class="filters" method="get" action={action}>
        {text('bot', 'Bot', 'dl-bots')}
        {text('owner', 'Owner', 'dl-owners')}
        {text('team', 'Team', 'dl-teams')}
        {text('role', 'Role', 'dl-roles')}
        {select('targetType', 'Target type', [
          ['ldap', 'LDAP group'],
          ['postgres', 'PostgreSQL role'],
          ['aws-iam', 'AWS IAM'],
        ])}
        {text('environment', 'Environment', 'dl-envs')}
        {select('risk', 'Risk', [
          ['high', 'high'],
          ['medium', 'medium'],
          ['low', 'low'],
        ])}
        <label>
          Requested from (UTC)
          <input type="date" name="from" value={f.from ?? ''} />
        </label>
        <label>
          Requested until (UTC, inclusive)
          <input type="date" name="to" value={f.to ?? ''} />
        </label>
        <fieldset>
          <legend class="visually-hidden">Status</legend>
          {ELEVATION_STATUSES.map((s) => (
            <label class="inline">
              <input type="checkbox" name="status" value={s} checked={f.status?.includes(s) ?? false} />{' '}
              {s.replace('_', ' ')}
            </label>
          ))}
        </fieldset>
        <div>
          <button type="submit">Filter</button> <a href={action}>Clear</a>
        </div>
      </form>
      <Suggestions id="dl-bots" values={policy.bots.map((b) => b.id)} />
      <Suggestions id="dl-owners" values={policy.bots.map((b) => b.owner)} />
      <Suggestions id="dl-teams" values={policy.bots.map((b) => b.team)} />
      <Suggestions id="dl-roles" values={policy.roles.map((r) => r.id)} />
      <Suggestions
        id="dl-envs"
        values={[...policy.roles.map((r) => r.environment), ...policy.bots.map((b) => b.environment)]}
      />
    </>
  );
}

/** Elevations as a table: on a narrow screen each row is a card, each cell under its column's name. */
export function ElevationRows({ items, showBot = true }: { items: ElevationView[]; showBot?: boolean }) {
  if (items.length === 0) return <p class="muted">No elevations match.</p>;
  // Between a phone and a wide screen the table scrolls sideways in its own box, not the page.
  return (
    <div class="list-scroll">
      <table class="list">
        <thead>
          <tr>
            <th>Requested</th>
            <th>Elevation</th>
            {showBot && <th>Bot</th>}
            <th>Role</th>
            <th>Owner</th>
            <th>Env.</th>
            <th>Status</th>
            <th>Risk</th>
            <th>Ended</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr>
              <td data-label="Requested">{when(v.requestedAt)}</td>
              <td data-label="Elevation">
                <a href={`/admin/elevations/${v.id}`}>
                  <code>{v.id}</code>
                </a>
              </td>
              {showBot && (
                <td data-label="Bot">
                  <a href={`/admin/bots/${v.botId}`}>{v.botId}</a>
                </td>
              )}
              <td data-label="Role">{v.roleId}</td>
              <td data-label="Owner">{v.owner}</td>
              <td data-label="Environment">{v.environment}</td>
              <td data-label="Status">
                <StatusBadge status={v.status} />
              </td>
              <td data-label="Risk">
                <ElevationRisk view={v} />
              </td>
              <td data-label="Ended">
                {v.endedAt ? when(v.endedAt) : v.expiresAt ? `expires ${when(v.expiresAt)}` : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The pager: the first page, and the next one if any (same filters, new cursor). */
export function Pager({
  base,
  query,
  nextCursor,
  onFirst,
}: {
  base: string;
  query: URLSearchParams;
  nextCursor: string | undefined;
  onFirst: boolean;
}) {
  const first = new URLSearchParams(query);
  first.delete('cursor');
  const next = new URLSearchParams(query);
  if (nextCursor) next.set('cursor', nextCursor);
  const q = (p: URLSearchParams) => (p.toString() ? `?${p.toString()}` : '');
  return (
    <nav class="pager" aria-label="Pages">
      {!onFirst && <a href={base + q(first)}>First page</a>}
      {nextCursor ? (
        <a href={base + q(next)} rel="next">
          Next page
        </a>
      ) : (
        <span class="muted">Last page</span>
      )}
    </nav>
  );
}

/** `/admin`: the elevations, filtered and paged. */
export function listPage(args: {
  user: PageUser;
  policy: Policy;
  filters: ListFilters;
  query: URLSearchParams;
  items: ElevationView[];
  nextCursor?: string;
  onFirst: boolean;
  error?: string;
}): string {
  return renderDocument(
    <Layout title="Elevations" user={args.user}>
      <h1>Elevations</h1>
      <FilterForm filters={args.filters} policy={args.policy} action="/admin" />
      <ErrorAlert error={args.error} />
      <ElevationRows items={args.items} />
      <Pager base="/admin" query={args.query} nextCursor={args.nextCursor} onFirst={args.onFirst} />
    </Layout>,
  );
}
