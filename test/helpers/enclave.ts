import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import type { Admitted, EnclaveConfig, HostToEnclave } from '../../runtime/boundary/messages.ts';
import { Enclave } from '../../runtime/enclave/Enclave.ts';
import { DEV_MNEMONIC } from '../../node/startNode.ts';

/** A host-to-enclave request without its id. */
export type Msg = HostToEnclave extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface InProcessEnclave {
  ask(m: Msg): Promise<unknown>;
  /** A read as an anonymous caller. */
  read(query: unknown): Promise<unknown>;
  /** Signs a 1-wei transfer with `key` and submits it. */
  submitTransfer(key: string, nonce?: number): Promise<Admitted>;
  /** Shuts the enclave down and removes its files. */
  stop(): Promise<void>;
}

/** A signed 1-wei EIP-1559 transfer to 0x…dEaD on chain 31337, as 0x-hex. */
export function signTransfer(key: string, nonce = 0): Promise<string> {
  return new Wallet(key).signTransaction({
    type: 2,
    chainId: 31337,
    nonce,
    to: '0x000000000000000000000000000000000000dEaD',
    value: 1n,
    gasLimit: 21_000,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 1n,
  });
}

/**
 * An enclave in this thread (no worker, no host), initialised on a temp data directory
 * with two funded dev accounts (or as `config` says): for tests that drive the enclave's messages directly.
 */
export async function startInProcessEnclave(config: Partial<EnclaveConfig> = {}): Promise<InProcessEnclave> {
  const dir = mkdtempSync(path.join(tmpdir(), 'conclave-enclave-'));
  // The simulated platform of an in-process enclave: it reads the variable during init.
  process.env.CONCLAVE_PLATFORM_SECRET_FILE = path.join(dir, 'secret');
  const enclave = new Enclave();
  const ask = (m: Msg) => enclave.handle({ ...m, id: 1 } as HostToEnclave);
  await ask({
    type: 'init',
    config: {
      dataDir: path.join(dir, 'data'),
      chainId: 31337n,
      reset: false,
      devMnemonic: DEV_MNEMONIC,
      devAccounts: 2,
      devBalance: 10n ** 21n,
      blockGasLimit: 30_000_000n,
      limits: DEFAULT_ENCLAVE_LIMITS,
      ...config,
    },
  });
  return {
    ask,
    read: (query) => ask({ type: 'read', caller: new Uint8Array(0), query } as Msg),
    async submitTransfer(key, nonce = 0) {
      const raw = await signTransfer(key, nonce);
      return (await ask({ type: 'submit', raw: Buffer.from(raw.slice(2), 'hex') })) as Admitted;
    },
    async stop() {
      await ask({ type: 'shutdown' });
      delete process.env.CONCLAVE_PLATFORM_SECRET_FILE;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
