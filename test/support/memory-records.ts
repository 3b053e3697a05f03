/**
 * Single-use records in memory (`put`, `replace`, `peek` of `SingleUseRecords<string>`), enough for
 * the `extendGrant` activity and `movedEndFrom` in unit tests; `values` shows what was kept.
 */
export function memoryRecords() {
  const values = new Map<string, string>();
  return {
    values,
    put: (id: string, value: string) => {
      if (values.has(id)) return Promise.resolve(false);
      values.set(id, value);
      return Promise.resolve(true);
    },
    replace: (id: string, value: string) => {
      if (!values.has(id)) return Promise.resolve(false);
      values.set(id, value);
      return Promise.resolve(true);
    },
    peek: (id: string) => Promise.resolve(values.get(id)),
  };
}
