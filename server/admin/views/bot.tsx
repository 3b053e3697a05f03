/**
 * `/admin/bots/{id}`: a bot as configured, the roles it may request, its history; and the
 * confirmation of a lockdown or an unlock.
 */
import type { Policy } from '../../../config/policy.js';
import type { ElevationView } from '../../../core/model/elevation.js';
import { renderDocument } from '../../html-document.js';
import { duration } from './format.js';
import {
  CsrfField,
  ErrorAlert,
  KeyValues,
  Layout,
  Notice,
  RiskOf,
  TargetText,
  type PageUser,
} from './layout.js';
import { ElevationRows, Pager } from './list.js';

/** What the bot page knows about a bot's runtime state (lockdown), when the service reports it. */
export interface BotStateView {
  locked: boolean;
  detail?: string;
}

/** The roles a bot may request, as the policy defines them. */
function Roles({ roles, policy }: { roles: string[]; policy: Policy }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Role</th>
          <th>Target</th>
          <th>Approval</th>
          <th>Longest window</th>
          <th>Risk</th>
        </tr>
      </thead>
      <tbody>
        {roles.map((id) => {
          const r = policy.roles.find((x) => x.id === id);
          if (!r) {
            return (
              <tr>
                <td>{id}</td>
                <td colspan={4}>not in the policy</td>
              </tr>
            );
          }
          return (
            <tr>
              <td>
                {r.id}
                {r.description && (
                  <>
                    <br />
                    <span class="muted">{r.description}</span>
                  </>
                )}
              </td>
              <td>
                <TargetText target={r.target} />
              </td>
              <td>
                {r.approval.mode === 'auto'
                  ? 'automatic'
                  : r.approval.groups.map((g) => `${g.name} (${g.quorum})`).join(', ')}
              </td>
              <td>{duration(r.maxDurationSeconds)}</td>
              <td>
                <RiskOf of={{ approval: r.approval, environment: r.environment }} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** `/admin/bots/{id}`: the bot as configured, the roles it may request, its history. */
export function botPage(args: {
  user: PageUser;
  botId: string;
  policy: Policy;
  state?: BotStateView;
  canLock: boolean;
  items: ElevationView[];
  query: URLSearchParams;
  nextCursor?: string;
  onFirst: boolean;
  notice?: unknown;
}): string {
  const bot = args.policy.bots.find((b) => b.id === args.botId);
  const { state } = args;
  return renderDocument(
    <Layout title={`Bot ${args.botId}`} user={args.user}>
      <Notice notice={args.notice} />
      <h1>Bot {args.botId}</h1>
      {args.canLock && bot && (
        <div class="actions">
          {state?.locked ? (
            <a class="button" href={`/admin/bots/${args.botId}/unlock`}>
              Unlock…
            </a>
          ) : (
            <a class="button danger" href={`/admin/bots/${args.botId}/lock`}>
              Lock down…
            </a>
          )}
        </div>
      )}
      {bot ? (
        <KeyValues
          rows={[
            ['Purpose', bot.purpose],
            ['Owner', bot.owner],
            ['Team', bot.team],
            ['Environment', bot.environment],
            [
              'Authenticates with',
              bot.federation ? `API key or workload identity (${bot.federation.issuer})` : 'API key',
            ],
            ['Disabled in the policy', bot.disabled ? <span class="bad">yes</span> : 'no'],
            state && [
              'Lockdown',
              state.locked ? (
                <>
                  <span class="bad">locked down</span>
                  {state.detail && (
                    <>
                      {' '}
                      <span class="muted">{state.detail}</span>
                    </>
                  )}
                </>
              ) : (
                'no'
              ),
            ],
          ]}
        />
      ) : (
        <p class="error">This bot is not in the current policy; its history is shown as recorded.</p>
      )}
      {bot && (
        <>
          <h2>Roles it may request</h2>
          <Roles roles={bot.roles} policy={args.policy} />
        </>
      )}
      <h2>History</h2>
      <ElevationRows items={args.items} showBot={false} />
      <Pager
        base={`/admin/bots/${args.botId}`}
        query={args.query}
        nextCursor={args.nextCursor}
        onFirst={args.onFirst}
      />
    </Layout>,
  );
}

/** The confirmation of a lockdown or an unlock. */
export function lockConfirmPage(args: {
  user: PageUser;
  botId: string;
  action: 'lock' | 'unlock';
  error?: string;
}): string {
  const lock = args.action === 'lock';
  return renderDocument(
    <Layout title={lock ? 'Lock bot down' : 'Unlock bot'} user={args.user}>
      <h1>
        {lock ? 'Lock down' : 'Unlock'} bot {args.botId}?
      </h1>
      <p>
        {lock
          ? 'A locked-down bot cannot request elevations, and its active elevations are revoked.'
          : 'The bot may request elevations again, as its policy allows.'}{' '}
        The change is recorded with your name.
      </p>
      <ErrorAlert error={args.error} />
      <form method="post" action={`/admin/bots/${args.botId}/${args.action}`}>
        <CsrfField csrf={args.user.csrf} />
        <p>
          <label>
            Reason (required, recorded in the audit trail)
            <br />
            <input type="text" name="reason" size={70} maxlength={1000} required />
          </label>
        </p>
        <p>
          <button class={lock ? 'danger' : ''} type="submit">
            {lock ? 'Lock down' : 'Unlock'}
          </button>{' '}
          <a href={`/admin/bots/${args.botId}`}>Cancel</a>
        </p>
      </form>
    </Layout>,
  );
}
