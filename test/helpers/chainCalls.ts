/**
 * JSON-RPC steps the process-level tests share: a checked call, signing with explicit
 * nonces (no provider round trips), waiting for a receipt, reading a token balance.
 */
import { ethers } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { rpc } from './node.ts';

export const CHAIN_ID = 31337;
export const GWEI = 10n ** 9n;
export const ETH = 10n ** 18n;
export const erc20 = new ethers.Interface(loadArtifact('ConclaveToken').abi as ethers.InterfaceAbi);

export type Json = Record<string, any>;

/** A JSON-RPC call that throws on an error answer; resolves with the result. */
export async function call(url: string, method: string, params: unknown[] = []): Promise<any> {
  const res = await rpc(url, method, params);
  if (res.error) throw new Error(`${method} failed: ${res.error.message}`);
  return res.result;
}

/** Signs an EIP-1559 transaction with an explicit nonce. */
export function sign(wallet: ethers.BaseWallet, nonce: number, tx: { to?: string; value?: bigint; data?: string; gasLimit?: bigint }): Promise<string> {
  return wallet.signTransaction({
    type: 2,
    chainId: CHAIN_ID,
    nonce,
    to: tx.to ?? null,
    value: tx.value ?? 0n,
    data: tx.data ?? '0x',
    gasLimit: tx.gasLimit ?? 21_000n,
    maxFeePerGas: 20n * GWEI,
    maxPriorityFeePerGas: GWEI,
  });
}

/** Polls for a receipt until it comes, or throws after `timeoutMs`. */
export async function waitReceipt(url: string, hash: string, timeoutMs = 60_000, pollMs = 20): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(url, 'eth_getTransactionReceipt', [hash]);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

export const hex = (n: number | bigint) => '0x' + n.toString(16);
/** A fresh address nobody holds a key for. */
export const fresh = () => ethers.Wallet.createRandom().address.toLowerCase();

/** ERC20 balanceOf through eth_call; throws if there is no contract at that block. */
export async function tokenBalance(url: string, tokenAddress: string, holder: string, block: string = 'latest'): Promise<bigint> {
  const out = await call(url, 'eth_call', [{ to: tokenAddress, data: erc20.encodeFunctionData('balanceOf', [holder]) }, block]);
  if (out === '0x') throw new Error(`no contract at ${tokenAddress} at block ${block}`);
  return BigInt(out);
}

/** eth_sendRawTransaction; resolves with the hash. */
export async function send(url: string, raw: string): Promise<string> {
  return call(url, 'eth_sendRawTransaction', [raw]);
}
