/**
 * IAM policy documents as Elevate writes and reads them: the expiry condition every attach-mode
 * policy carries ({@link expiryCondition}), and the small parsing helpers it and the policy
 * checks (`policy-check.ts`) share. Pure: no AWS calls.
 */
import { TargetInvalidError } from '../../core/errors/target-errors.js';

/** A policy document as IAM returns it: URL-encoded JSON (AWS), or plain JSON (some stand-ins). */
export function policyText(document: string | undefined): string {
  if (!document) return '';
  try {
    return decodeURIComponent(document);
  } catch {
    return document;
  }
}

/** `2030-01-02T03:04:05Z`: ISO 8601 in whole seconds, rounded up, as IAM conditions are usually written. */
export function iamTime(at: Date): string {
  const ms = Math.ceil(at.getTime() / 1000) * 1000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses an IAM policy document far enough to find its statements. */
export function statementsOf(document: string, what: string): { doc: Json; statements: Json[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch (err) {
    throw new TargetInvalidError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new TargetInvalidError(`${what} is not a JSON object`);
  const raw = doc['Statement'];
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (statements.length === 0) throw new TargetInvalidError(`${what} has no statements`);
  if (!statements.every(isObject))
    throw new TargetInvalidError(`${what} has a statement that is not an object`);
  return { doc, statements };
}

/**
 * `document` with `DateLessThan: {"aws:CurrentTime": notAfter}` added to the conditions of
 * every `Allow` statement, so AWS stops honouring the policy at `notAfter` whoever forgets to
 * detach it. Existing conditions are kept (conditions are ANDed). A `DateLessThan` on
 * `aws:CurrentTime` already in a statement is kept if it ends earlier; Elevate never extends
 * what the document allows. `Deny` statements are left alone: expiring a denial would widen
 * access. Pure; the result is compact JSON.
 *
 * @throws {TargetInvalidError} when the document is not JSON, not an object, has no
 *   statements, or carries an `aws:CurrentTime` date that cannot be read.
 */
export function expiryCondition(document: string, notAfter: Date): string {
  const { doc, statements } = statementsOf(document, 'the IAM policy document');
  const ours = iamTime(notAfter);
  const updated = statements.map((statement) => {
    if (statement['Effect'] !== 'Allow') return statement;
    const condition = isObject(statement['Condition']) ? statement['Condition'] : {};
    const lessThan = isObject(condition['DateLessThan']) ? { ...condition['DateLessThan'] } : {};
    let value = ours;
    // Condition keys are case-insensitive in IAM: fold any spelling of aws:CurrentTime into ours.
    for (const key of Object.keys(lessThan)) {
      if (key.toLowerCase() !== 'aws:currenttime') continue;
      const given = lessThan[key];
      // Several values are ORed: the latest of them is what the statement allows.
      const times = (Array.isArray(given) ? given : [given]).map((v) => Date.parse(String(v)));
      if (times.length === 0 || times.some(Number.isNaN)) {
        throw new TargetInvalidError(
          `the IAM policy document has an aws:CurrentTime condition that is not a date: ${JSON.stringify(given)}`,
        );
      }
      const existing = Math.max(...times);
      if (existing < notAfter.getTime()) value = iamTime(new Date(existing));
      delete lessThan[key];
    }
    return {
      ...statement,
      Condition: { ...condition, DateLessThan: { ...lessThan, 'aws:CurrentTime': value } },
    };
  });
  return JSON.stringify({ ...doc, Statement: Array.isArray(doc['Statement']) ? updated : updated[0] });
}

/** Whether `document` is a policy document with at least one statement (drift passes `'{}'`: none). */
export function hasStatements(document: string): boolean {
  try {
    statementsOf(document, 'the IAM policy document');
    return true;
  } catch {
    return false;
  }
}
