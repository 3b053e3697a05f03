/**
 * The inline risk score of an elevation in the console: a badge with the score and its level
 * (the summary), the role's risk with the score beside it (the list, whose `risk` filter is the
 * role's), and the whole decision on
 * the elevation page (the route it took and why, each reason with its points, whether the bot
 * had a baseline). Elevations requested before scoring existed have no score: they show the risk
 * of their role (`RiskOf`).
 */
import type { ElevationView } from '../../../core/model/elevation.js';
import type { RiskDecision, RiskRoute } from '../../../core/model/risk.js';
import { KeyValues, RiskOf } from './layout.js';

/** The route in words, as the elevation page shows it. */
const ROUTE_WORDS: Record<RiskRoute, string> = {
  auto: 'approved automatically',
  approvers: "the role's approvers decide",
  escalated: 'escalated: an extra approver group',
  denied: 'denied by the score',
};

/** Points as a person reads them: whole numbers as they are, others to one decimal. */
function points(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The score and its level as a coloured badge: `72 high`. */
export function RiskScoreBadge({ risk }: { risk: Pick<RiskDecision, 'score' | 'level'> }) {
  return (
    <span class={`badge r-${risk.level}`} title={`risk score ${points(risk.score)} of 100: ${risk.level}`}>
      {`${points(risk.score)} ${risk.level}`}
    </span>
  );
}

/** An elevation's risk on its own page: its score when it was scored, else its role's risk. */
export function SummaryRisk({ view }: { view: ElevationView }) {
  return view.risk ? <RiskScoreBadge risk={view.risk} /> : <RiskOf of={view} />;
}

/**
 * An elevation's risk in a list: its role's risk (what the list's `risk` filter selects on), and
 * the request's own score beside it when it was scored.
 */
export function ElevationRisk({ view }: { view: ElevationView }) {
  return (
    <>
      <RiskOf of={view} />
      {view.risk ? (
        <span class="muted" title={`risk score ${points(view.risk.score)} of 100: ${view.risk.level}`}>
          {` ${points(view.risk.score)}`}
        </span>
      ) : null}
    </>
  );
}

/** The whole risk decision of an elevation: score, route and why, baseline, reasons. */
export function RiskDetails({ risk }: { risk: RiskDecision | undefined }) {
  if (!risk) {
    return (
      <p class="muted">
        Not scored: requested before the risk score existed. Its role's risk is shown in the summary.
      </p>
    );
  }
  return (
    <>
      <KeyValues
        rows={[
          [
            'Score',
            <>
              <RiskScoreBadge risk={risk} /> {`${points(risk.score)} of 100`}
            </>,
          ],
          [
            'Route',
            <>
              <strong>{ROUTE_WORDS[risk.route]}</strong>
              {risk.routeReason && <span class="muted">{` — ${risk.routeReason}`}</span>}
            </>,
          ],
          [
            'Baseline',
            risk.baselined
              ? "compared with this bot's own history"
              : 'too little history yet: only the role and the environment scored',
          ],
        ]}
      />
      {risk.reasons.length === 0 ? (
        <p class="muted">Nothing about this request added points.</p>
      ) : (
        <table class="risk-reasons">
          <caption class="visually-hidden">Why the score is what it is, highest points first</caption>
          <thead>
            <tr>
              <th>Points</th>
              <th>Reason</th>
              <th>Code</th>
            </tr>
          </thead>
          <tbody>
            {risk.reasons.map((r) => (
              <tr>
                <td>{`+${points(r.points)}`}</td>
                <td>{r.text}</td>
                <td>
                  <code>{r.code}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
