/**
 * `/admin/reports/least-privilege`: per bot, the roles the policy allows it and how it used them,
 * and the narrower list the report recommends (the same report as `GET
 * /v1/admin/reports/least-privilege`).
 */
import type { BotLeastPrivilege, LeastPrivilegeReport } from '../../../core/model/least-privilege.js';
import { renderDocument } from '../../html-document.js';
import { millis, when } from './format.js';
import { Layout, type PageUser } from './layout.js';

/** A list of role ids, or a dash. */
function roles(ids: string[]): string {
  return ids.length > 0 ? ids.join(', ') : '—';
}

/** One bot: its recommendation, then one row per allowed role with the evidence. */
function BotSection({ bot, quickSeconds }: { bot: BotLeastPrivilege; quickSeconds: number }) {
  return (
    <section>
      <h2>
        <a href={`/admin/bots/${bot.botId}`}>{bot.botId}</a>
      </h2>
      <p class="muted">
        {`Owner ${bot.owner} · team ${bot.team} · ${bot.environment} · first request ${when(bot.firstRequestedAt)}`}
      </p>
      <p>
        {'Recommended roles: '}
        <strong>{roles(bot.recommendedRoles)}</strong>
        {bot.removable.length > 0 ? (
          <>
            {' · drop: '}
            <span class="bad">{roles(bot.removable)}</span>
          </>
        ) : (
          ' · nothing to drop'
        )}
        {bot.quickReturn.length > 0 &&
          ` · always given back within ${quickSeconds} s: ${roles(bot.quickReturn)}`}
      </p>
      <div class="list-scroll">
        <table class="list">
          <thead>
            <tr>
              <th>Role</th>
              <th>Last request</th>
              <th>30 d</th>
              <th>60 d</th>
              <th>90 d</th>
              <th>Grants</th>
              <th>Median held</th>
              <th>Quick</th>
              <th>Recommendation</th>
            </tr>
          </thead>
          <tbody>
            {bot.roles.map((r) => (
              <tr>
                <td data-label="Role">{r.roleId}</td>
                <td data-label="Last request">{r.lastRequestedAt ? when(r.lastRequestedAt) : 'never'}</td>
                <td data-label="30 days">{r.requests.last30Days}</td>
                <td data-label="60 days">{r.requests.last60Days}</td>
                <td data-label="90 days">{r.requests.last90Days}</td>
                <td data-label="Grants">{r.grants}</td>
                <td data-label="Median held">{r.medianHeldMs === null ? '—' : millis(r.medianHeldMs)}</td>
                <td data-label="Quick">{r.quickReturn ? 'yes' : 'no'}</td>
                <td data-label="Recommendation">
                  {r.recommendation === 'remove' ? <span class="bad">remove</span> : 'keep'}
                  <br />
                  <span class="muted">{r.reason}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The least-privilege report, one section per bot. */
export function leastPrivilegePage(args: { user: PageUser; report: LeastPrivilegeReport }): string {
  const { report } = args;
  return renderDocument(
    <Layout title="Least privilege" user={args.user}>
      <h1>Least privilege</h1>
      <p>
        {`For each bot, the roles the policy allows it: how often it asked for each in the last ` +
          `${report.windowsDays.join(', ')} days, and whether it gave every grant of the last ` +
          `${report.reviewWindowDays} days back within ${report.quickReturnSeconds} s. A role not ` +
          `requested in ${report.reviewWindowDays} days is recommended for removal from the bot’s ` +
          `roles in the policy file. As of ${when(report.generatedAt)}.`}
      </p>
      {report.bots.length === 0 ? (
        <p>No bots in the policy.</p>
      ) : (
        report.bots.map((bot) => <BotSection bot={bot} quickSeconds={report.quickReturnSeconds} />)
      )}
    </Layout>,
  );
}
