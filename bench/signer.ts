/**
 * Signing worker: turns transfer specs into signed type-2 transactions (ethers).
 * Started by workload.ts through a tsx bootstrap, one per core.
 */
import { parentPort } from 'node:worker_threads';
import { SigningKey, Transaction } from 'ethers';
import { recipientAddress, transferData } from './accounts.ts';

export interface SignJob {
  chainId: string;
  token: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  gasLimit: string;
  keys: string[];
  /** Flattened triples: sender index, nonce, recipient index. */
  items: number[];
}

export interface SignResult {
  /** Flattened pairs: hash, raw. */
  out: string[];
}

const signingKeys = new Map<string, SigningKey>();

export function signTransfers(job: SignJob): SignResult {
  const out: string[] = [];
  const chainId = BigInt(job.chainId);
  const maxFeePerGas = BigInt(job.maxFeePerGas);
  const maxPriorityFeePerGas = BigInt(job.maxPriorityFeePerGas);
  const gasLimit = BigInt(job.gasLimit);
  for (let i = 0; i < job.items.length; i += 3) {
    const key = job.keys[job.items[i]!]!;
    let sk = signingKeys.get(key);
    if (!sk) signingKeys.set(key, (sk = new SigningKey(key)));
    const tx = Transaction.from({
      type: 2,
      chainId,
      nonce: job.items[i + 1]!,
      to: job.token,
      value: 0n,
      data: transferData(recipientAddress(job.items[i + 2]!), 1n),
      gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    tx.signature = sk.sign(tx.unsignedHash);
    out.push(tx.hash!, tx.serialized);
  }
  return { out };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: SignJob) => {
    try {
      port.postMessage(signTransfers(job));
    } catch (err) {
      port.postMessage({ error: (err as Error).stack ?? String(err) });
    }
  });
}
