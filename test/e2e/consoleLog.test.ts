/**
 * Hardhat's console.log on the dev network: the node prints the lines a transaction's
 * contracts log (as Anvil does), and none of a transaction that ran a contract with a
 * confidentiality policy.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Contract, ContractFactory, JsonRpcProvider, Wallet } from 'ethers';
import { compileSources } from '../../scripts/compile-contracts.ts';
import { deployContract, TOKEN_POLICY } from '../confidentiality/consortium.ts';
import { mined } from '../helpers/mined.ts';
import { DEV_KEY_0, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

const SOURCE = 'test/contracts/ConsoleLogger.sol';
let node: NodeProcess;
let home: ReturnType<typeof tempHome>;
let provider: JsonRpcProvider;
let wallet: Wallet;
let logger: Contract;

before(async () => {
  home = tempHome();
  node = await spawnNode(['--data', home.dataDir, '--platform-secret-file', home.secretFile]);
  // No request cache: each send is mined before it answers, so the pending nonce moves at once.
  provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, pollingInterval: 20, cacheTimeout: -1 });
  wallet = new Wallet(DEV_KEY_0, provider);
  const out = compileSources([SOURCE], { quiet: true }).contracts![SOURCE]!.ConsoleLogger!;
  logger = (await (await new ContractFactory(out.abi as never, out.evm.bytecode.object, wallet).deploy()).waitForDeployment()) as Contract;
});

after(async () => {
  await node?.kill();
  home?.cleanup();
});

test('a transaction that calls console.log has its line printed by the node', async () => {
  const tx = await logger.getFunction('hello')(4242n);
  assert.equal((await tx.wait())!.status, 1);
  for (let i = 0; i < 50 && !node.output().includes('hello 4242'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(node.output(), /^hello 4242$/m);
});

test('nothing is printed of a transaction that ran a contract with a confidentiality policy', async () => {
  const target = await (await deployContract(wallet, provider, 'ConfidentialERC20', ['Token', 'TKN', 1000n], TOKEN_POLICY)).getAddress();
  const tx = await logger.getFunction('around')(target, { gasLimit: 1_000_000n });
  await mined(provider, tx.hash);
  // A later public transaction's line shows the output has caught up.
  await (await logger.getFunction('hello')(777n)).wait();
  for (let i = 0; i < 50 && !node.output().includes('hello 777'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(node.output(), /^hello 777$/m);
  assert.doesNotMatch(node.output(), /before 1|after 2/);
});
