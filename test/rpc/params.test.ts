import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParamsError } from '../../node/rpc/errors.ts';
import {
  param,
  paramAt,
  parseAddress,
  parseBlockTag,
  parseCallRequest,
  parseData,
  parseHash,
  parseLogFilter,
  parseQuantity,
  parseStorageSlot,
  parseUint64,
  refuseOverrides,
  toData,
  toQuantity,
} from '../../node/rpc/params.ts';

const ADDR = '0x52908400098527886E0F7030069857D2E4169EE7';
const HASH = '0x' + 'ab'.repeat(32);
const HASH2 = '0x' + 'cd'.repeat(32);

/** Asserts an InvalidParamsError whose message matches `re`. */
function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidParamsError, `expected InvalidParamsError, got ${String(err)}`);
    assert.equal(err.code, -32602);
    assert.match(err.message, re);
    return true;
  });
}

test('param / paramAt name the argument', () => {
  assert.equal(param([ADDR], 0, 'address', parseAddress), ADDR.toLowerCase());
  rejects(() => param(['0x1234'], 0, 'address', parseAddress), /^invalid argument 0 \(address\): hex string of 20 bytes expected$/);
  rejects(() => paramAt([], 1, 'block'), /^missing value for required argument 1 \(block\)$/);
  rejects(() => paramAt({ a: 1 }, 0, 'x'), /array expected/);
  assert.equal(paramAt([ADDR], 1, 'block', true), undefined);
  assert.equal(param([ADDR, null], 1, 'block', parseBlockTag, true), undefined);
});

test('parseAddress and parseHash', () => {
  assert.equal(parseAddress(ADDR, 'a'), '0x52908400098527886e0f7030069857d2e4169ee7');
  for (const bad of ['0x1234', ADDR.slice(2), ADDR + '00', '0x' + 'zz'.repeat(20), 42, null]) {
    rejects(() => parseAddress(bad, 'to'), /^invalid to: /);
  }
  assert.equal(parseHash(HASH.toUpperCase().replace('0X', '0x'), 'h'), HASH);
  rejects(() => parseHash(ADDR, 'blockHash'), /^invalid blockHash: hex string of 32 bytes expected$/);
});

test('parseData', () => {
  assert.deepEqual(parseData('0x', 'd'), new Uint8Array());
  assert.deepEqual(parseData('0x00fF10', 'd'), Uint8Array.from([0, 255, 16]));
  assert.equal(Object.getPrototypeOf(parseData('0x01', 'd')), Uint8Array.prototype);
  for (const bad of ['0x1', '00', '0xgg', '', 1]) rejects(() => parseData(bad, 'data'), /^invalid data: /);
});

test('parseQuantity follows the spec pattern: no leading zeros, no empty 0x, at most 256 bits', () => {
  assert.equal(parseQuantity('0x0', 'q'), 0n);
  assert.equal(parseQuantity('0x1A', 'q'), 26n);
  assert.equal(parseQuantity('0x' + 'f'.repeat(64), 'q'), 2n ** 256n - 1n);
  const cases: [unknown, string][] = [
    ['0x01', 'hex number with leading zero digits'],
    ['0x00', 'hex number with leading zero digits'],
    ['0x001a', 'hex number with leading zero digits'],
    ['0x', 'hex string "0x" has no digits'],
    ['1a', 'hex string without 0x prefix'],
    ['0x' + '1'.repeat(65), 'hex number > 256 bits'],
    [26, 'hex quantity with 0x prefix expected'],
    ['0x-1', 'invalid hex string'],
    ['0x1g', 'invalid hex string'],
  ];
  for (const [bad, why] of cases) {
    assert.throws(() => parseQuantity(bad, 'gas'), (e: unknown) => e instanceof InvalidParamsError && e.message === `invalid gas: ${why}`, String(bad));
  }
});

test('parseUint64 and block numbers: at most 64 bits', () => {
  assert.equal(parseUint64('0x' + 'f'.repeat(16), 'n'), 2n ** 64n - 1n);
  rejects(() => parseUint64('0x1' + '0'.repeat(16), 'index'), /^invalid index: hex number > 64 bits$/);
  rejects(() => parseBlockTag('0x1' + '0'.repeat(16), 'argument 0 (block)'), /^invalid argument 0 \(block\): hex number > 64 bits$/);
  rejects(() => parseBlockTag('0x01', 'argument 0 (block)'), /^invalid argument 0 \(block\): hex number with leading zero digits$/);
  rejects(() => parseBlockTag({ blockNumber: '0x00' }, 'block'), /^invalid block\.blockNumber: hex number with leading zero digits$/);
  rejects(() => parseCallRequest({ gas: '0x1' + '0'.repeat(16) }, 'tx'), /^invalid tx\.gas: hex number > 64 bits$/);
  rejects(() => parseCallRequest({ nonce: '0x01' }, 'tx'), /^invalid tx\.nonce: hex number with leading zero digits$/);
});

test('parseStorageSlot takes bytesMax32: leading zeros and 0x allowed', () => {
  assert.equal(parseStorageSlot('0x', 's'), 0n);
  assert.equal(parseStorageSlot('0x01', 's'), 1n);
  assert.equal(parseStorageSlot('0x' + '0'.repeat(63) + '2', 's'), 2n);
  rejects(() => parseStorageSlot('0x' + '0'.repeat(65), 'slot'), /^invalid slot: hex string of at most 32 bytes expected$/);
  rejects(() => parseStorageSlot(1, 'slot'), /^invalid slot: /);
});

test('refuseOverrides: absent, null or {} pass; anything else is -32602 naming the argument', () => {
  refuseOverrides([{}], 1, 'state overrides');
  refuseOverrides([{}, 'latest', null], 2, 'state overrides');
  refuseOverrides([{}, 'latest', {}], 2, 'state overrides');
  rejects(
    () => refuseOverrides([{}, 'latest', { [ADDR]: { balance: '0x1' } }], 2, 'state overrides'),
    /^invalid argument 2 \(state overrides\): state overrides are not supported yet$/,
  );
  rejects(() => refuseOverrides([{}, 'latest', {}, 'x'], 3, 'block overrides'), /^invalid argument 3 \(block overrides\): object expected$/);
});

test('parseBlockTag: numbers, tags and EIP-1898 objects', () => {
  for (const tag of ['latest', 'earliest', 'pending', 'safe', 'finalized']) assert.equal(parseBlockTag(tag, 'b'), tag);
  assert.equal(parseBlockTag('0x10', 'b'), 16n);
  assert.equal(parseBlockTag({ blockNumber: '0x10' }, 'b'), 16n);
  assert.equal(parseBlockTag({ blockNumber: 'latest' }, 'b'), 'latest');
  assert.deepEqual(parseBlockTag({ blockHash: HASH }, 'b'), { hash: HASH, requireCanonical: false });
  assert.deepEqual(parseBlockTag({ blockHash: HASH, requireCanonical: true }, 'b'), { hash: HASH, requireCanonical: true });
  rejects(() => parseBlockTag('newest', 'block'), /^invalid block: block number or tag/);
  rejects(() => parseBlockTag({ blockHash: HASH, blockNumber: '0x1' }, 'block'), /both blockHash and blockNumber/);
  rejects(() => parseBlockTag({ blockHash: '0x12' }, 'block'), /^invalid block\.blockHash: /);
  rejects(() => parseBlockTag({}, 'block'), /blockNumber or blockHash expected/);
  rejects(() => parseBlockTag(5, 'block'), /^invalid block: /);
});

test('parseCallRequest returns domain types', () => {
  const req = parseCallRequest(
    {
      from: ADDR,
      to: null,
      gas: '0x5208',
      maxFeePerGas: '0x3b9aca00',
      maxPriorityFeePerGas: '0x1',
      value: '0xde0b6b3a7640000',
      input: '0xabcd',
      data: '0xABCD',
      nonce: '0x7',
      type: '0x2',
      chainId: '0x539',
      accessList: [{ address: ADDR, storageKeys: [HASH] }],
      gasPrice: null,
      somethingElse: 1,
    },
    'argument 0 (transaction)',
  );
  assert.deepEqual(req, {
    from: ADDR.toLowerCase(),
    gas: 21000n,
    maxFeePerGas: 1_000_000_000n,
    maxPriorityFeePerGas: 1n,
    value: 10n ** 18n,
    nonce: 7n,
    chainId: 1337n,
    data: Uint8Array.from([0xab, 0xcd]),
    type: 2,
    accessList: [{ address: ADDR.toLowerCase(), storageKeys: [HASH] }],
  });
  assert.deepEqual(parseCallRequest({ data: '0x01' }, 'tx').data, Uint8Array.from([1]));
  assert.deepEqual(parseCallRequest({}, 'tx'), {});
  rejects(() => parseCallRequest({ input: '0x01', data: '0x02' }, 'tx'), /both "data" and "input" are set and not equal/);
  rejects(() => parseCallRequest({ gas: 21000 }, 'argument 0 (transaction)'), /^invalid argument 0 \(transaction\)\.gas: /);
  rejects(() => parseCallRequest({ to: '0x12' }, 'tx'), /^invalid tx\.to: /);
  rejects(() => parseCallRequest({ accessList: [{ address: ADDR, storageKeys: ['0x1'] }] }, 'tx'), /tx\.accessList\[0\]\.storageKeys\[0\]/);
  rejects(() => parseCallRequest('0x', 'tx'), /^invalid tx: object expected$/);
});

test('parseLogFilter', () => {
  const f = parseLogFilter({ fromBlock: '0x1', toBlock: 'latest', address: ADDR, topics: [HASH, null, [HASH, HASH2], []] }, 'filter');
  assert.deepEqual(f, {
    fromBlock: 1n,
    toBlock: 'latest',
    addresses: [ADDR.toLowerCase()],
    topics: [[HASH], null, [HASH, HASH2], null],
  });
  assert.deepEqual(parseLogFilter({ blockHash: HASH, address: [ADDR, ADDR] }, 'f'), {
    blockHash: HASH,
    addresses: [ADDR.toLowerCase(), ADDR.toLowerCase()],
    topics: [],
  });
  assert.deepEqual(parseLogFilter({}, 'f'), { addresses: [], topics: [] });
  rejects(() => parseLogFilter({ blockHash: HASH, fromBlock: '0x1' }, 'filter'), /cannot specify both blockHash and fromBlock\/toBlock/);
  rejects(() => parseLogFilter({ topics: [HASH, HASH, HASH, HASH, HASH] }, 'filter'), /at most 4 topics/);
  rejects(() => parseLogFilter({ topics: [[HASH, '0x12']] }, 'filter'), /^invalid filter\.topics\[0\]\[1\]: /);
  rejects(() => parseLogFilter({ address: ['0x12'] }, 'filter'), /^invalid filter\.address\[0\]: /);
  rejects(() => parseLogFilter({ fromBlock: { blockNumber: '0x1' } }, 'filter'), /^invalid filter\.fromBlock: /);
  rejects(
    () => parseLogFilter({ fromBlock: '0x5', toBlock: '0x2' }, 'argument 0 (filter)'),
    /^invalid argument 0 \(filter\): invalid block range params: fromBlock 0x5 is after toBlock 0x2$/,
  );
  assert.deepEqual(parseLogFilter({ fromBlock: '0x2', toBlock: '0x2' }, 'f'), { fromBlock: 2n, toBlock: 2n, addresses: [], topics: [] });
});

test('toQuantity and toData', () => {
  assert.equal(toQuantity(0), '0x0');
  assert.equal(toQuantity(0n), '0x0');
  assert.equal(toQuantity(255), '0xff');
  assert.equal(toQuantity(2n ** 256n - 1n), '0x' + 'f'.repeat(64));
  assert.throws(() => toQuantity(-1), RangeError);
  assert.throws(() => toQuantity(1.5), RangeError);
  assert.equal(toData(new Uint8Array()), '0x');
  assert.equal(toData(Uint8Array.from([0, 1, 0xab])), '0x0001ab');
  const view = Uint8Array.from([9, 8, 7, 6]).subarray(1, 3);
  assert.equal(toData(view), '0x0807');
});
