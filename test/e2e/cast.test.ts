// End-to-end: Foundry's cast (the real binary) against a real Conclave node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { AbiCoder, Interface, Wallet, getAddress, id as keccakId, parseEther } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, ROOT, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const run = promisify(execFile);
const CAST = path.join(ROOT, 'node_modules/.bin/cast');
const DEV_ADDRESS_1 = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const tokenArt = loadArtifact('ConclaveToken');
const registryArt = loadArtifact('Registry');
const registryIface = new Interface(registryArt.abi as never);
const SUPPLY = parseEther('1000');

describe('Foundry cast', () => {
  let node: TestNode;
  let url: string;
  let token: string;
  let registry: string;

  /** `cast <sub> --rpc-url <url> ...rest`: right after the subcommand, because trailing
   *  variadic arguments (`--create <code> <sig> <args>...`) would swallow it. */
  const withUrl = ([sub, ...rest]: string[]) => [sub!, '--rpc-url', url, ...rest];

  /** Runs cast against the node; resolves with trimmed stdout. */
  async function cast(...args: string[]): Promise<string> {
    const { stdout } = await run(CAST, withUrl(args), { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
    return stdout.trim();
  }

  /** Runs cast expecting failure; resolves with stderr + stdout. */
  async function castFails(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run(CAST, withUrl(args), { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
      assert.fail(`cast ${args.join(' ')} succeeded: ${stdout}`);
    } catch (e: any) {
      if (e instanceof assert.AssertionError) throw e;
      assert.notEqual(e.code, 0);
      return `${e.stderr}\n${e.stdout}`;
    }
  }

  const fresh = () => Wallet.createRandom().address.toLowerCase();

  before(async () => {
    node = await startTestNode();
    url = node.url;
    // Deploy both contracts with `cast send --create <bytecode> <constructor sig> <args>`.
    const t = JSON.parse(
      await cast('send', '--json', '--private-key', DEV_KEY_0, '--create', tokenArt.bytecode, 'constructor(string,string,uint256)', 'Conclave', 'CNV', SUPPLY.toString()),
    );
    assert.equal(t.status, '0x1');
    token = getAddress(t.contractAddress);
    const r = JSON.parse(await cast('send', '--json', '--private-key', DEV_KEY_0, '--create', registryArt.bytecode, 'constructor(uint256)', parseEther('1').toString()));
    assert.equal(r.status, '0x1');
    registry = getAddress(r.contractAddress);
  });

  after(async () => {
    await node?.stop();
  });

  test('chain-id, block-number, balance', async () => {
    assert.equal(await cast('chain-id'), '31337');
    const head = (await rpc(url, 'eth_blockNumber')).result as string;
    assert.equal(await cast('block-number'), BigInt(head).toString());
    assert.equal(await cast('balance', fresh()), '0');
    const bal = BigInt((await rpc(url, 'eth_getBalance', [DEV_ADDRESS_1, 'latest'])).result);
    assert.equal(await cast('balance', DEV_ADDRESS_1), bal.toString());
    assert.equal(await cast('balance', '--ether', DEV_ADDRESS_1), '10000.000000000000000000');
    // At genesis, as a past block.
    assert.equal(await cast('balance', DEV_ADDRESS_0, '--block', '0'), parseEther('10000').toString());
  });

  test('send --value 1ether, then the balance', async () => {
    const to = fresh();
    const receipt = JSON.parse(await cast('send', '--json', '--private-key', DEV_KEY_0, to, '--value', '1ether'));
    assert.equal(receipt.status, '0x1');
    assert.equal(receipt.to.toLowerCase(), to);
    assert.equal(receipt.from.toLowerCase(), DEV_ADDRESS_0);
    assert.equal(BigInt(receipt.gasUsed), 21_000n);
    assert.equal(await cast('balance', to), parseEther('1').toString());
    assert.equal(await cast('balance', to, '--block', String(BigInt(receipt.blockNumber) - 1n)), '0');
  });

  test('call balanceOf, send transfer, receipt --json, tx, logs', async () => {
    assert.equal(await cast('call', token, 'name()(string)'), '"Conclave"');
    // cast prints big numbers with a scientific-notation hint: "1000000000000000000000 [1e21]".
    const bal0 = await cast('call', token, 'balanceOf(address)(uint256)', DEV_ADDRESS_0);
    assert.equal(bal0.split(' ')[0], SUPPLY.toString());

    const to = fresh();
    const sent = JSON.parse(await cast('send', '--json', '--private-key', DEV_KEY_0, token, 'transfer(address,uint256)', to, '777'));
    assert.equal(sent.status, '0x1');
    const hash: string = sent.transactionHash;
    assert.equal(await cast('call', token, 'balanceOf(address)(uint256)', to), '777');
    assert.equal(
      (await cast('call', token, 'balanceOf(address)(uint256)', DEV_ADDRESS_0)).split(' ')[0],
      (SUPPLY - 777n).toString(),
    );
    // At the block before the transfer.
    const before = String(BigInt(sent.blockNumber) - 1n);
    assert.equal(await cast('call', token, 'balanceOf(address)(uint256)', to, '--block', before), '0');

    const receipt = JSON.parse(await cast('receipt', hash, '--json'));
    assert.equal(receipt.status, '0x1');
    assert.equal(receipt.transactionHash, hash);
    assert.equal(receipt.blockNumber, sent.blockNumber);
    assert.equal(receipt.logs.length, 1);
    const transferTopic = keccakId('Transfer(address,address,uint256)');
    assert.equal(receipt.logs[0].topics[0], transferTopic);
    assert.equal(BigInt(receipt.logs[0].data), 777n);
    assert.match(await cast('receipt', hash, 'status'), /^(1 \(success\)|true)$/);

    const tx = JSON.parse(await cast('tx', hash, '--json'));
    assert.equal(tx.hash, hash);
    assert.equal(tx.from.toLowerCase(), DEV_ADDRESS_0);
    assert.equal(tx.to.toLowerCase(), token.toLowerCase());
    assert.ok(tx.input.startsWith('0xa9059cbb'));
    assert.equal(tx.blockNumber, sent.blockNumber);
    assert.equal(await cast('tx', hash, 'nonce'), String(BigInt(tx.nonce)));

    const logs = JSON.parse(await cast('logs', '--json', '--address', token, '--from-block', '0'));
    assert.ok(Array.isArray(logs));
    assert.equal(logs.length, 2); // mint + transfer
    assert.equal(logs[0].topics[1], '0x' + '0'.repeat(64));
    assert.equal(BigInt(logs[0].data), SUPPLY);
    assert.equal(logs[1].transactionHash, hash);
    // By event signature and indexed argument.
    const toTopic = '0x' + to.slice(2).padStart(64, '0');
    const filtered = JSON.parse(
      await cast('logs', '--json', '--address', token, '--from-block', '0', 'Transfer(address indexed from,address indexed to,uint256 value)', '', to),
    );
    assert.equal(filtered.length, 1);
    assert.equal(filtered[0].topics[2], toTopic);
    // An empty range before the transfer.
    const none = JSON.parse(await cast('logs', '--json', '--address', token, '--from-block', '0', '--to-block', before, transferTopic, '', toTopic));
    assert.deepEqual(none, []);
  });

  test('call on a reverting Registry function shows the custom error data', async () => {
    const selector = registryIface.getError('InsufficientDeposit')!.selector;
    assert.equal(selector, '0x25c3f46e');
    const out = await castFails('call', registry, 'register(string,uint256)', 'alice', '1', '--value', '5');
    assert.match(out, /execution reverted/);
    const m = /data: "(0x[0-9a-f]+)"/.exec(out);
    assert.ok(m, out);
    assert.ok(m[1]!.startsWith(selector), out);
    const decoded = registryIface.parseError(m[1]!);
    assert.equal(decoded?.name, 'InsufficientDeposit');
    assert.deepEqual([...decoded!.args], [5n, parseEther('1')]);

    // NotOwner(caller) for a non-admin caller.
    const other = fresh();
    const out2 = await castFails('call', registry, 'setMinDeposit(uint256)', '0', '--from', other);
    const notOwner = registryIface.getError('NotOwner')!.selector;
    assert.ok(out2.includes(notOwner + AbiCoder.defaultAbiCoder().encode(['address'], [other]).slice(2)), out2);

    // A require string: cast shows the reason text.
    const out3 = await castFails('call', registry, 'update(bytes32,uint256)', '0x' + '11'.repeat(32), '1');
    assert.match(out3, /execution reverted: Registry: unknown key/);

    // cast send fails at estimation with the same data, and nothing is mined.
    const nonce = await cast('nonce', DEV_ADDRESS_0);
    const out4 = await castFails('send', '--private-key', DEV_KEY_0, registry, 'register(string,uint256)', '', '1', '--value', '1ether');
    assert.ok(out4.includes(registryIface.getError('EmptyName')!.selector), out4);
    assert.equal(await cast('nonce', DEV_ADDRESS_0), nonce);
  });

  test('block latest --json', async () => {
    const block = JSON.parse(await cast('block', 'latest', '--json'));
    const viaRpc = (await rpc(url, 'eth_getBlockByNumber', ['latest', false])).result;
    assert.equal(block.hash, viaRpc.hash);
    assert.equal(block.number, viaRpc.number);
    assert.equal(block.parentHash, viaRpc.parentHash);
    assert.equal(block.stateRoot, viaRpc.stateRoot);
    assert.match(block.hash, /^0x[0-9a-f]{64}$/);
    assert.ok(Array.isArray(block.transactions) && block.transactions.length >= 1);
    assert.equal(await cast('block', 'latest', '--field', 'number'), String(BigInt(viaRpc.number)));
    const genesis = JSON.parse(await cast('block', '0', '--json'));
    assert.equal(genesis.number, '0x0');
    assert.equal(genesis.parentHash, '0x' + '0'.repeat(64));
  });

  test('send --unlocked --from a dev account (eth_sendTransaction)', async () => {
    const to = fresh();
    const nonce = BigInt(await cast('nonce', DEV_ADDRESS_1));
    const receipt = JSON.parse(await cast('send', '--json', '--unlocked', '--from', DEV_ADDRESS_1, to, '--value', '2ether'));
    assert.equal(receipt.status, '0x1');
    assert.equal(receipt.from.toLowerCase(), DEV_ADDRESS_1);
    assert.equal(await cast('balance', to), parseEther('2').toString());
    assert.equal(BigInt(await cast('nonce', DEV_ADDRESS_1)), nonce + 1n);

    // A contract call through the unlocked account too.
    const sent = JSON.parse(
      await cast('send', '--json', '--unlocked', '--from', DEV_ADDRESS_0, token, 'transfer(address,uint256)', to, '5'),
    );
    assert.equal(sent.status, '0x1');
    assert.equal(await cast('call', token, 'balanceOf(address)(uint256)', to), '5');
  });
});
