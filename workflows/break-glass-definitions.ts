/**
 * The names the break-glass review workflow and its callers (the API's review pages, the
 * elevation workflow's status check) agree on. Pure, like `definitions.ts`.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BreakGlassReviewView, SignedBreakGlassReview } from '../core/model/break-glass.js';

/**
 * A reviewer's answer, signed by the API after their MFA login. Refused synchronously (never
 * enters history) when its signature does not hold, a reviewer answered already, or the person
 * is not a named reviewer (or is the bot's owner).
 */
export const reviewBreakGlassUpdate = defineUpdate<BreakGlassReviewView, [SignedBreakGlassReview]>(
  'reviewBreakGlass',
);
/** Where the review stands: what the review page and the console show. */
export const breakGlassReviewQuery = defineQuery<BreakGlassReviewView>('breakGlassReview');
