/**
 * Policies on the dev network (`npm start`): set through the policy registry with plain
 * tools, validated by name, registered in advance so that a constructor runs under
 * them, and never applied to blocks before the one they were set in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Contract, ContractFactory, Interface, JsonRpcProvider, Wallet, getCreateAddress, id as topicOf } from 'ethers';
import { createSiweMessage } from 'viem/siwe';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { mined } from '../helpers/mined.ts';
import { DEV_KEY_0, DEV_KEY_1, startTestNode, type TestNode } from '../helpers/node.ts';
import { POLICY_REGISTRY, TOKEN_POLICY } from './consortium.ts';

const token = loadArtifact('ConfidentialERC20');
const tokenAbi = new Interface(token.abi as never);
const registryAbi = new Interface([
  'function setPolicy(address target, string policy)',
  'function policyOf(address target) view returns (string)',
  'error NotDeployer(address target, address caller)',
]);
const TRANSFER = topicOf('Transfer(address,address,uint256)');

let node: TestNode;
let provider: JsonRpcProvider;
let deployer: Wallet;
let other: Wallet;

async function rpc(method: string, params: unknown[], token?: string): Promise<{ result?: any; error?: { code: number; message: string; data?: string } }> {
  const res = await fetch(token ? `${node.url}s/${token}` : node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as never;
}

async function send(wallet: Wallet, to: string | null, data: string): Promise<{ status: number; blockNumber: number; contractAddress: string | null; hash: string }> {
  const tx = await wallet.sendTransaction({ to, data, gasLimit: 3_000_000n });
  const r = await mined(provider, tx.hash);
  return { status: r.status!, blockNumber: r.blockNumber, contractAddress: r.contractAddress, hash: tx.hash };
}

async function deployToken(by: Wallet, policy?: string): Promise<string> {
  if (policy !== undefined) {
    const nonce = await provider.getTransactionCount(by.address, 'pending');
    const target = getCreateAddress({ from: by.address, nonce: nonce + 1 });
    assert.equal((await send(by, POLICY_REGISTRY, registryAbi.encodeFunctionData('setPolicy', [target, policy]))).status, 1);
  }
  const deploy = await new ContractFactory(token.abi, token.bytecode, by).getDeployTransaction('Token', 'TKN', 1000n);
  const r = await send(by, null, deploy.data);
  assert.equal(r.status, 1);
  return r.contractAddress!.toLowerCase();
}

async function login(wallet: Wallet): Promise<string> {
  const nonce = (await rpc('conclave_nonce', [])).result as string;
  const message = createSiweMessage({ domain: new URL(node.url).host, address: wallet.address as `0x${string}`, uri: node.url, version: '1', chainId: 31337, nonce });
  return (await rpc('conclave_login', [message, await wallet.signMessage(message)])).result.token as string;
}

before(async () => {
  node = await startTestNode();
  provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
  deployer = new Wallet(DEV_KEY_0, provider);
  other = new Wallet(DEV_KEY_1, provider);
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

describe('policies', () => {
  test('validation: the registry refuses a bad policy with a message naming the field or audience', async () => {
    const target = await deployToken(deployer);
    const cases: [string, RegExp][] = [
      ['{"state":["public"],"input":["public"],"output":["public"],"events":{},"outputs":[]}', /unknown field "outputs"/],
      ['{"state":["public"],"input":["public"],"output":["public"],"events":{"Transfer(address,address,uint256)":{"audience":["topic:4"]}}}', /unknown audience "topic:4"|topic:4/],
      ['{"state":["publik"],"input":["public"],"output":["public"],"events":{}}', /policy\.state\[0\].*"publik"/],
      ['{"state":["public"],"input":["public"],"output":["public"],"events":{},"otherEvents":["role:admin"]}', /role:admin/],
      ['not json', /not valid JSON/],
    ];
    for (const [policy, message] of cases) {
      const data = registryAbi.encodeFunctionData('setPolicy', [target, policy]);
      const estimate = await rpc('eth_estimateGas', [{ from: deployer.address, to: POLICY_REGISTRY, data }]);
      assert.equal(estimate.error?.code, 3, policy);
      assert.match(estimate.error!.message, message, policy);
      const call = await rpc('eth_call', [{ from: deployer.address, to: POLICY_REGISTRY, data }, 'latest']);
      assert.match(call.error!.message, message, policy);
    }
    // Only the deployer sets a deployed contract's policy.
    const notDeployer = await rpc('eth_call', [{ from: other.address, to: POLICY_REGISTRY, data: registryAbi.encodeFunctionData('setPolicy', [target, TOKEN_POLICY]) }, 'latest']);
    assert.equal(registryAbi.parseError(notDeployer.error!.data!)!.name, 'NotDeployer');
  });

  test('a policy registered in advance governs the constructor', async () => {
    // Without: on the dev network a contract without a policy is public, its mint log too.
    const plain = await deployToken(deployer);
    const plainMint = await rpc('eth_getLogs', [{ address: plain, fromBlock: '0x0', topics: [TRANSFER] }]);
    assert.equal(plainMint.result.length, 1, 'the mint of a public token is public');
    assert.equal((await rpc('conclave_getPolicy', [plain])).result, null);

    const governed = await deployToken(deployer, TOKEN_POLICY);
    const policy = (await rpc('conclave_getPolicy', [governed])).result;
    assert.deepEqual(policy.policy, JSON.parse(TOKEN_POLICY));
    // The constructor's mint (to the deployer) is for the deployer and auditors: anonymous readers do not see it.
    assert.equal((await rpc('eth_getLogs', [{ address: governed, fromBlock: '0x0', topics: [TRANSFER] }])).result.length, 0);
    const session = await login(deployer);
    assert.equal((await rpc('eth_getLogs', [{ address: governed, fromBlock: '0x0', topics: [TRANSFER] }], session)).result.length, 1);
    // Registered by someone else for that address, a policy does not apply: only the creator's counts.
    const nonce = await provider.getTransactionCount(deployer.address, 'pending');
    const next = getCreateAddress({ from: deployer.address, nonce });
    assert.equal((await send(other, POLICY_REGISTRY, registryAbi.encodeFunctionData('setPolicy', [next, TOKEN_POLICY]))).status, 1);
    const squatted = await deployToken(deployer);
    assert.equal(squatted, next.toLowerCase());
    assert.equal((await rpc('conclave_getPolicy', [squatted])).result, null, 'a squatter cannot govern another deployer\'s contract');
  });

  test('a policy set at block B does not change answers about blocks before B', async () => {
    const address = await deployToken(deployer);
    const t = new Contract(address, tokenAbi, deployer);
    const before = await send(deployer, address, tokenAbi.encodeFunctionData('transfer', [other.address, 7n]));
    assert.equal((await rpc('eth_getTransactionReceipt', [before.hash])).result.logs.length, 1);
    const set = await send(deployer, POLICY_REGISTRY, registryAbi.encodeFunctionData('setPolicy', [address, TOKEN_POLICY]));
    const after = await send(deployer, address, tokenAbi.encodeFunctionData('transfer', [other.address, 8n]));
    // The earlier block keeps its answers: its transfer log, its input, for anyone.
    const earlier = (await rpc('eth_getTransactionReceipt', [before.hash])).result;
    assert.equal(earlier.logs.length, 1, 'a block before the policy keeps its public log');
    assert.notEqual((await rpc('eth_getTransactionByHash', [before.hash])).result.input, '0x');
    assert.equal((await rpc('conclave_getPolicy', [address, '0x' + (set.blockNumber - 1).toString(16)])).result, null);
    assert.notEqual((await rpc('conclave_getPolicy', [address, '0x' + set.blockNumber.toString(16)])).result, null);
    // From block B on, the policy decides.
    assert.equal((await rpc('eth_getTransactionReceipt', [after.hash])).result.logs.length, 0);
    assert.equal((await rpc('eth_getTransactionByHash', [after.hash])).result.input, '0x');
    const logs = (await rpc('eth_getLogs', [{ address, fromBlock: '0x0', topics: [TRANSFER] }])).result;
    assert.deepEqual(
      logs.map((l: any) => l.transactionHash).filter((h: string) => h === before.hash || h === after.hash),
      [before.hash],
    );
    // The contract's own check still works for its holder through the dev account (`from` authenticates on the dev network).
    assert.equal(await t.getFunction('balanceOf')(deployer.address), 1000n - 15n);
  });

  test('dev network: `from` naming an unlocked dev account authenticates as it; any other `from` does not', async () => {
    const address = await deployToken(deployer, TOKEN_POLICY);
    const data = tokenAbi.encodeFunctionData('balanceOf', [deployer.address]);
    assert.equal(BigInt((await rpc('eth_call', [{ from: deployer.address, to: address, data }, 'latest'])).result), 1000n);
    // A stranger naming the deployer... the deployer is a dev account here, so use an address with no key on the node.
    const stranger = Wallet.createRandom().address;
    const asStranger = await rpc('eth_call', [{ from: stranger, to: address, data: tokenAbi.encodeFunctionData('balanceOf', [stranger]) }, 'latest']);
    assert.equal(asStranger.error?.code, -32010, 'unauthenticated: outside the state audience (everyone = signed-in callers)');
    // A signed-in caller naming someone else is refused.
    const session = await login(other);
    const naming = await rpc('eth_call', [{ from: deployer.address, to: address, data }, 'latest'], session);
    assert.equal(naming.error?.code, -32010);
  });
});
