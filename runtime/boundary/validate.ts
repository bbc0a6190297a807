import type { EnclaveLimits } from './limits.ts';
import type { HostToEnclave, Query } from './messages.ts';
import {
  address,
  array,
  bigint,
  boolean,
  bytes,
  describe,
  either,
  finite,
  hash,
  integer,
  isPlainObject,
  json,
  nullable,
  object,
  oneOf,
  optional,
  tagged,
  text,
  uint256,
  uint64,
  UINT64_MAX,
  type Check,
  type Shape,
} from './checks.ts';

/**
 * The full schema of every message the host sends the enclave, checked inside the
 * enclave before anything acts on it: the host is untrusted, so a malformed message is
 * answered with an error naming the field, and changes nothing.
 *
 * One table entry per message type (MESSAGES) and per read kind (QUERIES): a new kind
 * in ./messages.ts needs its entry here (the types insist, and a test walks
 * messages.ts). Sizes are bounded by MESSAGE_BOUNDS, fixed ceilings above any sensible
 * configuration; the budgets a caller may spend (EnclaveLimits) are enforced by the
 * code that spends them, with their own errors, and may not be configured above these.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/** Fixed ceilings of inbound messages. */
export const MESSAGE_BOUNDS = {
  /** A signed transaction (geth txMaxSize: 4 slots of 32 KiB). */
  rawTransaction: 128 * KiB,
  /** Call data of eth_call / eth_estimateGas: a 5 MiB request body (geth's limit) holds no more in hex. */
  callData: 5 * MiB / 2,
  /** Access list of a call: entries and storage keys together. */
  accessListItems: 16 * KiB,
  /** A sealed log entry: IV (12), kind (1), sender key (64) and a transaction, tag (16). */
  envelope: 12 + 1 + 64 + 128 * KiB + 16,
  /** The smallest envelope: IV, tag and one byte. */
  envelopeMin: 12 + 16 + 1,
  /** Code set by hardhat_setCode / anvil_setCode (large contracts such as ERC-4337's EntryPoint fit). */
  devCode: 1 * MiB,
  /** Ordering-log entries in one `order` message. */
  orderEntries: 65_536,
  /** An opaque caller credential (a session token or a signed query). */
  credential: 64 * KiB,
  /** eth_sign / personal_sign message. */
  signMessage: 256 * KiB,
  /** eth_signTypedData_v4 data, as JSON text or object. */
  typedData: 256 * KiB,
  typedDataDepth: 32,
  /** Addresses, and topics per position, of a log filter (filterMaxCriteria may not exceed it). */
  filterCriteria: 100_000,
  /** Topic positions of a log filter (the EVM's LOG4). */
  filterTopicPositions: 4,
  /** eth_feeHistory blocks (feeHistoryMaxBlocks may not exceed it). */
  feeHistoryBlocks: 65_536,
  /** eth_feeHistory percentiles (feeHistoryMaxPercentiles may not exceed it). */
  feeHistoryPercentiles: 10_000,
  /** A Sign-In with Ethereum message (EIP-4361): a few lines, some resources. */
  siweMessage: 4 * KiB,
  /** Paths and mnemonics of the init config. */
  path: 4 * KiB,
  mnemonic: 1 * KiB,
  devAccounts: 1_000,
  /** Identities and funded accounts of a network file. */
  genesisAccounts: 100_000,
  /** A policy's JSON text. */
  policy: 16 * KiB,
  /** Sign-In with Ethereum domains of the init config, and the length of each. */
  sessionDomains: 64,
  domain: 255,
} as const;

const B = MESSAGE_BOUNDS;

const credential = bytes(B.credential);
const blockTag = either('block number (below 2^64) or tag (latest, earliest, pending, safe, finalized) expected', uint64, oneOf('latest', 'earliest', 'pending', 'safe', 'finalized'));
const blockRef = either(
  'block number (below 2^64), tag, or { hash, requireCanonical? } expected',
  blockTag,
  object({ hash, requireCanonical: optional(boolean) }),
);

/** The transaction-like object of eth_call, eth_estimateGas and eth_sendTransaction. */
function callRequest(maxData: number): Check {
  const entries = array(object({ address, storageKeys: array(hash, B.accessListItems) }), B.accessListItems);
  const accessList: Check = (v) => {
    const p = entries(v);
    if (p) return p;
    let items = 0;
    for (const e of v as { storageKeys: unknown[] }[]) items += 1 + e.storageKeys.length;
    return items > B.accessListItems ? { at: '', why: `${items} entries and storage keys, at most ${B.accessListItems} allowed` } : undefined;
  };
  return object({
    from: optional(address),
    to: optional(address),
    gas: optional(uint64),
    gasPrice: optional(uint256),
    maxFeePerGas: optional(uint256),
    maxPriorityFeePerGas: optional(uint256),
    value: optional(uint256),
    data: optional(bytes(maxData)),
    nonce: optional(uint64),
    type: optional(integer(0x7f)),
    accessList: optional(accessList),
    chainId: optional(uint256),
  });
}
const callQuery = callRequest(B.callData);

const logFilter = object({
  fromBlock: optional(blockTag),
  toBlock: optional(blockTag),
  blockHash: optional(hash),
  addresses: array(address, B.filterCriteria),
  topics: array(nullable(array(hash, B.filterCriteria)), B.filterTopicPositions),
});

/** One entry per read kind. */
const QUERIES: { [K in Query['kind']]: Shape } = {
  blockNumber: {},
  balance: { address, block: blockRef },
  code: { address, block: blockRef },
  policy: { address, block: blockRef },
  storage: { address, slot: uint256, block: blockRef },
  nonce: { address, block: blockRef },
  call: { request: callQuery, block: blockRef },
  estimateGas: { request: callQuery, block: blockRef },
  block: { block: blockRef, fullTransactions: boolean },
  blockTxCount: { block: blockRef },
  transaction: { hash },
  transactionByBlockAndIndex: { block: blockRef, index: integer(Number.MAX_SAFE_INTEGER) },
  receipt: { hash },
  blockReceipts: { block: blockRef },
  logs: { filter: logFilter },
  feeHistory: {
    count: integer(B.feeHistoryBlocks),
    newest: blockRef,
    percentiles: array(finite(100, 0), B.feeHistoryPercentiles),
  },
  gasPrice: {},
  maxPriorityFee: {},
  accounts: {},
};

/**
 * A count or duration budget: a safe integer from 1 to `max`. A budget of 0 would turn
 * its resource off while looking configured (no calls run, every filter expires at
 * once), so it is refused here as the command line refuses it.
 */
const count = (max = Number.MAX_SAFE_INTEGER) => integer(max, 1);
/** One entry per budget; the ceilings tie budgets to the message bounds above. */
const LIMITS: { [K in keyof EnclaveLimits]: Check } = {
  // A simple transfer's gas: less and no call could run.
  rpcGasCap: bigint(UINT64_MAX, 21_000n),
  callTimeoutMs: count(2 ** 31 - 1), // a timer's range
  maxConcurrentCalls: count(),
  maxQueuedCalls: count(),
  logsBlockRange: count(),
  logsMaxResults: count(),
  filterMaxCriteria: count(B.filterCriteria),
  filterMaxCriteriaTotal: count(),
  feeHistoryMaxBlocks: count(B.feeHistoryBlocks),
  feeHistoryMaxPercentiles: count(B.feeHistoryPercentiles),
  // What waits on the ordering log is in the pool, so one `order` message always holds it.
  poolSlots: count(B.orderEntries / 2),
  poolAccountPending: count(),
  poolAccountQueued: count(),
  poolMaxNonceGap: count(),
  poolQueuedLifetimeMs: count(),
  poolFollowedAccounts: count(),
  maxFilters: count(),
  maxFiltersPerConnection: count(),
  filterIdleMs: count(2 ** 31 - 1),
  filterMaxChanges: count(),
  filterMaxRetained: count(),
  maxSubscriptions: count(),
  maxSubscriptionsPerConnection: count(),
  // SQLite counts pages of 4 KiB in 32 bits.
  ledgerMaxMb: count(2 ** 31 / 256),
};

const config = object({
  // Absolute, so it does not depend on the enclave's working directory.
  dataDir: text(B.path, /^\/[^\0]*$|^[A-Za-z]:[\\/][^\0]*$/, 'absolute path'),
  chainId: bigint(UINT64_MAX, 1n),
  reset: boolean,
  devMnemonic: text(B.mnemonic),
  devAccounts: integer(B.devAccounts),
  devBalance: uint256,
  blockGasLimit: optional(bigint(UINT64_MAX, 5_000n)),
  limits: object(LIMITS),
  sessionDomains: optional(array(text(B.domain), B.sessionDomains)),
  network: optional(
    object({
      identities: array(object({ address, roles: integer(7, 1), x25519: optional(bytes(32, 32)) }), B.genesisAccounts),
      alloc: array(object({ address, balance: uint256 }), B.genesisAccounts),
      defaultPolicy: optional(text(B.policy)),
      timestamp: optional(uint64),
    }),
  ),
});

/** The host's id of a WebSocket connection. */
const connection = integer(Number.MAX_SAFE_INTEGER);
/** A filter or subscription id: a quantity of up to 256 bits, lowercase. */
const watchId = text(66, /^0x[0-9a-f]{1,64}$/, 'hex identifier');

/** One entry per message type: the fields besides `type` and `id`. */
const MESSAGES: { [K in HostToEnclave['type']]: Shape } = {
  init: { config },
  submit: { raw: bytes(B.rawTransaction, 1) },
  sendTransaction: { caller: credential, request: callRequest(B.rawTransaction) },
  // Entries are checked one by one as they execute (checkOrderedEntry): a bad entry of
  // the log is skipped, not the whole batch.
  order: { entries: array(() => undefined, B.orderEntries) },
  durable: { number: uint64 },
  settled: { hash },
  read: { caller: credential, query: tagged('kind', QUERIES) },
  sign: {
    caller: credential,
    request: tagged('kind', {
      message: { address, message: bytes(B.signMessage) },
      typedData: { address, typedData: json(B.typedData, B.typedDataDepth) },
    }),
  },
  filter: {
    caller: credential,
    connection: optional(connection),
    request: tagged('kind', {
      newBlocks: {},
      newPending: {},
      newLogs: { filter: logFilter },
      changes: { filterId: watchId },
      logs: { filterId: watchId },
      uninstall: { filterId: watchId },
    }),
  },
  subscribe: {
    caller: credential,
    connection,
    subscription: tagged('kind', { newHeads: {}, newPendingTransactions: {}, logs: { filter: logFilter } }),
  },
  unsubscribe: { caller: credential, connection, subscriptionId: watchId },
  session: {
    caller: credential,
    request: tagged('kind', {
      nonce: {},
      login: {
        message: text(B.siweMessage),
        signature: text(132, /^0x[0-9a-fA-F]{130}$/, 'signature (0x and 130 hex digits)'),
        host: optional(text(B.domain)),
        source: optional(text(B.domain)),
      },
      logout: {},
    }),
  },
  connectionClosed: { connection },
  shutdown: {},
};

const id = integer(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
const byType = new Map<string, Check>(Object.entries(MESSAGES).map(([type, shape]) => [type, object({ ...shape, type: oneOf(type), id })]));

/** The message types and read kinds the schema knows (for tests that compare with messages.ts). */
export const SCHEMA_KINDS = { messages: Object.keys(MESSAGES), queries: Object.keys(QUERIES), limits: Object.keys(LIMITS) };

/**
 * Checks an inbound message against the schema before the enclave acts on it.
 * Returns why it is refused (naming the field, as `read.query.filter.addresses: 100001
 * items, at most 100000 allowed`), or undefined when it is well-formed.
 */
export function checkInbound(m: unknown): string | undefined {
  if (!isPlainObject(m)) return 'message is not an object';
  if (id(m.id)) return 'message id must be an integer';
  const type = m.type;
  const check = typeof type === 'string' ? byType.get(type) : undefined;
  if (!check) return `unknown message type ${JSON.stringify(String(type)).slice(0, 40)}`;
  const p = check(m);
  return p && `${type}.${describe(p)}`;
}

/** One entry of the ordering log. */
const orderedEntry = tagged('kind', {
  tx: { envelope: bytes(B.envelope, B.envelopeMin) },
  cut: { timestamp: integer(Number.MAX_SAFE_INTEGER), allowEmpty: boolean },
  dev: {
    ref: text(64),
    timestamp: integer(Number.MAX_SAFE_INTEGER),
    op: tagged('op', {
      mine: { blocks: uint64, interval: uint64, timestamp: optional(uint64) },
      snapshot: {},
      revert: { id: uint64 },
      increaseTime: { seconds: uint64 },
      setNextBlockTimestamp: { timestamp: uint64 },
      setNextBlockBaseFee: { baseFee: uint256 },
      setBalance: { address, balance: uint256 },
      setCode: { address, code: bytes(B.devCode) },
      setNonce: { address, nonce: uint64 },
      setStorageAt: { address, slot: uint256, value: bytes(32, 32) },
      impersonate: { address, on: boolean },
      dropTransaction: { hash },
    }),
  },
});

/** Why an ordering-log entry is malformed, or undefined when it is well-formed. */
export function checkOrderedEntry(e: unknown): string | undefined {
  const p = orderedEntry(e);
  return p && describe(p);
}

export function isHostToEnclave(m: unknown): m is HostToEnclave {
  return checkInbound(m) === undefined;
}
