/**
 * Collects the messages sent in one turn of the event loop and posts them as one
 * array: under load, one structured clone carries dozens of them.
 */
export function batcher<T>(post: (batch: T[]) => void): (message: T) => void {
  let outbox: T[] = [];
  const flush = () => {
    const batch = outbox;
    outbox = [];
    post(batch);
  };
  return (message) => {
    if (outbox.length === 0) setImmediate(flush);
    outbox.push(message);
  };
}
