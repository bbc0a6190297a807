/**
 * web3_clientVersion: the dev network must pass the checks test tooling makes before it
 * uses dev methods, and still name Conclave; a consortium network names Conclave only.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readGenesisFile } from '../../node/genesisFile.ts';
import { ROOT, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

/**
 * hardhat-network-helpers' test of a dev node, as each line of it is written: Hardhat 2's
 * (utils.ts checkIfDevelopmentNetwork) and Hardhat 3's (NetworkHelpers
 * throwIfNotDevelopmentNetwork, SUPPORTED_TEST_NETWORKS).
 */
const acceptedByHardhat2 = (v: string) => ['hardhatnetwork', 'zksync', 'anvil'].some((p) => v.toLowerCase().startsWith(p));
const acceptedByHardhat3 = (v: string) => ['hardhat', 'zksync', 'anvil'].some((p) => v.toLowerCase().startsWith(p));

let dev: TestNode;
let consortium: TestNode;
let custom: TestNode;

before(async () => {
  const genesis = readGenesisFile(path.join(ROOT, 'examples/consortium.json'));
  dev = await startTestNode();
  consortium = await startTestNode({ chainId: genesis.chainId, network: genesis.network });
  custom = await startTestNode({ clientVersion: 'my-node/v9' });
});
after(async () => {
  await Promise.all([dev?.stop(), consortium?.stop(), custom?.stop()]);
});

test('the dev network answers an Anvil-form version that Hardhat network helpers accept, naming Conclave', async () => {
  const { result } = await rpc(dev.url, 'web3_clientVersion');
  assert.equal(typeof result, 'string');
  assert.ok(acceptedByHardhat2(result), result);
  assert.ok(acceptedByHardhat3(result), result);
  assert.match(result, /^anvil\/v\d+\.\d+\.\d+ \(Conclave\/v\d+\.\d+\.\d+[^/]*\/[a-z0-9]+-[a-z0-9]+\/node\d+/);
});

test('a consortium network answers Conclave/v..., which the helpers refuse', async () => {
  const { result } = await rpc(consortium.url, 'web3_clientVersion');
  assert.match(result, /^Conclave\/v\d+\.\d+\.\d+/);
  assert.ok(!acceptedByHardhat2(result) && !acceptedByHardhat3(result), result);
});

test('a start option replaces the version', async () => {
  assert.equal((await rpc(custom.url, 'web3_clientVersion')).result, 'my-node/v9');
});
