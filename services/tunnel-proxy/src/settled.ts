/** Resolves when every call in `calls` (as it is now) has settled, or after `maxMs` (open streams may last for ever). */
export function settledWithin(calls: Iterable<Promise<unknown>>, maxMs: number): Promise<void> {
  const pending = [...calls];
  if (pending.length === 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((r) => (timer = setTimeout(r, maxMs)));
  return Promise.race([Promise.allSettled(pending).then(() => undefined), bound]).finally(() => clearTimeout(timer));
}
