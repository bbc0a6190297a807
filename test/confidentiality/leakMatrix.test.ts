/**
 * The leak matrix: every kind of reader against every path by which a confidential
 * contract's data could reach them, on the consortium of examples/consortium.json.
 * Each cell says what the reader gets: the data (`visible`), a well-formed answer
 * without it (`filtered`), or the one fixed refusal (`not permitted`, -32010); a
 * logged-out token gets 4100 everywhere.
 *
 * The contracts: `token`, a ConfidentialERC20 under examples/confidential-erc20.policy.json
 * (state: registered identities; input and output: the sender and auditors; Transfer:
 * its from and to; Memo: its from, the `cc` named in its data, and auditors), deployed
 * by alice under that policy registered in advance; `sealed`, the same code with its
 * output for auditors only; `members`, the same code whose state audience is members
 * and auditors (users may not run it at all); `peek`, a helper (contracts/examples/Peek.sol)
 * made public by its deployer, which reads a balance for whoever calls it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AbiCoder, Contract, ContractFactory, Interface, JsonRpcProvider, getCreateAddress, id as topicOf } from 'ethers';
import { createPublicClient, http, parseAbiItem } from 'viem';
import { WebSocket } from 'ws';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { ROOT } from '../helpers/node.ts';
import { startConsortium, TOKEN_POLICY, type Consortium, type Name } from './consortium.ts';

const run = promisify(execFile);
const CAST = path.join(ROOT, 'node_modules/.bin/cast');
const tokenAbi = new Interface(loadArtifact('ConfidentialERC20').abi as never);
const peekAbi = new Interface(loadArtifact('Peek').abi as never);
const NOT_PERMITTED = -32010;
const UNAUTHORIZED = 4100;
const PUBLIC_POLICY = '{"state":["public"],"input":["public"],"output":["public"],"events":{},"otherEvents":["public"]}';
const NOT_PERMITTED_REVERT = '0x08c379a0' + AbiCoder.defaultAbiCoder().encode(['string'], ['not permitted']).slice(2);

type Answer = { result?: any; error?: { code: number; message: string; data?: string } };

/** Readers of the matrix: a name, and the credential it reads with. */
interface Reader {
  label: string;
  token?: string;
  /** Its identity (what `from` it may name). */
  as?: Name;
}

let c: Consortium;
let token: string;
let sealed: string;
let members: string;
let peek: string;
let transferTx: string;
let memoTx: string;
let transferBlock: string;
const readers: Record<string, Reader> = {};

/** Raw JSON-RPC as the reader (token in the URL path), for exact codes. */
async function ask(r: Reader, method: string, params: unknown[]): Promise<Answer> {
  const url = r.token ? `${c.node.url}s/${r.token}` : c.node.url;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await res.json()) as Answer;
}

function call(r: Reader, to: string, data: string, extra: Record<string, string> = {}) {
  return ask(r, 'eth_call', [{ to, data, ...extra }, 'latest']);
}

const balanceOf = (who: string) => tokenAbi.encodeFunctionData('balanceOf', [who]);

function assertNotPermitted(a: Answer, cell: string) {
  assert.equal(a.error?.code, NOT_PERMITTED, `${cell}: expected not permitted, got ${JSON.stringify(a).slice(0, 300)}`);
  assert.equal(a.error?.message, 'not permitted', cell);
}

function assertUnauthorized(a: Answer, cell: string) {
  assert.equal(a.error?.code, UNAUTHORIZED, `${cell}: expected 4100, got ${JSON.stringify(a).slice(0, 300)}`);
}

before(async () => {
  c = await startConsortium();
  const alice = await c.signer('alice');
  token = (await (await c.deploy('alice', 'ConfidentialERC20', ['Secret', 'SEC', 1_000_000n], TOKEN_POLICY)).getAddress()).toLowerCase();
  const sealedPolicy = JSON.stringify({ ...JSON.parse(TOKEN_POLICY), output: ['role:auditor'] });
  sealed = (await (await c.deploy('alice', 'ConfidentialERC20', ['Sealed', 'SLD', 1_000_000n], sealedPolicy)).getAddress()).toLowerCase();
  const membersPolicy = JSON.stringify({ ...JSON.parse(TOKEN_POLICY), state: ['role:member', 'role:auditor'] });
  members = (await (await c.deploy('orgA', 'ConfidentialERC20', ['Members', 'MBR', 1_000_000n], membersPolicy)).getAddress()).toLowerCase();
  peek = (await (await c.deploy('dave', 'Peek', [], PUBLIC_POLICY)).getAddress()).toLowerCase();

  const t = new Contract(token, tokenAbi, alice);
  const sent = await c.mined((await t.getFunction('transfer')(c.address('bob'), 4242n)).hash);
  transferTx = sent.hash;
  transferBlock = '0x' + sent.blockNumber.toString(16);
  memoTx = (await c.mined((await t.getFunction('transferWithMemo')(c.address('dave'), 17n, c.address('carol'), 'invoice 7781: fee for the Q3 audit')).hash)).hash;
  await c.mined((await new Contract(sealed, tokenAbi, alice).getFunction('transfer')(c.address('bob'), 5n)).hash);

  readers.sender = { label: 'sender (alice)', token: await c.login('alice'), as: 'alice' };
  readers.topic = { label: 'counterparty in a topic (bob)', token: await c.login('bob'), as: 'bob' };
  readers.arg = { label: 'counterparty in an argument only (carol)', token: await c.login('carol'), as: 'carol' };
  readers.user = { label: 'another user (dave)', token: await c.login('dave'), as: 'dave' };
  readers.member = { label: 'a member (Org B)', token: await c.login('orgB'), as: 'orgB' };
  readers.auditor = { label: 'the auditor', token: await c.login('auditor'), as: 'auditor' };
  readers.anonymous = { label: 'unauthenticated' };
  readers.unregistered = { label: 'an unregistered account', token: await c.login('outsider'), as: 'outsider' };
  readers.scoped = { label: 'alice, scoped to another contract', token: await c.login('alice', [`eip155:7700:${peek}`]), as: 'alice' };
  const gone = await c.login('alice');
  assert.equal((await ask({ label: '', token: gone }, 'conclave_logout', [])).result, true);
  readers.loggedOut = { label: 'a logged-out token', token: gone, as: 'alice' };
});

after(() => c?.stop());

/** The expected outcome of one cell, by reader key. */
type Expect = 'visible' | 'filtered' | 'notPermitted' | 'codeRevert';
function each(expect: Record<string, Expect>, check: (r: Reader, e: Expect, cell: string) => Promise<void>, what: string) {
  return Promise.all(
    Object.entries(readers).map(async ([key, r]) => {
      const cell = `${what} / ${r.label}`;
      if (key === 'loggedOut') return; // asserted once for every path below
      const e = expect[key];
      assert.ok(e, `no expectation for ${cell}`);
      await check(r, e, cell);
    }),
  );
}

describe('leak matrix', () => {
  test('input: eth_getTransactionByHash, full blocks, by block and index', async () => {
    const transferInput = tokenAbi.encodeFunctionData('transfer', [c.address('bob'), 4242n]);
    // Input is for the sender and auditors only; the counterparties do not see it either.
    const expect: Record<string, Expect> = {
      sender: 'visible', topic: 'filtered', arg: 'filtered', user: 'filtered', member: 'filtered',
      auditor: 'visible', anonymous: 'filtered', unregistered: 'filtered', scoped: 'filtered',
    };
    await each(expect, async (r, e, cell) => {
      const byHash = await ask(r, 'eth_getTransactionByHash', [transferTx]);
      assert.equal(byHash.result.input, e === 'visible' ? transferInput : '0x', cell);
      assert.equal(byHash.result.hash, transferTx, cell);
      const block = await ask(r, 'eth_getBlockByNumber', [transferBlock, true]);
      const inBlock = block.result.transactions.find((t: any) => t.hash === transferTx);
      assert.equal(inBlock.input, e === 'visible' ? transferInput : '0x', `${cell} (full block)`);
      const byIndex = await ask(r, 'eth_getTransactionByBlockNumberAndIndex', [transferBlock, inBlock.transactionIndex]);
      assert.equal(byIndex.result.input, inBlock.input, `${cell} (by index)`);
    }, 'input');
  });

  test('return data: balanceOf(alice) through eth_call', async () => {
    // State audience: registered identities; the code itself lets only the holder and auditors read.
    const expect: Record<string, Expect> = {
      sender: 'visible', topic: 'codeRevert', arg: 'codeRevert', user: 'codeRevert', member: 'codeRevert',
      auditor: 'visible', anonymous: 'notPermitted', unregistered: 'notPermitted', scoped: 'notPermitted',
    };
    const balance = 1_000_000n - 4242n - 17n;
    await each(expect, async (r, e, cell) => {
      const a = await call(r, token, balanceOf(c.address('alice')));
      if (e === 'visible') assert.equal(BigInt(a.result), balance, cell);
      else if (e === 'notPermitted') assertNotPermitted(a, cell);
      else {
        // UnauthorizedReader(caller): the contract's own msg.sender check, with the caller's own address.
        assert.equal(a.error?.code, 3, cell);
        assert.equal(a.error?.data, tokenAbi.encodeErrorResult('UnauthorizedReader', [c.wallet(r.as!).address]), cell);
      }
    }, 'return data');
  });

  test('return data and revert reason of a contract whose output is for auditors only: filtered to empty', async () => {
    const expect: Record<string, Expect> = {
      sender: 'filtered', topic: 'filtered', arg: 'filtered', user: 'filtered', member: 'filtered',
      auditor: 'visible', anonymous: 'notPermitted', unregistered: 'notPermitted', scoped: 'notPermitted',
    };
    await each(expect, async (r, e, cell) => {
      const value = await call(r, sealed, balanceOf(c.address('alice')));
      // Reverting: a transfer beyond the balance (ERC20InsufficientBalance carries the balance).
      const reverting = await call(r, sealed, tokenAbi.encodeFunctionData('transfer', [c.address('bob'), 10n ** 30n]), r.as ? { from: c.address(r.as) } : {});
      if (e === 'notPermitted') {
        assertNotPermitted(value, cell);
        assertNotPermitted(reverting, `${cell} (revert)`);
      } else if (e === 'visible') {
        assert.equal(BigInt(value.result), 1_000_000n - 5n, cell);
        assert.equal(reverting.error?.code, 3, cell);
        assert.match(reverting.error!.data!, /^0xe450d38c/, `${cell}: ERC20InsufficientBalance`);
      } else {
        // Whatever happened inside, the answer carries nothing: empty data, a bare revert.
        assert.ok(value.result === '0x' || (value.error?.code === 3 && value.error.data === '0x'), `${cell}: ${JSON.stringify(value)}`);
        assert.deepEqual(reverting.error, { code: 3, message: 'execution reverted', data: '0x' }, `${cell} (revert)`);
      }
    }, 'sealed output');
  });

  test('revert reason: the sender sees its own, others reach the contract only as themselves', async () => {
    const tooMuch = tokenAbi.encodeFunctionData('transfer', [c.address('bob'), 10n ** 30n]);
    const a = await call(readers.sender!, token, tooMuch);
    assert.equal(a.error?.code, 3);
    assert.equal(tokenAbi.parseError(a.error!.data!)!.name, 'ERC20InsufficientBalance');
    assert.equal(tokenAbi.parseError(a.error!.data!)!.args[0].toLowerCase(), c.address('alice'));
    // A `from` naming another identity is refused; so is every read of anyone outside the state audience.
    assertNotPermitted(await call(readers.topic!, token, tooMuch, { from: c.address('alice') }), 'bob naming alice as from');
    assertNotPermitted(await call(readers.anonymous!, token, tooMuch, { from: c.address('alice') }), 'anonymous naming alice as from');
    assertNotPermitted(await call(readers.unregistered!, token, tooMuch), 'unregistered');
  });

  test('event data and topics: receipts, eth_getLogs, block receipts', async () => {
    // Transfer(alice -> bob): alice, bob, auditors. Memo(alice, cc carol): alice, carol, auditors.
    const transfer: Record<string, Expect> = {
      sender: 'visible', topic: 'visible', arg: 'filtered', user: 'filtered', member: 'filtered',
      auditor: 'visible', anonymous: 'filtered', unregistered: 'filtered', scoped: 'filtered',
    };
    const memo: Record<string, Expect> = { ...transfer, topic: 'filtered', arg: 'visible' };
    const memoTopic = topicOf('Memo(address,address,string)');
    const transferTopic = topicOf('Transfer(address,address,uint256)');
    await each(transfer, async (r, e, cell) => {
      const receipt = (await ask(r, 'eth_getTransactionReceipt', [transferTx])).result;
      assert.equal(receipt.status, '0x1', cell);
      assert.equal(receipt.logs.length, e === 'visible' ? 1 : 0, cell);
      const logs = (await ask(r, 'eth_getLogs', [{ address: token, fromBlock: '0x0', toBlock: 'latest', topics: [transferTopic] }])).result;
      assert.equal(logs.some((l: any) => l.transactionHash === transferTx), e === 'visible', `${cell} (eth_getLogs)`);
      const blockReceipts = (await ask(r, 'eth_getBlockReceipts', [transferBlock])).result;
      assert.equal(blockReceipts.find((x: any) => x.transactionHash === transferTx).logs.length, e === 'visible' ? 1 : 0, `${cell} (block receipts)`);
    }, 'Transfer event');
    await each(memo, async (r, e, cell) => {
      const receipt = (await ask(r, 'eth_getTransactionReceipt', [memoTx])).result;
      const memos = receipt.logs.filter((l: any) => l.topics[0] === memoTopic);
      assert.equal(memos.length, e === 'visible' ? 1 : 0, cell);
      if (e === 'visible') assert.match(Buffer.from(memos[0].data.slice(2), 'hex').toString('latin1'), /invoice 7781/, cell);
      // The Transfer in the same transaction goes to alice and dave (its to).
      const transfers = receipt.logs.filter((l: any) => l.topics[0] === transferTopic);
      assert.equal(transfers.length, r.as === 'alice' && r !== readers.scoped ? 1 : r.as === 'dave' || r.as === 'auditor' ? 1 : 0, `${cell} (its Transfer)`);
      const logs = (await ask(r, 'eth_getLogs', [{ address: token, fromBlock: '0x0', toBlock: 'latest', topics: [memoTopic] }])).result;
      assert.equal(logs.length, e === 'visible' ? 1 : 0, `${cell} (eth_getLogs)`);
    }, 'Memo event');
  });

  test('event data: polling filters and subscriptions get only what their owner may see', async () => {
    // Each reader installs a filter and a subscription for the token's logs; then alice transfers to bob.
    const filters = new Map<string, string>();
    const sockets = new Map<string, { ws: WebSocket; got: any[] }>();
    for (const [key, r] of Object.entries(readers)) {
      if (key === 'loggedOut') continue;
      filters.set(key, (await ask(r, 'eth_newFilter', [{ address: token }])).result);
      const ws = new WebSocket(r.token ? `${c.node.wsUrl}s/${r.token}` : c.node.wsUrl);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const got: any[] = [];
      ws.on('message', (m) => {
        const msg = JSON.parse(String(m));
        if (msg.method === 'eth_subscription') got.push(msg.params.result);
      });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['logs', { address: token }] }));
      sockets.set(key, { ws, got });
    }
    await new Promise((r) => setTimeout(r, 200));
    const sent = await c.mined((await new Contract(token, tokenAbi, await c.signer('alice')).getFunction('transfer')(c.address('bob'), 99n)).hash);
    await new Promise((r) => setTimeout(r, 500));
    const expect: Record<string, Expect> = {
      sender: 'visible', topic: 'visible', arg: 'filtered', user: 'filtered', member: 'filtered',
      auditor: 'visible', anonymous: 'filtered', unregistered: 'filtered', scoped: 'filtered',
    };
    try {
      await each(expect, async (r, e, cell) => {
        const key = Object.entries(readers).find(([, x]) => x === r)![0];
        const changes = (await ask(r, 'eth_getFilterChanges', [filters.get(key)])).result;
        assert.equal(changes.filter((l: any) => l.transactionHash === sent!.hash).length, e === 'visible' ? 1 : 0, `${cell} (filter)`);
        const all = (await ask(r, 'eth_getFilterLogs', [filters.get(key)])).result;
        assert.equal(all.filter((l: any) => l.transactionHash === sent!.hash).length, e === 'visible' ? 1 : 0, `${cell} (filter logs)`);
        const got = sockets.get(key)!.got;
        assert.equal(got.filter((l: any) => l.transactionHash === sent!.hash).length, e === 'visible' ? 1 : 0, `${cell} (subscription)`);
      }, 'filters and subscriptions');
    } finally {
      for (const { ws } of sockets.values()) ws.close();
    }
  });

  test('storage: raw state goes to auditors only', async () => {
    const expect: Record<string, Expect> = {
      sender: 'notPermitted', topic: 'notPermitted', arg: 'notPermitted', user: 'notPermitted', member: 'notPermitted',
      auditor: 'visible', anonymous: 'notPermitted', unregistered: 'notPermitted', scoped: 'notPermitted',
    };
    await each(expect, async (r, e, cell) => {
      // Slot 2: OpenZeppelin ERC20's _totalSupply.
      const a = await ask(r, 'eth_getStorageAt', [token, '0x2', 'latest']);
      if (e === 'visible') assert.equal(BigInt(a.result), 1_000_000n, cell);
      else assertNotPermitted(a, cell);
    }, 'storage');
    // Public by rule: balance, nonce and code of the contract.
    assert.notEqual((await ask(readers.anonymous!, 'eth_getCode', [token, 'latest'])).result, '0x');
    assert.ok((await ask(readers.anonymous!, 'eth_getBalance', [token, 'latest'])).result);
  });

  test('a helper contract that reads the confidential one, in a call: refused for whoever is outside the audience', async () => {
    const data = peekAbi.encodeFunctionData('peek', [token, c.address('alice')]);
    const tryData = peekAbi.encodeFunctionData('tryPeek', [token, c.address('alice')]);
    for (const key of ['anonymous', 'unregistered', 'scoped'] as const) {
      assertNotPermitted(await call(readers[key]!, peek, data), `peek / ${readers[key]!.label}`);
      // Catching the failure inside does not help: reaching the contract refuses the whole read.
      assertNotPermitted(await call(readers[key]!, peek, tryData), `tryPeek / ${readers[key]!.label}`);
      assertNotPermitted(await ask(readers[key]!, 'eth_estimateGas', [{ to: peek, data }]), `estimateGas / ${readers[key]!.label}`);
    }
    // Inside the audience, the token's own code sees the helper as msg.sender, not the reader.
    const asDave = await call(readers.user!, peek, data);
    assert.equal(asDave.error?.data, tokenAbi.encodeErrorResult('UnauthorizedReader', [peek]));
  });

  test('a helper contract that reads it in a transaction, and creation code that reads it: the message reverts with the one fixed revert', async () => {
    // `members` admits members and auditors only; dave (a user) sends the transactions.
    const dave = await c.signer('dave');
    const peekContract = new Contract(peek, peekAbi, dave);
    const sent = await peekContract.getFunction('peekAndRecord').send(members, c.address('orgA'), { gasLimit: 200_000n });
    const mined = await c.mined(sent.hash);
    assert.equal(mined!.status, 0, 'the helper transaction fails');
    assert.equal(mined!.logs.length, 0, 'nothing was recorded');
    // The same revert whichever contract refused: eth_call of the helper by dave (estimate) and by a member.
    assertNotPermitted(await call(readers.user!, peek, peekAbi.encodeFunctionData('peek', [members, c.address('orgA')])), 'peek members as dave');
    const asMember = await call(readers.member!, peek, peekAbi.encodeFunctionData('tryPeek', [members, c.address('orgA')]));
    assert.ok(asMember.result, 'a member reaches it through the helper');
    // Creation code: dave deploys PeekOnCreate(members, orgA): its constructor's read reverts.
    const art = loadArtifact('PeekOnCreate');
    const create = new ContractFactory(art.abi, art.bytecode, dave);
    const deployTx = await create.getDeployTransaction(members, c.address('orgA'));
    assertNotPermitted(await ask(readers.user!, 'eth_call', [{ data: deployTx.data }, 'latest']), 'creation code as dave (call)');
    assertNotPermitted(await ask(readers.user!, 'eth_estimateGas', [{ data: deployTx.data }]), 'creation code as dave (estimateGas)');
    const nonce = await c.provider.getTransactionCount(dave.address, 'pending');
    const raw = await dave.signTransaction({ ...deployTx, nonce, gasLimit: 500_000n, chainId: 7700n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n, type: 2 });
    const hash = await c.provider.send('eth_sendRawTransaction', [raw]);
    const created = await c.mined(hash);
    assert.equal(created!.status, 0, 'the creation fails');
    assert.equal((await ask(readers.user!, 'eth_getCode', [getCreateAddress({ from: dave.address, nonce }), 'latest'])).result, '0x');
    // Inside the audience, a caught failure is the contract's own (UnauthorizedReader), never the guard's revert.
    const caught = await call(readers.member!, peek, peekAbi.encodeFunctionData('tryPeek', [token, c.address('alice')]));
    const [ok, returned] = peekAbi.decodeFunctionResult('tryPeek', caught.result);
    assert.equal(ok, false);
    assert.equal(returned, tokenAbi.encodeErrorResult('UnauthorizedReader', [peek]));
    assert.notEqual(returned, NOT_PERMITTED_REVERT);
  });

  test('eth_estimateGas is no oracle for readers outside the audience', async () => {
    const data = tokenAbi.encodeFunctionData('transfer', [c.address('bob'), 1n]);
    for (const key of ['anonymous', 'unregistered', 'scoped'] as const) {
      assertNotPermitted(await ask(readers[key]!, 'eth_estimateGas', [{ to: token, data }]), `estimateGas / ${readers[key]!.label}`);
    }
    assertNotPermitted(await ask(readers.topic!, 'eth_estimateGas', [{ to: token, data, from: c.address('alice') }]), 'estimateGas naming another identity');
  });

  test('impersonating the auditor authenticates no read: reads go by the session, never by impersonation', async () => {
    // Every reader tries to impersonate the auditor (Hardhat's and Anvil's names); on a
    // consortium network dev methods are refused, and in any case reads are decided by the
    // session the reader holds: naming the auditor as `from` afterwards gains nothing.
    const auditor = c.address('auditor');
    const expect: Record<string, Expect> = {
      sender: 'notPermitted', topic: 'notPermitted', arg: 'notPermitted', user: 'notPermitted', member: 'notPermitted',
      auditor: 'visible', anonymous: 'notPermitted', unregistered: 'notPermitted', scoped: 'notPermitted',
    };
    await each(expect, async (r, e, cell) => {
      for (const method of ['hardhat_impersonateAccount', 'anvil_impersonateAccount']) {
        const a = await ask(r, method, [auditor]);
        assert.ok(a.error, `${cell}: ${method} refused, got ${JSON.stringify(a).slice(0, 200)}`);
      }
      const asAuditor = await call(r, token, balanceOf(c.address('bob')), { from: auditor });
      const storage = await ask(r, 'eth_getStorageAt', [token, '0x2', 'latest']);
      if (e === 'visible') {
        assert.equal(BigInt(asAuditor.result), 4242n + 99n, cell);
        assert.equal(BigInt(storage.result), 1_000_000n, `${cell} (storage)`);
      } else {
        assertNotPermitted(asAuditor, `${cell} (from: the auditor)`);
        assertNotPermitted(storage, `${cell} (storage)`);
      }
    }, 'impersonating the auditor');
    // Nor does it send as the auditor: no key, no impersonation.
    const send = await ask(readers.anonymous!, 'eth_sendTransaction', [{ from: auditor, to: token, data: balanceOf(auditor) }]);
    assert.ok(send.error, `a send as the auditor is refused, got ${JSON.stringify(send).slice(0, 200)}`);
  });

  test('a logged-out token is refused on every path', async () => {
    const r = readers.loggedOut!;
    for (const [method, params] of [
      ['eth_call', [{ to: token, data: balanceOf(c.address('alice')) }, 'latest']],
      ['eth_getTransactionByHash', [transferTx]],
      ['eth_getTransactionReceipt', [transferTx]],
      ['eth_getLogs', [{ address: token, fromBlock: '0x0' }]],
      ['eth_getStorageAt', [token, '0x2', 'latest']],
      ['eth_newFilter', [{ address: token }]],
      ['eth_blockNumber', []],
    ] as const) {
      assertUnauthorized(await ask(r, method, [...params]), `logged out / ${method}`);
    }
  });

  test('real clients: ethers on a session URL, viem with a bearer header, cast', async () => {
    // ethers, on alice's session URL: her balance; on carol's, the contract's own refusal.
    const alice = new Contract(token, tokenAbi, c.session(readers.sender!.token!));
    assert.equal(await alice.getFunction('balanceOf')(c.address('alice')), 1_000_000n - 4242n - 17n - 99n);
    const anonymous = new Contract(token, tokenAbi, new JsonRpcProvider(c.node.url, 7700, { staticNetwork: true }));
    await assert.rejects(anonymous.getFunction('balanceOf')(c.address('alice')));
    // viem with the token as a bearer header: bob sees the transfer to him, dave sees nothing.
    const viemAs = (r: Reader) =>
      createPublicClient({ transport: http(c.node.url, { fetchOptions: r.token ? { headers: { authorization: `Bearer ${r.token}` } } : {} }) });
    const event = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
    const bobLogs = await viemAs(readers.topic!).getLogs({ address: token as `0x${string}`, event, fromBlock: 0n });
    assert.ok(bobLogs.some((l) => l.transactionHash === transferTx && l.args.value === 4242n));
    const daveLogs = await viemAs(readers.user!).getLogs({ address: token as `0x${string}`, event, fromBlock: 0n });
    assert.equal(daveLogs.filter((l) => l.args.to?.toLowerCase() === c.address('bob')).length, 0);
    // cast, on the auditor's session URL: any balance; on an unregistered account's: refused.
    const castCall = (r: Reader) =>
      run(CAST, ['call', '--rpc-url', `${c.node.url}s/${r.token}`, token, 'balanceOf(address)(uint256)', c.address('bob')], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
    assert.match((await castCall(readers.auditor!)).stdout, /^4341\b/);
    await assert.rejects(castCall(readers.unregistered!), /not permitted/);
  });
});
