import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import { Wallet } from 'ethers';
import type { Admitted, HostToEnclave, OrderResult } from '../../runtime/boundary/messages.ts';
import { Enclave } from '../../runtime/enclave/Enclave.ts';
import { DEV_MNEMONIC } from '../../node/startNode.ts';
import { DEV_KEY_0 } from '../helpers/node.ts';

type Msg = HostToEnclave extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

test('a block is executed before it is durable, and nobody sees it until then', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'conclave-durable-'));
  // The simulated platform of an in-process enclave: it reads the variable during init.
  process.env.CONCLAVE_PLATFORM_SECRET_FILE = path.join(dir, 'secret');
  const enclave = new Enclave();
  const ask = (m: Msg) => enclave.handle({ ...m, id: 1 } as HostToEnclave);
  const read = (query: unknown) => ask({ type: 'read', caller: new Uint8Array(0), query } as Msg);
  try {
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
      },
    });
    const wallet = new Wallet(DEV_KEY_0);
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: 31337,
      nonce: 0,
      to: '0x000000000000000000000000000000000000dEaD',
      value: 1n,
      gasLimit: 21_000,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    });
    const { hash, envelopes } = (await ask({ type: 'submit', raw: Buffer.from(raw.slice(2), 'hex') })) as Admitted;
    const [envelope] = envelopes;
    const result = (await ask({
      type: 'order',
      entries: [
        { kind: 'tx', envelope },
        { kind: 'cut', timestamp: Date.now(), allowEmpty: false },
      ],
    })) as OrderResult;
    assert.equal(result.blocks.length, 1);
    assert.equal(result.blocks[0]!.number, 1n);
    // Executed, handed to the storage thread, not yet acknowledged (the acknowledgement
    // is a message, which cannot arrive before these synchronous answers): invisible.
    assert.equal(await read({ kind: 'blockNumber' }), 0n);
    assert.equal(await read({ kind: 'receipt', hash }), null);
    await ask({ type: 'durable', number: 1n });
    assert.equal(await read({ kind: 'blockNumber' }), 1n);
    const receipt = (await read({ kind: 'receipt', hash })) as { blockNumber: string; status: string };
    assert.equal(receipt.blockNumber, '0x1');
    assert.equal(receipt.status, '0x1');
    await assert.rejects(ask({ type: 'durable', number: 5n }), /has not been executed/);
  } finally {
    await ask({ type: 'shutdown' });
    delete process.env.CONCLAVE_PLATFORM_SECRET_FILE;
    rmSync(dir, { recursive: true, force: true });
  }
});
