/**
 * Entries of the ordering log are judged one by one: a malformed or unauthenticated
 * entry is skipped and reported, and the good entries around it execute.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrderResult } from '../../runtime/boundary/messages.ts';
import { EmbeddedLog } from '../../node/ordering/EmbeddedLog.ts';
import { signTransfer, startInProcessEnclave } from '../helpers/enclave.ts';
import { DEV_KEY_0, DEV_KEY_1, rpc, startTestNode } from '../helpers/node.ts';

test('a bad ordering-log entry between two good ones is skipped and reported; both good ones execute', async () => {
  const enclave = await startInProcessEnclave();
  const { ask, read } = enclave;
  try {
    const a = await enclave.submitTransfer(DEV_KEY_0);
    const b = await enclave.submitTransfer(DEV_KEY_1);
    const forged = Uint8Array.from(a.envelopes[0]!);
    forged[forged.length - 1]! ^= 1;
    const result = (await ask({
      type: 'order',
      entries: [
        { kind: 'tx', envelope: a.envelopes[0]! },
        { kind: 'tx', envelope: forged },
        { kind: 'nonsense' },
        { kind: 'cut', timestamp: -5, allowEmpty: false },
        { kind: 'tx', envelope: b.envelopes[0]! },
        { kind: 'cut', timestamp: Date.now(), allowEmpty: false },
      ] as never,
    })) as OrderResult;
    assert.deepEqual(
      result.skipped.map((s) => s.position),
      [1, 2, 3],
    );
    assert.equal(result.skipped[0]!.reason, 'ordering log entry failed authentication');
    assert.match(result.skipped[1]!.reason, /^malformed entry: /);
    assert.equal(result.blocks.length, 1);
    await ask({ type: 'durable', number: 1n });
    for (const hash of [a.hash, b.hash]) {
      const receipt = (await read({ kind: 'receipt', hash })) as { status: string; blockNumber: string };
      assert.equal(receipt.status, '0x1');
      assert.equal(receipt.blockNumber, '0x1');
    }
  } finally {
    await enclave.stop();
  }
});

test('the host reports a skipped entry with its log position, and the transactions around it are mined', async () => {
  const log = new EmbeddedLog();
  const lines: string[] = [];
  const node = await startTestNode({ orderingLog: log, log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields)}`) });
  try {
    const send = async (key: string) => (await rpc(node.url, 'eth_sendRawTransaction', [await signTransfer(key)])).result as string;
    const a = await send(DEV_KEY_0);
    // A garbage entry lands on the log (another node's fault, or a tampered log).
    await log.append({ kind: 'tx', envelope: new Uint8Array(64).fill(7) });
    const b = await send(DEV_KEY_1);
    for (const hash of [a, b]) {
      let receipt;
      while (!(receipt = (await rpc(node.url, 'eth_getTransactionReceipt', [hash])).result)) await new Promise((r) => setTimeout(r, 5));
      assert.equal(receipt.status, '0x1');
    }
    assert.ok(
      lines.some((l) =>
        /^warn ordering log entry skipped \{"position":\d+,"reason":"ordering log entry failed authentication","skippedSinceStart":1\}$/.test(l),
      ),
      lines.join('\n'),
    );
  } finally {
    await node.stop();
  }
});
