/**
 * Prague's system calls run in every block: a contract reads block hashes beyond
 * BLOCKHASH's 256-block window from the EIP-2935 history contract, and the EIP-4788
 * beacon roots contract answers for block timestamps (with the zero root: no beacon chain).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractFactory, Contract, JsonRpcProvider, Wallet, ZeroHash, toBeHex, zeroPadValue } from 'ethers';
import { compileSources } from '../../scripts/compile-contracts.ts';
import { DEV_KEY_0, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const SOURCE = 'test/contracts/BlockHashHistory.sol';
const HISTORY_STORAGE = '0x0000F90827F1C53a10cb7A02335B175320002935';
const DEPTH = 300;

const quantity = (n: number) => `0x${n.toString(16)}`;

async function blockAt(url: string, number: number | 'latest'): Promise<{ number: string; hash: string; timestamp: string }> {
  const r = await rpc(url, 'eth_getBlockByNumber', [typeof number === 'number' ? quantity(number) : number, false]);
  assert.ok(r.result, JSON.stringify(r.error));
  return r.result;
}

describe('Prague system contracts', () => {
  let node: TestNode;
  let history: Contract;

  before(async () => {
    // Empty blocks every few ms, so more than DEPTH blocks exist within a second or two.
    node = await startTestNode({ blockTime: 3 });
    const out = compileSources([SOURCE], { quiet: true }).contracts![SOURCE]!.BlockHashHistory!;
    const wallet = new Wallet(DEV_KEY_0, new JsonRpcProvider(node.url, undefined, { staticNetwork: true, pollingInterval: 20 }));
    const factory = new ContractFactory(out.abi as never, out.evm.bytecode.object, wallet);
    history = (await (await factory.deploy()).waitForDeployment()) as Contract;
    for (;;) {
      if (Number((await blockAt(node.url, 'latest')).number) > DEPTH + 10) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(() => node?.stop());

  test(`a contract reads the hash of block.number - ${DEPTH} from the history contract`, async () => {
    const [number, hash, opcode] = (await history.back!(DEPTH)) as [bigint, string, string];
    assert.equal(hash, (await blockAt(node.url, Number(number))).hash);
    assert.equal(opcode, ZeroHash, 'BLOCKHASH sees only 256 blocks back');
    const [recent, recentHash, recentOpcode] = (await history.back!(1)) as [bigint, string, string];
    assert.equal(recentHash, recentOpcode);
    assert.equal(recentHash, (await blockAt(node.url, Number(recent))).hash);
    // Block 1's system call stored the genesis hash.
    assert.equal(await history.historicHash!(0), (await blockAt(node.url, 0)).hash);
  });

  test('the history contract stores each parent hash at number % 8191', async () => {
    const head = Number((await blockAt(node.url, 'latest')).number);
    for (const n of [1, head - DEPTH, head - 1]) {
      const r = await rpc(node.url, 'eth_getStorageAt', [HISTORY_STORAGE, toBeHex(n % 8191, 32), quantity(head)]);
      assert.equal(r.result, (await blockAt(node.url, n)).hash, `slot of block ${n}`);
    }
  });

  test('the beacon roots contract answers for block timestamps, with the zero root', async () => {
    const latest = await blockAt(node.url, 'latest');
    const parent = await blockAt(node.url, Number(latest.number) - 1);
    const tag = { blockTag: latest.number };
    assert.equal(await history.beaconRoot!(BigInt(parent.timestamp), tag), ZeroHash);
    assert.equal(await history.beaconRoot!(BigInt(latest.timestamp), tag), ZeroHash);
    // A timestamp no block has: the contract reverts.
    await assert.rejects(history.beaconRoot!(BigInt(latest.timestamp) + 1_000_000n, tag), /no beacon root/);
    const direct = await rpc(node.url, 'eth_call', [{ to: '0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02', data: zeroPadValue(latest.timestamp, 32) }, latest.number]);
    assert.equal(direct.result, ZeroHash);
  });
});
