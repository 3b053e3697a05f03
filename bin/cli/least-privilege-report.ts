/**
 * `elevate report least-privilege` for people: the report of `GET
 * /v1/admin/reports/least-privilege` as one table row per bot and allowed role, then one line per
 * bot with the role list it recommends. (`--json` prints the API's JSON instead.)
 */
import type { LeastPrivilegeReport } from '../../core/model/least-privilege.js';
import { duration } from '../../domain/bots/least-privilege.js';
import { instant, table } from './output.js';

/** The API path of the report, for one bot or all, with an optional "within seconds". */
export function leastPrivilegePath(botId?: string, quickReturnSeconds?: string): string {
  const q = new URLSearchParams();
  if (botId !== undefined) q.set('botId', botId);
  if (quickReturnSeconds !== undefined) q.set('quickReturnSeconds', quickReturnSeconds);
  const query = q.toString();
  return `/v1/admin/reports/least-privilege${query ? `?${query}` : ''}`;
}

/** The report as a table and a recommendation per bot. */
export function leastPrivilegeText(report: LeastPrivilegeReport): string {
  const header =
    `least-privilege report at ${instant(report.generatedAt)}: requests in the last ` +
    `${report.windowsDays.join('/')} days; grants of the last ${report.reviewWindowDays} days; ` +
    `quick = every grant given back within ${report.quickReturnSeconds} s\n\n`;
  if (report.bots.length === 0) return `${header}no bots\n`;
  const rows = report.bots.flatMap((bot) =>
    bot.roles.map((r) => [
      bot.botId,
      r.roleId,
      r.lastRequestedAt ? instant(r.lastRequestedAt) : 'never',
      String(r.requests.last30Days),
      String(r.requests.last60Days),
      String(r.requests.last90Days),
      String(r.grants),
      r.medianHeldMs === null ? '-' : duration(r.medianHeldMs),
      r.quickReturn ? 'yes' : 'no',
      r.recommendation,
    ]),
  );
  const summary = report.bots.map((bot) => {
    const keep = bot.recommendedRoles.length > 0 ? bot.recommendedRoles.join(', ') : '(none)';
    const drop = bot.removable.length > 0 ? `; drop ${bot.removable.join(', ')}` : '; nothing to drop';
    const quick =
      bot.quickReturn.length > 0 ? `; given back within seconds: ${bot.quickReturn.join(', ')}` : '';
    return `${bot.botId}: recommended roles ${keep}${drop}${quick}\n`;
  });
  return (
    header +
    table(
      ['bot', 'role', 'last request', '30d', '60d', '90d', 'grants', 'median held', 'quick', 'recommend'],
      rows,
    ) +
    '\n' +
    summary.join('')
  );
}
