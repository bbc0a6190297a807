/**
 * The consortium of examples/consortium.json, started for tests: its identities (keys
 * of the standard test mnemonic), SIWE sessions for them, and a ConfidentialERC20
 * deployed under examples/confidential-erc20.policy.json, registered in advance so
 * that its constructor already runs under it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Contract, ContractFactory, getCreateAddress, JsonRpcProvider, Wallet, type TransactionReceipt } from 'ethers';
import { createSiweMessage } from 'viem/siwe';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { readGenesisFile } from '../../node/genesisFile.ts';
import { mined } from '../helpers/mined.ts';
import { ROOT, startTestNode, type TestNode } from '../helpers/node.ts';

/** The keys of examples/consortium.json's identities (the standard test mnemonic's first accounts), and two unregistered ones. */
export const KEYS = {
  orgA: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  orgB: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  orgC: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  alice: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  bob: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  carol: '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  dave: '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  auditor: '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  outsider: '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
} as const;
export type Name = keyof typeof KEYS;

export const POLICY_REGISTRY = '0x0000000000000000000000000000000000000c02';
export const TOKEN_POLICY = readFileSync(path.join(ROOT, 'examples/confidential-erc20.policy.json'), 'utf8');
const REGISTRY_ABI = ['function setPolicy(address target, string policy)', 'function policyOf(address target) view returns (string)'];

export interface Consortium {
  node: TestNode;
  /** Anonymous provider. */
  provider: JsonRpcProvider;
  /** An identity's key, unconnected. */
  wallet(name: Name): Wallet;
  /** An identity's key on a session of its own (signed in once, then reused), as a wallet user would connect. */
  signer(name: Name): Promise<Wallet>;
  address(name: Name): string;
  /** Signs in with SIWE; returns the session token. */
  login(name: Name, resources?: string[]): Promise<string>;
  /** A provider on the session URL `/s/<token>`. */
  session(token: string): JsonRpcProvider;
  /** A transaction's receipt, once mined (ethers' wait() can miss a block made at once). */
  mined(hash: string): Promise<TransactionReceipt>;
  /** Sets a policy through the registry (for `target`, deployed or about to be). */
  setPolicy(by: Name, target: string, policy: string): Promise<TransactionReceipt>;
  /** Deploys `artifact` as `by`, under `policy` registered in advance when given. */
  deploy(by: Name, artifact: string, args: unknown[], policy?: string): Promise<Contract>;
  stop(): Promise<void>;
}

/**
 * Deploys artifact `name` from `wallet`; with a policy, registered in advance for the
 * address the deploy gets, so its constructor already runs under it.
 */
export async function deployContract(wallet: Wallet, provider: JsonRpcProvider, name: string, args: unknown[], policy?: string): Promise<Contract> {
  if (policy !== undefined) {
    const nonce = await provider.getTransactionCount(wallet.address, 'pending');
    const registry = new Contract(POLICY_REGISTRY, REGISTRY_ABI, wallet);
    const set = await registry.getFunction('setPolicy')(getCreateAddress({ from: wallet.address, nonce: nonce + 1 }), policy);
    if ((await mined(provider, set.hash)).status !== 1) throw new Error(`registering the policy of ${name} failed`);
  }
  const artifact = loadArtifact(name);
  const contract = await new ContractFactory(artifact.abi, artifact.bytecode, wallet).deploy(...args);
  const receipt = await mined(provider, contract.deploymentTransaction()!.hash);
  if (receipt.status !== 1) throw new Error(`deploying ${name} failed`);
  return contract as Contract;
}

export async function startConsortium(): Promise<Consortium> {
  const genesis = readGenesisFile(path.join(ROOT, 'examples/consortium.json'));
  const node = await startTestNode({ chainId: genesis.chainId, network: genesis.network });
  const provider = new JsonRpcProvider(node.url, Number(genesis.chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  const wallet = (name: Name) => new Wallet(KEYS[name]);
  const signers = new Map<Name, Promise<Wallet>>();
  const sessions: JsonRpcProvider[] = [];
  const host = new URL(node.url).host;
  const c: Consortium = {
    node,
    provider,
    wallet,
    mined: (hash) => mined(provider, hash),
    signer(name) {
      let s = signers.get(name);
      if (!s) signers.set(name, (s = c.login(name).then((token) => wallet(name).connect(c.session(token)))));
      return s;
    },
    address: (name) => wallet(name).address.toLowerCase(),
    async login(name, resources) {
      const w = wallet(name);
      const nonce = (await provider.send('conclave_nonce', [])) as string;
      const message = createSiweMessage({
        domain: host,
        address: w.address as `0x${string}`,
        uri: node.url,
        version: '1',
        chainId: Number(genesis.chainId),
        nonce,
        ...(resources ? { resources } : {}),
      });
      const signature = await w.signMessage(message);
      const login = (await provider.send('conclave_login', [message, signature])) as { token: string };
      return login.token;
    },
    session(token) {
      const p = new JsonRpcProvider(`${node.url}s/${token}`, Number(genesis.chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
      sessions.push(p);
      return p;
    },
    async setPolicy(by, target, policy) {
      const registry = new Contract(POLICY_REGISTRY, REGISTRY_ABI, await c.signer(by));
      const tx = await registry.getFunction('setPolicy')(target, policy);
      return mined(provider, tx.hash);
    },
    async deploy(by, name, args, policy) {
      return deployContract(await c.signer(by), provider, name, args, policy);
    },
    async stop() {
      provider.destroy();
      for (const p of sessions) p.destroy();
      await node.stop();
    },
  };
  return c;
}
