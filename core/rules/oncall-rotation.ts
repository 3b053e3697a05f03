/**
 * Who is on call in a policy rotation at an instant. Pure: the API (before an approver logs in)
 * and the notifier (whom to ask) compute the same person for the same instant.
 */
import type { OnCallRotation } from '../model/oncall.js';

/** The member on call at `at` (epoch ms); before `startsAt`, the turns count backwards. */
export function onCallAt(rotation: OnCallRotation, at: number): string {
  const n = rotation.members.length;
  const shift = Math.floor((at - Date.parse(rotation.startsAt)) / (rotation.shiftSeconds * 1000));
  return rotation.members[((shift % n) + n) % n]!;
}
