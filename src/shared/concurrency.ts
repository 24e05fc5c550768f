/**
 * `fn` over every item, at most `limit` at a time, results in input order. For many small
 * independent reads (one `_id` lookup per row) where one round trip each, one after another, would
 * leave the database idle between them and all at once would queue thousands of requests.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
