import { parentPort, workerData } from 'node:worker_threads';
import type { EnclaveError } from '../boundary/messages.ts';
import { createChainCommon } from '../chain/common.ts';
import { initEthCrypto } from '../crypto/ethCrypto.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import { inspectTransaction, type Inspected } from './inspect.ts';

/**
 * A second enclave thread for the stateless half of admission: decoding, sender
 * recovery (the costliest step) and sealing, so the thread that executes blocks does
 * none of it. It holds only the envelope key, and its messages never leave the
 * enclave: only the enclave's main thread talks to it.
 */
export type AdmissionRequest = { id: number; raw: Uint8Array };
export type AdmissionReply = { id: number; inspected?: Inspected; error?: EnclaveError };

const port = parentPort!;
const { chainId, envelopeKey } = workerData as { chainId: string; envelopeKey: Uint8Array };
const common = createChainCommon(BigInt(chainId), await initEthCrypto());

// Requests arrive in batches (one per turn of the main thread's event loop); the
// replies to a batch go back together.
port.on('message', (batch: AdmissionRequest[]) => {
  port.postMessage(batch.map(answer));
});

function answer({ id, raw }: AdmissionRequest): AdmissionReply {
  try {
    return { id, inspected: inspectTransaction(raw, common, envelopeKey) };
  } catch (err) {
    const error: EnclaveError =
      err instanceof EnclaveFailure ? { kind: err.kind, message: err.message } : { kind: 'invalidInput', message: 'invalid transaction' };
    return { id, error };
  }
}
