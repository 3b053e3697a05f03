/** The admin console's pages and forms. */
import {
  ELEVATION_ID,
  CONSOLE_OFF,
  FORM_REFUSED,
  consolePage,
  consoleAction,
  BOT_ID,
} from '../common-responses.js';
import {
  consoleListQuerySchema,
  consoleHistoryQuerySchema,
  consoleNoticeQuerySchema,
  consoleLoginQuerySchema,
  consoleChartsQuerySchema,
  consoleLogoutFormSchema,
  consoleVerifyFormSchema,
  consoleReasonFormSchema,
} from '../../admin/console-schemas.js';
import { approvalCallbackQuerySchema } from '../request-docs.js';
import { route } from '../route-spec.js';

/**
 * The routes that read the request themselves, with no session yet or to end one: signing in
 * and out, and the stylesheet (the console's pages and its sign-in pages load it).
 */
export const CONSOLE_OPEN_ROUTES = [
  route({
    method: 'get',
    path: '/admin/login',
    operationId: 'startConsoleSignIn',
    tag: 'console',
    summary: 'Sign in to the admin console',
    description:
      'To the identity provider: authorization code flow with PKCE (S256), a fresh `state` and `nonce`; the transaction is kept server-side and bound to this browser by a cookie.',
    security: 'none',
    query: consoleLoginQuerySchema,
    responses: {
      303: {
        description: 'To the provider’s login, with the sign-in cookie set.',
        headers: {
          location: { description: 'The provider’s authorization endpoint.' },
          'set-cookie': {
            description: '`elevate_admin_login` (HttpOnly; SameSite=Lax; Path=/; 10 minutes).',
          },
        },
      },
      404: CONSOLE_OFF,
      503: { description: 'The identity provider cannot be reached.', html: true },
    },
  }),
  route({
    method: 'get',
    path: '/admin/callback',
    operationId: 'finishConsoleSignIn',
    tag: 'console',
    summary: 'Come back from the identity provider',
    description:
      'The sign-in is used up; the ID token is checked (signature, nonce, MFA by `amr`/`acr`, e-mail) and the admin rights (the group claim, the LDAP group). An admin gets a new session (`admin.signed_in` is audited); anyone else a 403 page (audited as `auth.refused`, reason `not_admin`).',
    security: 'consoleSignIn',
    query: approvalCallbackQuerySchema,
    responses: {
      303: {
        description: 'Signed in: to the page asked for, with the session cookie.',
        headers: {
          location: { description: 'The console page to return to.' },
          'set-cookie': {
            description: '`elevate_admin` (HttpOnly; SameSite=Lax; Path=/; Secure over HTTPS).',
          },
        },
      },
      400: {
        description:
          'The sign-in is unknown, used, expired, from another browser, or refused by the provider.',
        html: true,
      },
      401: { description: 'The login did not use multi-factor authentication.', html: true },
      403: { description: 'Not an admin, or no verified e-mail address.', html: true },
      404: CONSOLE_OFF,
      503: { description: 'The provider or the directory cannot be reached.', html: true },
    },
  }),
  route({
    method: 'post',
    path: '/admin/logout',
    operationId: 'consoleSignOut',
    tag: 'console',
    summary: 'Sign out of the admin console',
    description: 'Ends the session (server-side) and clears the cookie.',
    security: 'adminConsole',
    body: {
      schema: consoleLogoutFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: { description: '“You are signed out”.', html: true },
      400: FORM_REFUSED[400]!,
      401: { description: 'Not signed in.', html: true },
      403: FORM_REFUSED[403]!,
      404: CONSOLE_OFF,
    },
  }),
  route({
    method: 'get',
    path: '/admin/console.css',
    operationId: 'getConsoleStylesheet',
    tag: 'console',
    summary: 'The console’s stylesheet',
    description:
      'The only resource the console’s pages load (their Content-Security-Policy allows nothing else).',
    security: 'none',
    responses: { 200: { description: 'The stylesheet.', text: ['text/css'] } },
  }),
] as const;

/**
 * The pages and forms behind the console's sign-in (its guard checks the session, the admin
 * rights and, for a form, its origin and CSRF token). Each needs a handler in `admin/console.ts`,
 * typed from the schemas given here.
 */
export const CONSOLE_PAGES = [
  consolePage(
    '/admin',
    'consoleElevations',
    'Elevations, filtered and paged',
    'Newest first. Filters: bot, owner, team, role, target type, environment, status, risk and the day range (the filter form sends every field: an empty one is no filter); a “Next page” link carries a cursor.',
    {
      query: consoleListQuerySchema,
      responses: { 400: { description: 'A filter is not valid: the page says which.', html: true } },
    },
  ),
  consolePage(
    '/admin/elevations/{id}',
    'consoleElevation',
    'One elevation: timeline, approvals with MFA evidence, receipts',
    'Everything about one elevation: who asked, why, who approved with which MFA login (issuer, subject, amr, acr, auth_time, method), the grant and revocation receipts confirmed by reading the target back, the Temporal workflow id, every audit event with its chain position and hash, and the evidence pack download.',
    { params: ELEVATION_ID, query: consoleNoticeQuerySchema },
  ),
  consolePage(
    '/admin/elevations/{id}/revoke',
    'consoleRevokeConfirmation',
    'Confirm a revocation',
    'The form that revokes: a reason is required.',
    { params: ELEVATION_ID },
  ),
  consoleAction(
    '/admin/elevations/{id}/revoke',
    'consoleRevoke',
    'Revoke an elevation',
    'Recorded as `admin.action` (`revoke_elevation`, `via: console`) with the person as actor, then revoked as with the admin API.',
    consoleReasonFormSchema,
    { params: ELEVATION_ID },
  ),
  consolePage(
    '/admin/bots/{id}',
    'consoleBot',
    'One bot: purpose, owner, team, roles, history',
    'The bot as the policy has it, the roles it may request (with their risk), its lockdown state, and its elevations, paged.',
    { params: BOT_ID, query: consoleHistoryQuerySchema },
  ),
  consolePage(
    '/admin/bots/{id}/lock',
    'consoleLockConfirmation',
    'Confirm a lockdown',
    'The form that locks a bot down.',
    {
      params: BOT_ID,
    },
  ),
  consoleAction(
    '/admin/bots/{id}/lock',
    'consoleLock',
    'Lock a bot down',
    'As `POST /v1/admin/bots/{id}/lock`, recorded as `bot.locked` with `via: console`.',
    consoleReasonFormSchema,
    { params: BOT_ID },
  ),
  consolePage(
    '/admin/bots/{id}/unlock',
    'consoleUnlockConfirmation',
    'Confirm an unlock',
    'The form that unlocks a bot.',
    {
      params: BOT_ID,
    },
  ),
  consoleAction(
    '/admin/bots/{id}/unlock',
    'consoleUnlock',
    'Unlock a bot',
    'As `POST /v1/admin/bots/{id}/unlock`, recorded as `bot.unlocked` with `via: console`.',
    consoleReasonFormSchema,
    { params: BOT_ID },
  ),
  consolePage(
    '/admin/audit/verify',
    'consoleVerifyConfirmation',
    'Confirm a verification of the audit chain',
    'The form that verifies.',
    {},
  ),
  consoleAction(
    '/admin/audit/verify',
    'consoleVerify',
    'Verify the audit chain',
    'Walks the whole chain (against the store’s head and the anchor, if given) and shows the result; recorded as `admin.action` (`verify_audit`) with the result.',
    consoleVerifyFormSchema,
    {
      responses: {
        200: { description: 'The result: intact, or the first broken position and why.', html: true },
      },
    },
  ),
  consolePage(
    '/admin/charts',
    'consoleCharts',
    'Charts',
    'Elevations per day by outcome, active grants over time, the revocation lag distribution, approval turnaround, and the busiest bots and roles: server-rendered SVG, each with a table of the same numbers.',
    { query: consoleChartsQuerySchema },
  ),
  consolePage(
    '/admin/reports/least-privilege',
    'consoleLeastPrivilege',
    'Least privilege',
    'Per bot, the roles the policy allows it: requests in the last 30, 60 and 90 days, grants and median time held, whether every grant was given back within 30 s, and the narrower role list recommended (the roles not requested in 90 days dropped), each with its reason: the report of `GET /v1/admin/reports/least-privilege`.',
    {},
  ),
  consolePage(
    '/admin/anomalies',
    'consoleAnomalies',
    'Anomalies',
    'What continuous detection recorded (`anomaly.detected`), newest first: kind, bot (or fleet), severity, the sentence and its numbers; a “Next page” link carries a cursor.',
    { query: consoleHistoryQuerySchema },
  ),
  consolePage(
    '/admin/break-glass',
    'consoleBreakGlass',
    'Break-glass',
    'Every break-glass activation (`breakglass.activated`), newest first, with its review: open (awaiting review, or missed: the bot locked down) until a reviewer confirms or rejects it, however late; a “Next page” link carries a cursor.',
    { query: consoleHistoryQuerySchema },
  ),
] as const;

/** Every route of the console, in the order the reference shows them. */
export const CONSOLE_ROUTES = [...CONSOLE_OPEN_ROUTES, ...CONSOLE_PAGES] as const;
