/**
 * Collects values pushed by a client callback (block watchers, log watchers, subscriptions):
 * `done` resolves with the first that passes `pred`, or rejects after `ms`.
 */
export function collector<T>(pred: (v: T) => boolean, ms = 15_000): { push: (v: T) => void; seen: T[]; done: Promise<T> } {
  const seen: T[] = [];
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms; saw ${seen.length} values`)), ms);
  return {
    seen,
    done,
    push(v) {
      seen.push(v);
      if (pred(v)) {
        clearTimeout(timer);
        resolve(v);
      }
    },
  };
}
