/**
 * Every message that crosses the host <-> enclave boundary, declared once.
 *
 * Payloads are plain objects, strings, bigints and Uint8Arrays (structured clone), never
 * class instances. Each read carries the caller's credential so that the enclave, not
 * the host, decides what a caller may see. The host forwards credentials as opaque
 * bytes and never logs them. On the wire, messages travel in arrays (one per turn of
 * the sender's event loop); each element is one of the messages below.
 */

import type { EnclaveLimits } from './limits.ts';

/** An opaque caller credential (a session token or signed query); empty for anonymous. */
export type Credential = Uint8Array;

/** A block reference as JSON-RPC gives it. */
export type BlockTagName = 'latest' | 'earliest' | 'pending' | 'safe' | 'finalized';
/** A block number or a named tag. */
export type BlockTag = bigint | BlockTagName;
/** EIP-1898: a block number, a named tag, or a block by hash. */
export type BlockRef = BlockTag | { hash: string; requireCanonical?: boolean };

export interface AccessListEntry {
  address: string;
  storageKeys: string[];
}

/** A transaction-like object for eth_call, eth_estimateGas and eth_sendTransaction. */
export interface CallRequest {
  from?: string;
  to?: string;
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value?: bigint;
  data?: Uint8Array;
  nonce?: bigint;
  type?: number;
  accessList?: AccessListEntry[];
  chainId?: bigint;
}

/** An eth_getLogs / eth_newFilter filter: either `blockHash` or a block range. */
export interface LogFilter {
  fromBlock?: BlockTag;
  toBlock?: BlockTag;
  blockHash?: string;
  /** Empty means any address. */
  addresses: string[];
  /** Per position: null matches anything, otherwise any of the listed topics. */
  topics: (string[] | null)[];
}

/**
 * A consortium network's genesis, from its network file (`conclave start --genesis`):
 * public by nature. Every node of the network starts from the same one.
 */
export interface NetworkGenesis {
  /** The identity registry's initial entries: roles are bits (member 1, user 2, auditor 4). */
  identities: { address: string; roles: number; x25519?: Uint8Array }[];
  /** Funded accounts. */
  alloc: { address: string; balance: bigint }[];
  /** The policy of contracts that set none, as JSON text; absent: such contracts are public. */
  defaultPolicy?: string;
  /** The genesis block's timestamp (unix s), so that every node builds the same genesis; absent: when the node creates it. */
  timestamp?: bigint;
}

/**
 * Settings the host passes at start; none of them is secret. The platform secret is
 * not among them: the enclave locates it itself (runtime/ledger/platformSecret.ts).
 */
export interface EnclaveConfig {
  dataDir: string;
  chainId: bigint;
  /** Remove the node's own files from `dataDir` first. */
  reset: boolean;
  /** Dev network: accounts derived from this public mnemonic are funded and can sign. */
  devMnemonic: string;
  devAccounts: number;
  devBalance: bigint;
  /**
   * The block gas limit, a consensus parameter fixed at genesis: given for a new chain
   * (else 30,000,000); on an existing one it must match the one pinned, or be absent.
   */
  blockGasLimit?: bigint;
  /** What callers may spend; checked inside the enclave. */
  limits: EnclaveLimits;
  /**
   * Sign-In with Ethereum domains (`host[:port]`) this node serves besides the Host a
   * login arrives with.
   */
  sessionDomains?: string[];
  /**
   * A consortium network: only its registered identities transact, and no dev account
   * exists. Absent: the open dev network, where any funded account transacts.
   */
  network?: NetworkGenesis;
}

/**
 * A dev-network operation (evm_*, hardhat_*, anvil_*). Each is ordered on the log like
 * a transaction, so the ledger stays the one record of the chain and a restart replays
 * what they changed; the enclave refuses them on a network started from a genesis file.
 */
export type DevOp =
  /** Mine `blocks` blocks, `interval` seconds apart; the first takes what waits, at `timestamp` if given. */
  | { op: 'mine'; blocks: bigint; interval: bigint; timestamp?: bigint }
  /** Remember the chain, time and queue as they are: answered with the snapshot's id. */
  | { op: 'snapshot' }
  /** Take the chain back to snapshot `id` (an authenticated rewind entry); answered whether it existed. */
  | { op: 'revert'; id: bigint }
  | { op: 'increaseTime'; seconds: bigint }
  | { op: 'setNextBlockTimestamp'; timestamp: bigint }
  | { op: 'setNextBlockBaseFee'; baseFee: bigint }
  | { op: 'setBalance'; address: string; balance: bigint }
  | { op: 'setCode'; address: string; code: Uint8Array }
  | { op: 'setNonce'; address: string; nonce: bigint }
  | { op: 'setStorageAt'; address: string; slot: bigint; value: Uint8Array }
  /** Let eth_sendTransaction send from `address` without its key (or stop). */
  | { op: 'impersonate'; address: string; on: boolean }
  /** Remove a transaction that waits (in the pool or on the log, not yet in a block). */
  | { op: 'dropTransaction'; hash: string };

/** One entry of the ordering log. Transactions travel sealed; cuts carry the log's clock. */
export type OrderedEntry =
  | { kind: 'tx'; envelope: Uint8Array }
  /** Ends a block. `timestamp` is the log's clock (ms); `allowEmpty` asks for a block even with no transactions. */
  | { kind: 'cut'; timestamp: number; allowEmpty: boolean }
  /**
   * A dev operation; `timestamp` is the log's clock (ms) when it was appended, `ref`
   * names it to the node that appended it, which answers the caller with its outcome.
   */
  | { kind: 'dev'; ref: string; timestamp: number; op: DevOp };

/** A read, answered in JSON-RPC shape (hex strings) where the answer is an object. */
export type Query =
  | { kind: 'blockNumber' }
  | { kind: 'balance'; address: string; block: BlockRef }
  | { kind: 'code'; address: string; block: BlockRef }
  /** conclave_getPolicy: the policy governing a contract at a block (public). */
  | { kind: 'policy'; address: string; block: BlockRef }
  | { kind: 'storage'; address: string; slot: bigint; block: BlockRef }
  | { kind: 'nonce'; address: string; block: BlockRef }
  | { kind: 'call'; request: CallRequest; block: BlockRef }
  | { kind: 'estimateGas'; request: CallRequest; block: BlockRef }
  | { kind: 'block'; block: BlockRef; fullTransactions: boolean }
  | { kind: 'blockTxCount'; block: BlockRef }
  | { kind: 'transaction'; hash: string }
  | { kind: 'transactionByBlockAndIndex'; block: BlockRef; index: number }
  | { kind: 'receipt'; hash: string }
  | { kind: 'blockReceipts'; block: BlockRef }
  | { kind: 'logs'; filter: LogFilter }
  | { kind: 'feeHistory'; count: number; newest: BlockRef; percentiles: number[] }
  | { kind: 'gasPrice' }
  | { kind: 'maxPriorityFee' }
  | { kind: 'accounts' };

/** A polling filter operation (eth_newFilter and friends). */
export type FilterRequest =
  | { kind: 'newBlocks' }
  | { kind: 'newPending' }
  | { kind: 'newLogs'; filter: LogFilter }
  /** What the filter gathered since it was last polled (eth_getFilterChanges). */
  | { kind: 'changes'; filterId: string }
  /** Every log that matches a log filter (eth_getFilterLogs). */
  | { kind: 'logs'; filterId: string }
  | { kind: 'uninstall'; filterId: string };

/** What eth_subscribe asks for. */
export type SubscriptionRequest = { kind: 'newHeads' } | { kind: 'newPendingTransactions' } | { kind: 'logs'; filter: LogFilter };

/** A subscription's news, for the host to send on one WebSocket connection. */
export interface Notification {
  /** The host's id of the WebSocket connection that subscribed. */
  connection: number;
  subscription: string;
  /** In JSON-RPC shape. */
  result: unknown;
}

/**
 * Sign-In with Ethereum (EIP-4361): a nonce to put in the message, a login with the
 * signed message, or the end of the caller's session.
 */
export type SessionRequest =
  | { kind: 'nonce' }
  /** `source`: the network address the login came from, as the host saw it (failed logins are bounded per source). */
  | { kind: 'login'; message: string; signature: string; host?: string; source?: string }
  | { kind: 'logout' };

/** A new session: `token` is the caller's credential from now on; `expiresAt` in unix seconds. */
export interface Login {
  token: string;
  address: string;
  expiresAt: number;
  /** The contracts the session may reach, when its message named any in `resources`. */
  scope?: string[];
}

/** A signature made with a dev account's key. */
export type SignRequest =
  | { kind: 'message'; address: string; message: Uint8Array }
  | { kind: 'typedData'; address: string; typedData: unknown };

/** Host -> enclave requests; each is answered by exactly one `reply` with the same id. */
export type HostToEnclave =
  /** Open (or create) the data directory, recover state, report the chain. */
  | { type: 'init'; id: number; config: EnclaveConfig }
  /** Validate a signed transaction and seal it for the ordering log. */
  | { type: 'submit'; id: number; raw: Uint8Array }
  /** Fill, sign with a dev key, validate and seal a transaction. */
  | { type: 'sendTransaction'; id: number; caller: Credential; request: CallRequest }
  /**
   * Execute entries from the ordering log, in log order; a cut ends a block. Answered
   * once executed: the blocks are still being written, and are announced only after
   * `durable` for the last of them.
   */
  | { type: 'order'; id: number; entries: OrderedEntry[] }
  /** Answered once block `number` and all before it are durable (and readable). */
  | { type: 'durable'; id: number; number: bigint }
  /**
   * Answered once the transaction `hash` is in a durable block (true) or will not be
   * (false: dropped, or not within the wait's bound); a reverted one is answered with
   * its revert error where the caller may see it (Hardhat's send semantics).
   */
  | { type: 'settled'; id: number; hash: string }
  /** Answer a read on behalf of a caller. */
  | { type: 'read'; id: number; caller: Credential; query: Query }
  /** Sign with a dev account's key (eth_sign, personal_sign, eth_signTypedData_v4). */
  | { type: 'sign'; id: number; caller: Credential; request: SignRequest }
  /**
   * A polling filter operation on behalf of a caller. `connection` is the WebSocket
   * connection it came on (the filter ends with it); absent over HTTP.
   */
  | { type: 'filter'; id: number; caller: Credential; connection?: number; request: FilterRequest }
  /** eth_subscribe on WebSocket connection `connection`; answered with the subscription id. */
  | { type: 'subscribe'; id: number; caller: Credential; connection: number; subscription: SubscriptionRequest }
  /** eth_unsubscribe: only the connection that subscribed can end a subscription. */
  | { type: 'unsubscribe'; id: number; caller: Credential; connection: number; subscriptionId: string }
  /** conclave_nonce, conclave_login, conclave_logout; a logout ends the caller's session. */
  | { type: 'session'; id: number; caller: Credential; request: SessionRequest }
  /** A WebSocket connection closed: its subscriptions and filters end. */
  | { type: 'connectionClosed'; id: number; connection: number }
  /** Write a snapshot and close storage. */
  | { type: 'shutdown'; id: number };

/** Fixed error kinds; the host maps each to one JSON-RPC code, in one place. */
export type EnclaveErrorKind =
  | 'invalidParams'
  | 'invalidInput'
  | 'reverted'
  | 'notFound'
  | 'unsupported'
  | 'limitExceeded'
  | 'notPermitted'
  | 'unauthorized'
  | 'internal';

export interface EnclaveError {
  kind: EnclaveErrorKind;
  message: string;
  /** For 'reverted': the revert data, 0x-hex. */
  data?: string;
}

/**
 * What an executed block announces to the host: its number and hash, public by rule.
 * Its contents (logs, transactions) stay inside: filters and subscriptions are kept
 * in the enclave, which answers each caller.
 */
export interface BlockEvent {
  number: bigint;
  hash: string;
}

/** The outcome of a dev operation, for the node that appended it (by `ref`). */
export type DevOutcome = { ref: string; ok: true; value: unknown } | { ref: string; ok: false; error: EnclaveError };

export interface OrderResult {
  blocks: BlockEvent[];
  /** Outcomes of the dev operations among the entries, in log order. */
  dev: DevOutcome[];
  /** Transactions still waiting (block gas full, or a nonce gap not yet filled). */
  waiting: number;
  /** Entries that were skipped, by position in the message, and why (public: no content). */
  skipped: { position: number; reason: string }[];
}

export interface InitResult {
  chainId: bigint;
  head: bigint;
  accounts: string[];
  recoveredFrom: { snapshot: number | null; replayedBlocks: number };
}

/**
 * A transaction the pool took. Only transactions executable at the tip go onto the
 * ordering log; one with a nonce gap waits in the pool until the gap is filled.
 */
export interface Admitted {
  hash: string;
  /**
   * Sealed envelopes to append to the ordering log, in this order: the transaction and
   * the waiting ones it made executable, in nonce order. Empty when it waits for a gap.
   */
  envelopes: Uint8Array[];
  /**
   * With envelopes: their place in the order the pool sealed them (0, 1, 2, ...). Replies
   * come back on two ports and in any order; appending by `seq` keeps each sender's
   * transactions in nonce order on the log.
   */
  seq?: number;
}

/** Enclave -> host messages. */
export type EnclaveToHost =
  /** The answer to request `id`. */
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: EnclaveError }
  /** A subscription's news, sent once the block or transaction it tells of is visible. */
  | ({ type: 'notification' } & Notification);

/** The value each request kind answers with. */
export interface ReplyValues {
  init: InitResult;
  submit: Admitted;
  sendTransaction: Admitted;
  order: OrderResult;
  durable: null;
  settled: boolean;
  read: unknown;
  sign: string;
  /** A new filter's id, a filter's changes or logs, or whether uninstall removed one. */
  filter: unknown;
  /** The subscription id. */
  subscribe: string;
  /** Whether a subscription was removed. */
  unsubscribe: boolean;
  /** A nonce, a new session, or true once the session ended. */
  session: string | Login | true;
  connectionClosed: null;
  shutdown: null;
}
