/**
 * What a caller may spend, enforced where the resource lives. The enclave's budgets
 * (gas and wall time of calls, log ranges and result counts, pool slots, filters and
 * subscriptions) are set by the host at `init` and checked inside the enclave; the
 * host's own (bodies, batches, connections, in-flight requests) are checked by the
 * RPC server. Defaults follow geth where geth has one.
 */

/** Budgets the enclave enforces; part of the `init` config. */
export interface EnclaveLimits {
  /** Gas cap of eth_call / eth_estimateGas (geth --rpc.gascap). */
  rpcGasCap: bigint;
  /** Wall-clock limit of one eth_call, a whole eth_estimateGas search, or another read that can take long, in ms (geth --rpc.evmtimeout). */
  callTimeoutMs: number;
  /** Reads that can take long (eth_call, eth_estimateGas, log and fee-history queries, old state) running at once; more wait in line. */
  maxConcurrentCalls: number;
  /** Such reads that may wait in line; one more is refused. */
  maxQueuedCalls: number;
  /** eth_getLogs: blocks per query. */
  logsBlockRange: number;
  /** eth_getLogs: logs per answer. */
  logsMaxResults: number;
  /** Addresses, and topics over all positions, per log filter (eth_getLogs, filters, logs subscriptions). */
  filterMaxCriteria: number;
  /** Addresses and topics of all installed log filters and logs subscriptions together. */
  filterMaxCriteriaTotal: number;
  /** eth_feeHistory: blocks per query. */
  feeHistoryMaxBlocks: number;
  /** eth_feeHistory: reward percentiles per query. */
  feeHistoryMaxPercentiles: number;
  /** Pool: executable and waiting transactions together (geth GlobalSlots + GlobalQueue). */
  poolSlots: number;
  /** Pool: executable transactions of one sender (on the ordering log, not yet in a block). */
  poolAccountPending: number;
  /** Pool: transactions of one sender waiting for a nonce gap (geth AccountQueue). */
  poolAccountQueued: number;
  /** Pool: how far ahead of its sender's next nonce a transaction may be. */
  poolMaxNonceGap: number;
  /** Pool: how long a waiting (gapped) transaction is kept, in ms (geth Lifetime: 3 h). */
  poolQueuedLifetimeMs: number;
  /**
   * Pool: accounts it keeps a view of (nonce, balance), at most: pending-nonce queries for
   * any address make it follow that address, so the least recently used go first;
   * senders with transactions in the pool always stay.
   */
  poolFollowedAccounts: number;
  /** Polling filters on the node. */
  maxFilters: number;
  /** Polling filters created over one WebSocket connection (they end with it; HTTP filters count only towards maxFilters). */
  maxFiltersPerConnection: number;
  /** A filter not polled for this long is removed, in ms (geth: 5 minutes). */
  filterIdleMs: number;
  /** Changes (block hashes, transaction hashes, logs) one filter keeps between two polls. */
  filterMaxChanges: number;
  /**
   * Logs all log filters together gather between their polls (a filter's count runs until
   * its next poll, also if it dropped them); a log counts once more per KiB of its data.
   */
  filterMaxRetained: number;
  /** Subscriptions on the node. */
  maxSubscriptions: number;
  /** Subscriptions of one WebSocket connection. */
  maxSubscriptionsPerConnection: number;
  /**
   * Size of the ledger database in MiB. A block that would grow it further is not
   * written and the node stops (as on a full disk), before announcing anything after it.
   */
  ledgerMaxMb: number;
}

export const DEFAULT_ENCLAVE_LIMITS: EnclaveLimits = {
  rpcGasCap: 50_000_000n,
  callTimeoutMs: 5_000,
  maxConcurrentCalls: 8,
  maxQueuedCalls: 1_024,
  logsBlockRange: 10_000,
  logsMaxResults: 10_000,
  filterMaxCriteria: 1_000,
  filterMaxCriteriaTotal: 100_000,
  feeHistoryMaxBlocks: 1_024,
  feeHistoryMaxPercentiles: 100,
  poolSlots: 5_120,
  poolAccountPending: 1_024,
  poolAccountQueued: 64,
  poolMaxNonceGap: 64,
  poolQueuedLifetimeMs: 3 * 60 * 60_000,
  poolFollowedAccounts: 16_384,
  maxFilters: 2_000,
  maxFiltersPerConnection: 128,
  filterIdleMs: 5 * 60_000,
  filterMaxChanges: 10_000,
  filterMaxRetained: 100_000,
  maxSubscriptions: 10_000,
  maxSubscriptionsPerConnection: 128,
  ledgerMaxMb: 1_048_576,
};
