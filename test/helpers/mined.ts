import type { JsonRpcProvider, TransactionReceipt } from 'ethers';

/**
 * A transaction's receipt, polled until it exists. ethers' `wait()` hears of blocks by
 * polling the block number, taking its first answer as a baseline: if that answer is
 * already the transaction's block and no block follows (blocks are made as transactions
 * arrive), it never looks at the receipt again.
 */
export async function mined(provider: JsonRpcProvider, hash: string, timeoutMs = 60_000): Promise<TransactionReceipt> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) return receipt;
    if (Date.now() > end) throw new Error(`transaction ${hash} not mined within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
