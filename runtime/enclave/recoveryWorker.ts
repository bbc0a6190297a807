import { createTxFromRLP } from '@ethereumjs/tx';
import { parentPort, workerData } from 'node:worker_threads';
import { createChainCommon } from '../chain/common.ts';
import { initEthCrypto } from '../crypto/ethCrypto.ts';

/**
 * A second enclave thread that recovers transaction senders (the costliest step of
 * admission) so the thread that executes blocks does not. It holds no keys and no
 * state: raw signed transactions in, public keys out. Its messages never leave the
 * enclave: only the enclave's main thread talks to it.
 */
export type RecoveryRequest = { id: number; raw: Uint8Array };
export type RecoveryReply = { id: number; publicKey?: Uint8Array };

const port = parentPort!;
const common = createChainCommon(BigInt((workerData as { chainId: string }).chainId), await initEthCrypto());

port.on('message', ({ id, raw }: RecoveryRequest) => {
  let publicKey: Uint8Array | undefined;
  try {
    publicKey = createTxFromRLP(raw, { common }).getSenderPublicKey();
  } catch {
    // Undecodable or unrecoverable: the main thread reports the precise reason.
  }
  port.postMessage({ id, publicKey } satisfies RecoveryReply);
});
