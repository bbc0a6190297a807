import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ENCLAVE_LIMITS, type EnclaveLimits } from '../runtime/boundary/limits.ts';

type Kind = 'count' | 'gas' | 'duration';

/** One command-line option per enclave budget: flag, budget, what it bounds. */
const LIMIT_OPTIONS: { flag: string; key: keyof EnclaveLimits; kind: Kind; description: string }[] = [
  { flag: 'rpc-gas-cap', key: 'rpcGasCap', kind: 'gas', description: 'gas cap of eth_call and eth_estimateGas' },
  { flag: 'rpc-call-timeout', key: 'callTimeoutMs', kind: 'duration', description: 'wall-clock limit of one eth_call or a whole eth_estimateGas (e.g. 5s, 500ms)' },
  { flag: 'rpc-max-calls', key: 'maxConcurrentCalls', kind: 'count', description: 'reads that can take long (eth_call, eth_estimateGas, eth_getLogs, eth_feeHistory, old state) running at once' },
  { flag: 'rpc-max-queued-calls', key: 'maxQueuedCalls', kind: 'count', description: 'such reads waiting for a turn; more are refused' },
  { flag: 'rpc-logs-block-range', key: 'logsBlockRange', kind: 'count', description: 'blocks per eth_getLogs query' },
  { flag: 'rpc-logs-max-results', key: 'logsMaxResults', kind: 'count', description: 'logs per eth_getLogs answer' },
  { flag: 'rpc-filter-max-criteria', key: 'filterMaxCriteria', kind: 'count', description: 'addresses, and topics, per log filter' },
  { flag: 'rpc-filter-max-criteria-total', key: 'filterMaxCriteriaTotal', kind: 'count', description: 'addresses and topics of all installed log filters and subscriptions' },
  { flag: 'rpc-fee-history-max-blocks', key: 'feeHistoryMaxBlocks', kind: 'count', description: 'blocks per eth_feeHistory query' },
  { flag: 'rpc-fee-history-max-percentiles', key: 'feeHistoryMaxPercentiles', kind: 'count', description: 'reward percentiles per eth_feeHistory query' },
  { flag: 'txpool-slots', key: 'poolSlots', kind: 'count', description: 'transactions in the pool, executable and waiting' },
  { flag: 'txpool-account-pending', key: 'poolAccountPending', kind: 'count', description: "one sender's executable transactions not yet in a block" },
  { flag: 'txpool-account-queue', key: 'poolAccountQueued', kind: 'count', description: "one sender's transactions waiting for a nonce gap" },
  { flag: 'txpool-max-nonce-gap', key: 'poolMaxNonceGap', kind: 'count', description: "how far ahead of its sender's next nonce a transaction may be" },
  { flag: 'txpool-lifetime', key: 'poolQueuedLifetimeMs', kind: 'duration', description: 'how long a waiting transaction is kept (e.g. 3h)' },
  { flag: 'txpool-followed-accounts', key: 'poolFollowedAccounts', kind: 'count', description: 'accounts whose nonce and balance the pool keeps (least recently used go)' },
  { flag: 'rpc-max-filters', key: 'maxFilters', kind: 'count', description: 'polling filters on the node' },
  { flag: 'rpc-max-filters-per-connection', key: 'maxFiltersPerConnection', kind: 'count', description: 'polling filters of one WebSocket connection' },
  { flag: 'rpc-filter-timeout', key: 'filterIdleMs', kind: 'duration', description: 'a filter not polled this long is removed (e.g. 5m)' },
  { flag: 'rpc-filter-max-changes', key: 'filterMaxChanges', kind: 'count', description: 'changes a filter keeps between polls' },
  { flag: 'rpc-filter-max-retained', key: 'filterMaxRetained', kind: 'count', description: 'logs all log filters together gather between polls' },
  { flag: 'rpc-max-subscriptions', key: 'maxSubscriptions', kind: 'count', description: 'subscriptions on the node' },
  { flag: 'rpc-max-subscriptions-per-connection', key: 'maxSubscriptionsPerConnection', kind: 'count', description: 'subscriptions of one WebSocket connection' },
  { flag: 'ledger-max-mb', key: 'ledgerMaxMb', kind: 'count', description: 'size of the ledger database in MiB; a block that would exceed it stops the node, as a full disk does' },
];

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as `5s`, `500ms`, `5m`, `3h`, or a bare number of seconds; in ms. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new InvalidArgumentError('a duration such as 5s, 500ms, 5m or 3h expected (at most about 24 days)');
  }
  return ms;
}

function parse(kind: Kind): (value: string) => number | bigint {
  if (kind === 'duration') return parseDuration;
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('a whole number expected');
    const n = BigInt(value.trim());
    if (kind === 'gas') {
      if (n < 21_000n || n >= 2n ** 64n) throw new InvalidArgumentError('a gas amount from 21000 to 2^64 - 1 expected');
      return n;
    }
    if (n < 1n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError('a whole number >= 1 expected');
    return Number(n);
  };
}

function shown(key: keyof EnclaveLimits, kind: Kind): string {
  const v = DEFAULT_ENCLAVE_LIMITS[key];
  if (kind !== 'duration') return String(v);
  const ms = Number(v);
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The commander options of every enclave budget, each with its default and environment variable. */
export function limitOptions(): Option[] {
  return LIMIT_OPTIONS.map(({ flag, key, kind, description }) =>
    new Option(`--${flag} <${kind === 'duration' ? 'duration' : 'n'}>`, description)
      .default(DEFAULT_ENCLAVE_LIMITS[key], shown(key, kind))
      .argParser(parse(kind))
      .env(`CONCLAVE_${flag.toUpperCase().replaceAll('-', '_')}`),
  );
}

/** The budgets as the command line set them (commander's camel-cased option values). */
export function limitsFrom(options: object): Partial<EnclaveLimits> {
  const out: Record<string, unknown> = {};
  for (const { flag, key } of LIMIT_OPTIONS) {
    const value = (options as Record<string, unknown>)[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<EnclaveLimits>;
}
