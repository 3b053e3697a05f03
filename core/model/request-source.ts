/**
 * Where a bot's request came from and how it authenticated, as recorded with each request and
 * refusal and as risk scoring reads it. Pure types.
 */
/** How a bot authenticated: its API key, or a workload identity token (OIDC). */
export type AuthMethod = 'api_key' | 'workload_identity';

/** The run a workload identity token vouched for, as far as its claims say. */
export interface WorkloadClaims {
  issuer: string;
  subject: string;
  repository?: string;
  workflow?: string;
  ref?: string;
  /** GitHub's `runner_environment` (`github-hosted`, `self-hosted`), when recorded. */
  runnerEnvironment?: string;
  /** A Kubernetes token's `namespace/serviceaccount`. */
  serviceAccount?: string;
}

/** Whether a request came from where its bot's policy says it runs (`runsFrom`); not enforced. */
export interface RunsFromMatch {
  /** True when every declared check held. */
  matched: boolean;
  /** Whether the source address is in one of the declared networks (absent: none declared). */
  network?: boolean;
  /** Whether the workload identity names one of the declared runners (absent: none declared). */
  runner?: boolean;
}

/**
 * Where a request came from: the client address as the server sees it (`trust proxy`), the
 * user agent (cleaned and bounded), how the bot authenticated, and the workload's claims.
 */
export interface RequestSource {
  ip: string | null;
  userAgent: string | null;
  authMethod: AuthMethod;
  workload?: WorkloadClaims;
  runsFrom?: RunsFromMatch;
}
