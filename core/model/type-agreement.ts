/**
 * Compile-time checks that a zod schema and the TypeScript type it stands for agree, used as
 * `type _x = Assert<Agrees<z.infer<typeof schema>, Type>>`.
 */

/**
 * `true` when A and B are the same type: mutually assignable and with the same keys, so an
 * optional field present on one side only is caught too.
 */
export type Agrees<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;

/** Fails to compile unless `T` is `true`. */
export type Assert<T extends true> = T;
