/**
 * Short-lived single-use records of one kind (a namespace): login transactions, approval links,
 * console sessions, replay and "already posted" marks. Implemented by `store/single-use.ts`, in
 * the store's database so that every process sees the same records; values are checked against
 * the namespace's schema when read, and a record that does not match reads as absent.
 */
import type { z } from 'zod';

/** Where a consumer declares its namespace of records, with the schema their values must match. */
export interface SingleUseNamespaces {
  /**
   * The records of one kind (keys `<name>:<id>`), their values parsed with `schema` on every read.
   *
   * @throws RangeError when `name` is not lower-case words joined by `-` or `:`
   */
  namespace<S extends z.ZodType>(name: string, schema: S): SingleUseRecords<z.output<S>>;
}
export interface SingleUseRecords<T> {
  /**
   * Stores `value` under `id` until `expiresAt`, unless a live (unexpired) record is there. True
   * when stored. Atomic across processes.
   */
  put(id: string, value: T, expiresAt: Date): Promise<boolean>;
  /** The live value under `id`, if any. */
  peek(id: string): Promise<T | undefined>;
  /** Removes and returns the live value under `id`: of two concurrent takes exactly one gets it. */
  take(id: string): Promise<T | undefined>;
  /**
   * Replaces the value and expiry of the live record under `id`. False, and nothing stored, when
   * there is none: a record taken or expired meanwhile is not brought back.
   */
  replace(id: string, value: T, expiresAt: Date): Promise<boolean>;
}
