/**
 * The confidential ERC20 workload (Conclave only): a ConfidentialERC20 created under
 * examples/confidential-erc20.policy.json, registered in advance in the policy registry
 * so that its constructor already runs under it, and senders of its own, funded with
 * ETH and tokens. Its senders are not the other phases' senders, so its transfers'
 * nonces never interleave with those of the phases every peer runs: it can run next to
 * the public transfer tests on the same chain, and other peers simply skip it.
 *
 * The token is the second creation of a deployer of its own (its first transaction
 * registers the policy), so its address does not depend on the other setup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbiCoder, getCreateAddress, Interface, keccak256, toUtf8Bytes, Wallet } from 'ethers';
import { createSiweMessage } from 'viem/siwe';
import { loadArtifact } from '../contracts/artifacts.ts';
import { balanceOfData, DEV_KEYS, transferData } from './accounts.ts';
import { BenchError } from './load.ts';
import { RpcClient } from './rpc.ts';
import { signSetupTx, type FeeParams, type Phase, type SetupFields, type SetupTx } from './workload.ts';

/** The policy registry system contract (contracts/system/IPolicyRegistry.sol). */
export const POLICY_REGISTRY = '0x0000000000000000000000000000000000000c02';
export const CONFIDENTIAL_POLICY = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'confidential-erc20.policy.json'), 'utf8');

const DEPLOYER_KEY = keccak256(toUtf8Bytes('conclave-bench-confidential-deployer'));
const DEPLOYER = new Wallet(DEPLOYER_KEY).address;
/** Nonce 0 registers the policy, nonce 1 creates the token. */
export const CONFIDENTIAL_TOKEN_ADDRESS = getCreateAddress({ from: DEPLOYER, nonce: 1 });
export const CONFIDENTIAL_TOKENS_PER_SENDER = 10n ** 24n;

const senderKeyCache: string[] = [];
export function confidentialSenderKey(i: number): string {
  return (senderKeyCache[i] ??= keccak256(toUtf8Bytes(`conclave-bench-confidential-sender-${i}`)));
}

export const confidentialSenderKeys = (count: number) => Array.from({ length: count }, (_, i) => confidentialSenderKey(i));
export const confidentialSenderAddress = (i: number) => new Wallet(confidentialSenderKey(i)).address;

const ETH = 10n ** 18n;
const registry = new Interface(['function setPolicy(address target, string policy)']);

/**
 * The setup, in stages that must be mined in order (a stage's transactions are refused
 * until the one before is in a block): ETH to the deployer and the senders; the policy
 * registered for the token's address; the token's creation and tokens to each sender.
 * Dev accounts' nonces continue after `publicSetup`.
 */
export function buildConfidentialSetup(senderCount: number, chainId: bigint, fees: FeeParams, publicSetup: SetupTx[]): SetupTx[][] {
  const devNonces = new Array<number>(DEV_KEYS.length).fill(0);
  for (const s of publicSetup) devNonces[s.from]!++;
  let deployerNonce = 0;
  const sign = (key: string, nonce: number, fields: SetupFields, what: string, from = -1): SetupTx => ({
    from,
    ...signSetupTx(new Wallet(key), chainId, nonce, fields, fees),
    what,
  });
  const fromDev = (dev: number, fields: Parameters<typeof sign>[2], what: string) => sign(DEV_KEYS[dev]!, devNonces[dev]!++, fields, what, dev);
  const byDeployer = (fields: Parameters<typeof sign>[2], what: string) => sign(DEPLOYER_KEY, deployerNonce++, fields, what);

  const senders = Array.from({ length: senderCount }, (_, i) => confidentialSenderAddress(i));
  // A sender pays for 2 x --n / senders transfers of 60k gas (0.006 ETH each at 100 gwei);
  // dev accounts 1..9 keep 9,000 ETH each for the public setup, so this takes at most 4,500.
  const perSender = (() => {
    const share = (9n * 500n * ETH) / BigInt(Math.max(senderCount, 1));
    return share < 100n * ETH ? share : 100n * ETH;
  })();
  const funding = [fromDev(0, { to: DEPLOYER, value: 100n * ETH, gasLimit: 21_000n }, 'ETH to the confidential token deployer')];
  for (let i = 0; i < senderCount; i++) {
    funding.push(fromDev(1 + (i % 9), { to: senders[i]!, value: perSender, gasLimit: 21_000n }, `ETH to confidential sender ${i}`));
  }
  const policy = [
    byDeployer(
      { to: POLICY_REGISTRY, data: registry.encodeFunctionData('setPolicy', [CONFIDENTIAL_TOKEN_ADDRESS, CONFIDENTIAL_POLICY]), gasLimit: 3_000_000n },
      'register the confidential token policy in advance',
    ),
  ];
  const artifact = loadArtifact('ConfidentialERC20');
  const supply = CONFIDENTIAL_TOKENS_PER_SENDER * BigInt(senderCount) * 2n;
  const ctorArgs = AbiCoder.defaultAbiCoder().encode(['string', 'string', 'uint256'], ['Bench Confidential Token', 'CBENCH', supply]);
  const token = [byDeployer({ to: null, data: artifact.bytecode + ctorArgs.slice(2), gasLimit: 3_000_000n }, 'deploy ConfidentialERC20')];
  for (let i = 0; i < senderCount; i++) {
    token.push(byDeployer({ to: CONFIDENTIAL_TOKEN_ADDRESS, data: transferData(senders[i]!, CONFIDENTIAL_TOKENS_PER_SENDER), gasLimit: 100_000n }, `confidential tokens to sender ${i}`));
  }
  return [funding, policy, token];
}

/**
 * Checks that the policy is in force: it governed the token from the block that created
 * it (so the constructor ran under it), and an anonymous balanceOf of `holder` is refused.
 */
export async function checkConfidentialToken(client: RpcClient, deployHash: string, holder: string): Promise<void> {
  const receipt = await client.call<{ blockNumber: string; contractAddress?: string | null }>('eth_getTransactionReceipt', [deployHash]);
  if (receipt.contractAddress && receipt.contractAddress.toLowerCase() !== CONFIDENTIAL_TOKEN_ADDRESS.toLowerCase()) {
    throw new BenchError(`the confidential token was created at ${receipt.contractAddress}, expected ${CONFIDENTIAL_TOKEN_ADDRESS}`);
  }
  const policy = await client.call<{ hash: string } | null>('conclave_getPolicy', [CONFIDENTIAL_TOKEN_ADDRESS, receipt.blockNumber]);
  const expected = keccak256(toUtf8Bytes(CONFIDENTIAL_POLICY));
  if (policy?.hash !== expected) {
    throw new BenchError(`the confidential token's policy at its creation block ${BigInt(receipt.blockNumber)} has hash ${policy?.hash ?? null}, expected ${expected}`);
  }
  const call = { to: CONFIDENTIAL_TOKEN_ADDRESS, data: balanceOfData(holder) };
  const anonymous = await client.raw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [call, 'latest'] }));
  if (!anonymous.error) throw new BenchError(`an anonymous balanceOf on the confidential token was answered (${String(anonymous.result)}): its policy is not in force`);
}

/** Each sender's confidential balance once `phases` have run (every transfer moves 1 unit). */
export function confidentialBalances(senderCount: number, phases: Phase[]): { address: string; balance: bigint }[] {
  return Array.from({ length: senderCount }, (_, s) => ({
    address: confidentialSenderAddress(s),
    balance: CONFIDENTIAL_TOKENS_PER_SENDER - BigInt(phases.reduce((a, p) => a + p.bySender[s]!.length, 0)),
  }));
}

/**
 * Signs in with Ethereum (conclave_nonce, then conclave_login with an EIP-4361 message
 * for the node's host and chain) as `key`; returns the session token. The token is a
 * credential: it goes into a request and nowhere else (no log, no result file).
 */
export async function signIn(client: RpcClient, url: string, chainId: bigint, key: string): Promise<string> {
  const wallet = new Wallet(key);
  const nonce = await client.call<string>('conclave_nonce');
  const message = createSiweMessage({
    domain: new URL(url).host,
    address: wallet.address as `0x${string}`,
    uri: url,
    version: '1',
    chainId: Number(chainId),
    nonce,
  });
  const { token } = await client.call<{ token: string }>('conclave_login', [message, await wallet.signMessage(message)]);
  return token;
}

/** The RPC URL of a session (`/s/<token>`, the form wallets that take only a URL use). */
export const sessionUrl = (url: string, token: string) => `${new URL(url).origin}/s/${token}`;
