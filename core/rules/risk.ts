/**
 * How risky an elevation is, for reviewers: one word per elevation, derived from its role as
 * recorded when the bot asked, so that it never changes afterwards and needs no extra policy.
 *
 * - `high`: the role needs human approvers and is in a production environment;
 * - `medium`: the role needs human approvers, in any other environment;
 * - `low`: the role is granted automatically.
 *
 * A production environment is one whose id is `prod` or `production`, or starts with `prod-`
 * (`prod-eu`, `prod-payments`). The elevation index stores {@link riskOf} of each elevation in
 * its `risk` column when the summary row is written (`store/elevation-index.ts`), the lists'
 * `risk` filter. It is also a role's default sensitivity for the inline risk score, whose own
 * level (`core/model/risk.ts`) is per request and shown beside it.
 */
/** Every risk level, lowest first. */
export const RISKS = ['low', 'medium', 'high'] as const;
export type Risk = (typeof RISKS)[number];

/** Whether an environment id names production: `prod`, `production`, or `prod-…`. */
export function isProductionEnvironment(environment: string): boolean {
  return environment === 'prod' || environment === 'production' || environment.startsWith('prod-');
}

/**
 * The risk of an elevation, or of a role (an elevation's view or a role from the policy: both
 * have an approval mode and an environment). See the module comment for the rule.
 */
export function riskOf(view: { approval: { mode: string }; environment: string }): Exclude<Risk, 'critical'> {
  if (view.approval.mode === 'auto') return 'low';
  return isProductionEnvironment(view.environment) ? 'high' : 'medium';
}
