/**
 * logsBloom confirms no guess about a confidential log: on the consortium network, the
 * bloom of a block and of each receipt covers public logs only, as every reader sees
 * it. For blocks holding confidential Transfer and Memo logs, many guesses (the real
 * token address and topics among them) must not find all their bits set; the address
 * and topics of a public log, in a block of its own and beside a confidential log in
 * one transaction, must.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ContractFactory, getCreateAddress, Interface, JsonRpcProvider, keccak256, toBeHex, toQuantity, zeroPadValue, type Wallet } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { mined } from '../helpers/mined.ts';
import { KEYS, POLICY_REGISTRY, startConsortium, TOKEN_POLICY, type Consortium, type Name } from './consortium.ts';

const PUBLIC_POLICY = JSON.stringify({ state: ['public'], input: ['public'], output: ['public'], events: {}, otherEvents: ['public'] });
/** The example token's policy with Transfer made public: its Memo stays confidential. */
const MIXED_POLICY = (() => {
  const p = JSON.parse(TOKEN_POLICY);
  p.events['Transfer(address,address,uint256)'].audience = ['public'];
  return JSON.stringify(p);
})();

const token = new Interface(loadArtifact('ConfidentialERC20').abi as never);
const registry = new Interface(['function setPolicy(address target, string policy)']);
const TRANSFER = token.getEvent('Transfer')!.topicHash;
const MEMO = token.getEvent('Memo')!.topicHash;
const APPROVAL = token.getEvent('Approval')!.topicHash;

/** The three bloom bits of a value, as Ethereum sets them: 11-bit indices from the first three byte pairs of its keccak256. */
function bloomBits(value: string): number[] {
  const h = Buffer.from(keccak256(value).slice(2), 'hex');
  return [0, 2, 4].map((i) => ((h[i]! << 8) | h[i + 1]!) & 2047);
}

/** Whether a 256-byte bloom (hex) would report a value as possibly present: all three of its bits set (bit 0 is the lowest of the last byte). */
function confirmsBits(bloom: string, bits: number[]): boolean {
  const bytes = Buffer.from(bloom.slice(2), 'hex');
  assert.equal(bytes.length, 256, 'a logsBloom is 256 bytes');
  return bits.every((bit) => (bytes[255 - (bit >> 3)]! & (1 << (bit & 7))) !== 0);
}

const confirms = (bloom: string, value: string) => confirmsBits(bloom, bloomBits(value));

/** The bloom of some logs, built from the bits above (for comparing with what the node answers). */
function bloomOf(logs: { address: string; topics: string[] }[]): string {
  const bytes = Buffer.alloc(256);
  for (const log of logs) {
    for (const v of [log.address, ...log.topics]) for (const b of bloomBits(v)) bytes[255 - (b >> 3)]! |= 1 << (b & 7);
  }
  return '0x' + bytes.toString('hex');
}

const word = (address: string) => zeroPadValue(address, 32).toLowerCase();

let c: Consortium;
const providers: JsonRpcProvider[] = [];
/** A reader's provider: its own session, or anonymous. */
const readers = new Map<string, JsonRpcProvider>();
let confidential: string;
let mixed: string;
let publicToken: string;
/** Blocks holding confidential logs and nothing public. */
const confidentialBlocks: { what: string; block: string; tx: string }[] = [];
let publicBlock: { block: string; tx: string };
let mixedBlock: { block: string; tx: string };

async function signer(name: Name): Promise<Wallet> {
  const token = await c.login(name);
  // cacheTimeout -1: back-to-back sends must not share a cached pending nonce.
  const p = new JsonRpcProvider(`${c.node.url.replace(/\/$/, '')}/s/${token}`, 7700, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  providers.push(p);
  return c.wallet(name).connect(p);
}

/** Sends a transaction and returns its block number (hex) once mined, checking it succeeded. */
async function send(w: Wallet, to: string, data: string): Promise<{ block: string; tx: string }> {
  const tx = await w.sendTransaction({ to, data });
  const r = await mined(w.provider as JsonRpcProvider, tx.hash);
  assert.equal(r.status, 1, `transaction to ${to} succeeded`);
  return { block: toQuantity(r.blockNumber), tx: tx.hash };
}

/** Deploys `artifact` as `w` under `policy`, registered in advance; returns the address and the creation's block. */
async function deploy(w: Wallet, artifact: string, args: unknown[], policy: string): Promise<{ address: string; block: string; tx: string }> {
  const nonce = await w.getNonce('pending');
  const target = getCreateAddress({ from: w.address, nonce: nonce + 1 }).toLowerCase();
  await send(w, POLICY_REGISTRY, registry.encodeFunctionData('setPolicy', [target, policy]));
  const a = loadArtifact(artifact);
  const tx = await w.sendTransaction(await new ContractFactory(a.abi as never, a.bytecode, w).getDeployTransaction(...args));
  const r = await mined(w.provider as JsonRpcProvider, tx.hash);
  assert.equal(r.status, 1);
  assert.equal(r.contractAddress?.toLowerCase(), target);
  return { address: target, block: toQuantity(r.blockNumber), tx: tx.hash };
}

before(async () => {
  c = await startConsortium();
  const anonymous = new JsonRpcProvider(c.node.url, 7700, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  providers.push(anonymous);
  readers.set('anonymous', anonymous);
  const alice = await signer('alice');
  const bob = await signer('bob');
  for (const n of ['carol', 'dave', 'auditor'] as const) readers.set(n, (await signer(n)).provider as JsonRpcProvider);
  readers.set('alice', alice.provider as JsonRpcProvider);
  readers.set('bob', bob.provider as JsonRpcProvider);

  // The confidential token: its mint, a transfer, a transfer with a memo.
  const created = await deploy(alice, 'ConfidentialERC20', ['Secret', 'SEC', 10n ** 24n], TOKEN_POLICY);
  confidential = created.address;
  confidentialBlocks.push({ what: 'creation (mint Transfer)', block: created.block, tx: created.tx });
  confidentialBlocks.push({ what: 'transfer', ...(await send(alice, confidential, token.encodeFunctionData('transfer', [c.address('bob'), 12_345n]))) });
  confidentialBlocks.push({
    what: 'transferWithMemo',
    ...(await send(alice, confidential, token.encodeFunctionData('transferWithMemo', [c.address('carol'), 777n, c.address('dave'), 'a memo']))),
  });

  // A public token (explicitly public: the network's default policy is private) and one public transfer.
  publicToken = (await deploy(bob, 'ConclaveToken', ['Public', 'PUB', 10n ** 21n], PUBLIC_POLICY)).address;
  publicBlock = await send(bob, publicToken, token.encodeFunctionData('transfer', [c.address('carol'), 5n]));

  // One transaction, two logs: a public Transfer and a confidential Memo.
  mixed = (await deploy(alice, 'ConfidentialERC20', ['Mixed', 'MIX', 10n ** 24n], MIXED_POLICY)).address;
  mixedBlock = await send(alice, mixed, token.encodeFunctionData('transferWithMemo', [c.address('bob'), 9n, c.address('carol'), 'a mixed memo']));
});

after(async () => {
  for (const p of providers) p.destroy();
  await c?.stop();
});

/** The block's logsBloom and its receipts' blooms, as each reader sees them (they must agree). */
async function bloomsOf(block: string, tx: string): Promise<{ block: string; receipt: string }> {
  const seen: { block: string; receipt: string }[] = [];
  for (const [who, p] of readers) {
    const b = (await p.send('eth_getBlockByNumber', [block, false])) as { logsBloom: string; transactions: string[] };
    assert.deepEqual(b.transactions, [tx], `block ${block} holds only the transaction under test`);
    const receipt = (await p.send('eth_getTransactionReceipt', [tx])) as { logsBloom: string };
    const all = (await p.send('eth_getBlockReceipts', [block])) as { logsBloom: string }[];
    assert.equal(all[0]!.logsBloom, receipt.logsBloom, `${who}: eth_getBlockReceipts and eth_getTransactionReceipt agree`);
    seen.push({ block: b.logsBloom, receipt: receipt.logsBloom });
  }
  for (const s of seen) assert.deepEqual(s, seen[0], 'every reader sees the same blooms');
  return seen[0]!;
}

/** Many guesses about a confidential log: the real address and topics, and hundreds of others; with their bloom bits. */
function guesses(): { name: string; value: string; bits: number[] }[] {
  const out: { name: string; value: string }[] = [
    { name: 'the token address', value: confidential },
    { name: 'Transfer signature', value: TRANSFER },
    { name: 'Memo signature', value: MEMO },
    { name: 'Approval signature', value: APPROVAL },
    { name: 'zero address word (mint from)', value: word('0x' + '00'.repeat(20)) },
  ];
  for (const n of Object.keys(KEYS) as Name[]) {
    out.push({ name: `${n}'s address as a topic`, value: word(c.address(n)) });
    out.push({ name: `${n}'s address`, value: c.address(n) });
  }
  for (const v of [12_345n, 777n, 10n ** 24n]) out.push({ name: `amount ${v} as a word`, value: toBeHex(v, 32) });
  for (let i = 0; i < 300; i++) {
    const a = '0x' + randomBytes(20).toString('hex');
    out.push({ name: `random address ${a}`, value: a }, { name: `random address ${a} as a topic`, value: word(a) });
  }
  for (let i = 0; i < 100; i++) out.push({ name: `small value ${i} as a word`, value: toBeHex(i, 32) });
  for (let i = 0; i < 100; i++) {
    const v = '0x' + randomBytes(32).toString('hex');
    out.push({ name: `random word ${v}`, value: v });
  }
  return out.map((g) => ({ ...g, bits: bloomBits(g.value) }));
}

test('blocks holding only confidential logs: no guess finds its bloom bits set, in the block or its receipts, for any reader', async () => {
  const all = guesses();
  assert.ok(all.length > 800, `${all.length} guesses`);
  for (const { what, block, tx } of confidentialBlocks) {
    // The logs exist: the auditor sees them in the receipt, the anonymous reader does not.
    const audited = (await readers.get('auditor')!.send('eth_getTransactionReceipt', [tx])) as { logs: { address: string; topics: string[] }[] };
    assert.ok(audited.logs.length > 0 && audited.logs.every((l) => l.address.toLowerCase() === confidential), `${what}: confidential logs in the block`);
    const anonymous = (await readers.get('anonymous')!.send('eth_getTransactionReceipt', [tx])) as { logs: unknown[] };
    assert.deepEqual(anonymous.logs, [], `${what}: no public log in the block`);

    const blooms = await bloomsOf(block, tx);
    for (const [where, bloom] of [['block', blooms.block], ['receipt', blooms.receipt]] as const) {
      const confirmed = all.filter((g) => confirmsBits(bloom, g.bits)).map((g) => g.name);
      assert.deepEqual(confirmed, [], `${what}: the ${where} logsBloom confirms guesses`);
      // Stronger: with no public log, nothing at all is set.
      assert.equal(bloom, '0x' + '00'.repeat(256), `${what}: the ${where} logsBloom covers public logs only`);
    }
    // Positive control on the method: the bloom of what the auditor sees would confirm the real values.
    const real = bloomOf(audited.logs);
    for (const l of audited.logs) for (const v of [l.address, ...l.topics]) assert.ok(confirms(real, v));
  }
});

test('a public log sets all its bloom bits; the block bloom is exactly the bloom of the logs an anonymous reader sees', async () => {
  const blooms = await bloomsOf(publicBlock.block, publicBlock.tx);
  const receipt = (await readers.get('anonymous')!.send('eth_getTransactionReceipt', [publicBlock.tx])) as { logs: { address: string; topics: string[] }[] };
  assert.equal(receipt.logs.length, 1);
  const [log] = receipt.logs;
  assert.equal(log!.address.toLowerCase(), publicToken);
  assert.deepEqual(log!.topics, [TRANSFER, word(c.address('bob')), word(c.address('carol'))]);
  for (const v of [publicToken, ...log!.topics]) {
    assert.ok(confirms(blooms.block, v), `block logsBloom has all bits of ${v}`);
    assert.ok(confirms(blooms.receipt, v), `receipt logsBloom has all bits of ${v}`);
  }
  assert.equal(blooms.block, bloomOf(receipt.logs), 'bits computed here match the node: the check of the other tests is sound');
  assert.equal(blooms.receipt, blooms.block);
});

test('one transaction with a public Transfer and a confidential Memo: the Transfer sets its bits, the Memo does not add its own', async () => {
  const blooms = await bloomsOf(mixedBlock.block, mixedBlock.tx);
  const anonymous = (await readers.get('anonymous')!.send('eth_getTransactionReceipt', [mixedBlock.tx])) as { logs: { address: string; topics: string[] }[] };
  const cc = (await readers.get('carol')!.send('eth_getTransactionReceipt', [mixedBlock.tx])) as { logs: { address: string; topics: string[] }[] };
  assert.deepEqual(
    anonymous.logs.map((l) => l.topics[0]),
    [TRANSFER],
    'an anonymous reader sees the public Transfer only',
  );
  assert.deepEqual(
    cc.logs.map((l) => l.topics[0]),
    [TRANSFER, MEMO],
    'the memo is there: carol, its cc, sees it',
  );
  for (const v of [mixed, ...anonymous.logs[0]!.topics]) {
    assert.ok(confirms(blooms.block, v), `block logsBloom has all bits of public ${v}`);
    assert.ok(confirms(blooms.receipt, v), `receipt logsBloom has all bits of public ${v}`);
  }
  // The Memo's address and its topic 1 (alice) are the Transfer's too; its signature is its own.
  assert.ok(!confirms(blooms.block, MEMO), 'block logsBloom does not confirm the Memo signature');
  assert.ok(!confirms(blooms.receipt, MEMO), 'receipt logsBloom does not confirm the Memo signature');
  assert.equal(blooms.block, bloomOf(anonymous.logs), 'the block bloom is the bloom of the public logs exactly');
});
