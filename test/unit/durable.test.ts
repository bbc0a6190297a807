import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrderResult } from '../../runtime/boundary/messages.ts';
import { startInProcessEnclave } from '../helpers/enclave.ts';
import { DEV_KEY_0 } from '../helpers/node.ts';

test('a block is executed before it is durable, and nobody sees it until then', async () => {
  const enclave = await startInProcessEnclave();
  const { ask, read } = enclave;
  try {
    const { hash, envelopes } = await enclave.submitTransfer(DEV_KEY_0);
    const [envelope] = envelopes;
    const result = (await ask({
      type: 'order',
      entries: [
        { kind: 'tx', envelope: envelope! },
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
    await enclave.stop();
  }
});
