/** What the admin console is built from. */
import type { Logger } from 'pino';
import type { Policy } from '../../config/policy.js';
import type { AdminConsoleSettings } from '../../config/settings.js';
import type { ApproverDirectory } from '../../core/ports/approver-directory.js';
import type { SingleUseNamespaces } from '../../core/ports/single-use.js';
import type { AuditService } from '../../domain/audit/audit-service.js';
import type { BotAdminService } from '../../domain/bots/bot-admin-service.js';
import type { RequestService } from '../../domain/elevations/request-service.js';
import type { AdminLoginClient } from '../../integrations/oidc/admin-login.js';
import type { ElevationIndex } from '../../store/elevation-index.js';
import type { AuditEventsByType } from '../../store/audit-by-type.js';
import type { AuthFailureLimit } from '../auth-failure-limit.js';

/** What the console needs. Without `settings` (or without `login`) it is off. */
export interface AdminConsoleDeps {
  /** One elevation, and an admin's revocation of it. */
  requests: Pick<RequestService, 'get' | 'revoke'>;
  /** A bot's summary, lockdown and unlock. */
  bots: Pick<BotAdminService, 'getBot' | 'lockBot' | 'unlockBot'>;
  /** The lists, timelines and verification, and where the console's refusals and actions are recorded. */
  audit: Pick<AuditService, 'list' | 'timeline' | 'verifyAudit' | 'recordRefusal' | 'recordAdminAction'>;
  policy: Policy;
  /** The charts' grouped counts and the least-privilege report's (the elevation index). */
  elevations: Pick<ElevationIndex, 'chartAggregates' | 'roleUsage'>;
  /** The Anomalies page's events (`anomaly.detected`, newest first). */
  eventsByType: Pick<AuditEventsByType, 'page'>;
  /** Sessions and sign-in transactions (single-use namespaces `admin-session`, `admin-login`). */
  singleUse: SingleUseNamespaces;
  settings?: AdminConsoleSettings;
  /** The relying party, discovered on first use (the provider may start after Elevate). */
  login?: () => Promise<AdminLoginClient>;
  /** Looks up membership of `settings.ldapGroupDn`; needed when it is set. */
  directory?: ApproverDirectory;
  /** Where browsers reach this server: the cookie's security and the allowed `Origin` follow from it. */
  publicUrl: string;
  logger: Logger;
  /** For tests: the console's clock (sessions' idle and absolute timeouts, re-checks). */
  clock?: () => Date;
  /** Rows per page of the lists (default 50). */
  pageSize?: number;
  /** Failed sign-ins per source network, shared with the API: over it, the callback answers 429. */
  authFailureLimit?: AuthFailureLimit;
}

/** A person signed in to the console. */
export interface ConsoleUser {
  email: string;
}
