/** Bounding the server's logs without trimming on every push. */

/** Drops the oldest entries once `arr` exceeds `max` by a batch, so trimming stays amortised O(1). Returns them. */
export function trimBatch<T>(arr: T[], max: number): T[] {
  const slack = Math.max(1, Math.floor(max / 8));
  if (arr.length <= max + slack) return [];
  return arr.splice(0, arr.length - max);
}
