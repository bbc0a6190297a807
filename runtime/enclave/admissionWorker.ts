import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { batcher } from '../boundary/batcher.ts';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Admitted, EnclaveError, EnclaveToHost } from '../boundary/messages.ts';
import { checkInbound } from '../boundary/validate.ts';
import { createChainCommon } from '../chain/common.ts';
import { initEthCrypto } from '../crypto/ethCrypto.ts';
import { EnclaveFailure, invalidInput, toEnclaveError } from './EnclaveFailure.ts';
import { inspectTransaction, type Inspected } from './inspect.ts';
import { TxPool, type PoolUpdate } from './TxPool.ts';

/**
 * The enclave's admission thread: it takes `submit` straight from the host (on a port
 * of its own), decodes the transaction, recovers its sender, checks it against the pool
 * and seals it for the ordering log, so accepting a transaction never waits for the
 * thread that executes blocks. That thread keeps the pool's view of the senders'
 * accounts current and asks the pool what only it knows (pending nonces and
 * transactions). Queued transactions expire on a timer here.
 */

/** Executing thread -> admission thread. */
export type AdmissionRequest =
  /** Admit a signed transaction (eth_sendTransaction, or a submit made in-process). */
  | { kind: 'admit'; id: number; raw: Uint8Array; sender?: string }
  | { kind: 'nextNonce'; id: number; address: string }
  | { kind: 'pending'; id: number; hash: string }
  /** After blocks, or in answer to a lookup; not answered. */
  | { kind: 'update'; update: PoolUpdate };

/** Admission thread -> executing thread. */
export type AdmissionMessage =
  | { kind: 'reply'; id: number; value?: unknown; error?: EnclaveError }
  /** Senders the pool does not follow yet: answered with an update that holds them. */
  | { kind: 'lookup'; address: string }
  /** Accounts the pool stopped following (its view is bounded): leave them out of updates. */
  | { kind: 'unfollow'; addresses: string[] }
  /** A transaction that became executable, for pending-transaction filters and subscriptions; not answered. */
  | { kind: 'admitted'; hash: string };

export interface AdmissionData {
  chainId: string;
  envelopeKey: Uint8Array;
  blockGasLimit: string;
  baseFee: string;
  /** The pool's limits (poolSlots, poolAccountPending, ...), from the init config. */
  limits: EnclaveLimits;
  /** The host's submission port; absent when the enclave runs in-process. */
  hostPort?: MessagePort;
  /** A consortium network: the only senders admitted (the identity registry is fixed until governance changes it). */
  registered?: string[];
}

const port = parentPort!;
const { chainId, envelopeKey, blockGasLimit, baseFee, limits, hostPort, registered } = workerData as AdmissionData;
const registeredSenders = registered && new Set(registered);
const common = createChainCommon(BigInt(chainId), await initEthCrypto());
const pool = new TxPool(BigInt(blockGasLimit), BigInt(baseFee), limits);
// Expiry needs no precision beyond a fraction of the lifetime (geth checks every minute).
setInterval(() => pool.expire(), Math.max(50, Math.min(limits.poolQueuedLifetimeMs / 4, 60_000))).unref();
/** Replies that carry envelopes, numbered in the order they were sealed (see Admitted.seq). */
let sealed = 0;
const toMain = batcher<AdmissionMessage>((batch) => port.postMessage(batch));
/** Senders asked of the executing thread, with the admissions waiting for them. */
const lookups = new Map<string, (() => void)[]>();

function follow(sender: string): Promise<void> | undefined {
  if (pool.follows(sender)) return undefined;
  return new Promise((resolve) => {
    let waiting = lookups.get(sender);
    if (!waiting) {
      lookups.set(sender, (waiting = []));
      toMain({ kind: 'lookup', address: sender });
    }
    waiting.push(resolve);
  });
}

async function admit(raw: Uint8Array, sender?: string): Promise<Admitted> {
  let inspected: Inspected;
  try {
    inspected = inspectTransaction(raw, common, envelopeKey, sender);
  } catch (err) {
    throw err instanceof EnclaveFailure ? err : invalidInput('invalid transaction');
  }
  if (registeredSenders && !registeredSenders.has(inspected.sender)) {
    throw new EnclaveFailure('notPermitted', `sender ${inspected.sender} is not a registered identity of this network`);
  }
  // A loop: the view of a sender just looked up could be trimmed before this resumes.
  while (!pool.follows(inspected.sender)) await follow(inspected.sender);
  // One for a nonce that waits on the log is sealed as its replacement (a second
  // signature recovery, for replacements only), with no await before the pool takes it.
  if (pool.pendingAt(inspected.sender, inspected.nonce)) inspected = inspectTransaction(raw, common, envelopeKey, sender, true);
  const { executable, ...admitted }: Admitted & { executable: string[] } = pool.admit(inspected);
  if (admitted.envelopes.length) admitted.seq = sealed++;
  // Pending-transaction watchers hear of a transaction once it is executable (as geth's).
  for (const hash of executable) toMain({ kind: 'admitted', hash });
  return admitted;
}

port.on('message', (batch: AdmissionRequest[]) => {
  for (const m of batch) {
    switch (m.kind) {
      case 'update': {
        const unfollowed = pool.update(m.update, (address) => lookups.has(address));
        if (unfollowed.length) toMain({ kind: 'unfollow', addresses: unfollowed });
        for (const [address] of m.update.accounts) {
          const waiting = lookups.get(address);
          lookups.delete(address);
          waiting?.forEach((resume) => resume());
        }
        break;
      }
      case 'admit':
        answer(m.id, () => admit(m.raw, m.sender));
        break;
      case 'nextNonce':
        answer(m.id, async () => {
          while (!pool.follows(m.address)) await follow(m.address);
          return pool.nextNonce(m.address);
        });
        break;
      case 'pending':
        answer(m.id, () => {
          const p = pool.get(m.hash);
          return p && { sender: p.sender, envelope: p.envelope };
        });
        break;
    }
  }
});

function answer(id: number, fn: () => unknown): void {
  Promise.resolve()
    .then(fn)
    .then(
      (value) => toMain({ kind: 'reply', id, value }),
      (err: unknown) => toMain({ kind: 'reply', id, error: toEnclaveError(err) }),
    );
}

// The host's submissions: the same checks on inbound messages as the executing thread's.
if (hostPort) {
  const toHost = batcher<EnclaveToHost>((batch) => hostPort.postMessage(batch));
  const refuse = (id: number, message: string) =>
    toHost({ type: 'reply', id, ok: false, error: { kind: 'invalidParams', message: `malformed message: ${message}` } });
  hostPort.on('message', (batch: unknown) => {
    if (!Array.isArray(batch)) return refuse(-1, 'a batch (array) expected');
    for (const message of batch) {
      const id = typeof message?.id === 'number' ? message.id : -1;
      const problem = checkInbound(message) ?? (message.type === 'submit' ? undefined : `${message.type} is not taken on the submission port`);
      if (problem) {
        refuse(id, problem);
        continue;
      }
      admit(message.raw).then(
        (value) => toHost({ type: 'reply', id, ok: true, value }),
        (err: unknown) => toHost({ type: 'reply', id, ok: false, error: toEnclaveError(err) }),
      );
    }
  });
}
