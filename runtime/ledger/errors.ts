/**
 * Errors raised by the ledger layer. Callers distinguish "the host handed us bad
 * bytes" (LedgerCorruptError: stop, the data cannot be trusted) from everything
 * else (LedgerError: misuse, wrong format, wrong platform).
 */

/** Any ledger failure that is not evidence of tampering: misuse, wrong format, wrong platform. */
export class LedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerError';
  }
}

/** What a corrupt record was: a ledger entry, a snapshot, or a meta value. */
export type CorruptSubject = 'entry' | 'snapshot' | 'meta';

/**
 * Stored data failed authentication or is missing: the untrusted host (or the disk)
 * altered, swapped, deleted or truncated it. `seq` is the entry's or snapshot's block
 * number; undefined for meta values.
 */
export class LedgerCorruptError extends LedgerError {
  readonly seq: number | undefined;
  readonly subject: CorruptSubject;
  constructor(message: string, seq: number | undefined, subject: CorruptSubject = 'entry') {
    super(message);
    this.name = 'LedgerCorruptError';
    this.seq = seq;
    this.subject = subject;
  }
}
