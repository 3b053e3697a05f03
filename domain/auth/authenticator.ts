/**
 * Who is calling: a bot by its API key or by a workload identity token, an admin by their token.
 * A bot is returned together with its runtime state (lockdown, disable override, rotated key),
 * read once here and handed on with the request, so the rest of the request does not read it
 * again (only the admission of a new elevation does, under the bot's lock: see
 * `elevations/request-service.ts`).
 */
import type { Logger } from 'pino';
import type { AdminPolicy, BotPolicy, Policy } from '../../config/policy.js';
import type { BotIdentity } from '../../core/model/elevation.js';
import { hashSecret, sameHash } from '../../core/crypto/credentials.js';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import type { BotState, BotStates } from '../../store/bot-state.js';
import { unavailable } from '../errors.js';

/** A bot that proved who it is, with its runtime state as authentication read it. */
export interface AuthenticatedBot {
  bot: BotPolicy;
  /** Its runtime state, or null when admins never changed it. */
  state: BotState | null;
  /** The workload identity token it presented, when it did (recorded with its elevations). */
  identity?: BotIdentity;
}

export interface AuthenticatorDeps {
  policy: Pick<Policy, 'bots' | 'admins'>;
  botStates: Pick<BotStates, 'getBotState' | 'findBotStateByKeyHash'>;
  /** Verifies workload identity tokens; without it only API keys authenticate bots. */
  federation?: Pick<WorkloadIdentityVerifier, 'verify'>;
  logger: Pick<Logger, 'error'>;
}

export class Authenticator {
  private readonly botsByKey: Map<string, BotPolicy>;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.botsByKey = new Map(deps.policy.bots.map((b) => [b.apiKeyHash, b]));
  }

  /**
   * The bot whose API key this is, if any: the policy's key, or the key an admin rotated to
   * (which then replaces the policy's), with its state. Reads the bot's state in the store on
   * every call, so a rotation counts at once in every API process; a store that cannot be read
   * is a 503. Hashes are compared in constant time.
   */
  async authenticateBotKey(secret: string): Promise<AuthenticatedBot | undefined> {
    const hash = hashSecret(secret);
    const policyBot = this.botsByKey.get(hash);
    if (policyBot) {
      const state = await this.readState(this.deps.botStates.getBotState(policyBot.id));
      // Once rotated, the policy's key is no longer the bot's.
      if (state?.apiKey) return undefined;
      return sameHash(policyBot.apiKeyHash, hash) ? { bot: policyBot, state: state ?? null } : undefined;
    }
    const state = await this.readState(this.deps.botStates.findBotStateByKeyHash(hash));
    if (!state?.apiKey || !sameHash(state.apiKey.hash, hash)) return undefined;
    const bot = this.botById(state.botId);
    return bot ? { bot, state } : undefined;
  }

  /** Whether `secret` is to be verified as a workload identity token (federation is set up and it looks like one). */
  isWorkloadIdentityToken(secret: string): boolean {
    return this.deps.federation !== undefined && WorkloadIdentityVerifier.looksLikeJwt(secret);
  }

  /**
   * The bot a workload identity token maps to, with its state and the identity to record; or
   * undefined when the token verifies but no bot of the policy has that id.
   *
   * @throws FederationError (from the verifier) when the token is refused
   */
  async authenticateWorkloadIdentity(token: string): Promise<AuthenticatedBot | undefined> {
    if (!this.deps.federation) return undefined;
    const { botId, ...rest } = await this.deps.federation.verify(token);
    const bot = this.botById(botId);
    if (!bot) return undefined;
    const state = await this.readState(this.deps.botStates.getBotState(bot.id));
    return { bot, state: state ?? null, identity: { kind: 'workload_identity', ...rest } };
  }

  /**
   * The bot whose API key this is by the policy alone, without the runtime state: a rotated key
   * is not recognised and a key rotated away still is. Not for authentication (use
   * {@link authenticateBotKey}); only for naming who presented a credential somewhere it is
   * refused anyway.
   */
  authenticateBot(secret: string): BotPolicy | undefined {
    return this.botsByKey.get(hashSecret(secret));
  }

  /** The bot with this id, if any. */
  botById(id: string): BotPolicy | undefined {
    return this.deps.policy.bots.find((b) => b.id === id);
  }

  /** The admin whose token this is, if any. */
  authenticateAdmin(secret: string): AdminPolicy | undefined {
    const hash = hashSecret(secret);
    return this.deps.policy.admins.find((a) => sameHash(a.tokenHash, hash));
  }

  private readState<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
  }
}
