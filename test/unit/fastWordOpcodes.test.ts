import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bigIntToBytes, bytesToBigInt, bytesToHex, setLengthLeft } from '@ethereumjs/util';
import { bigIntToWord, wordToBigInt } from '../../runtime/evm/fastWordOpcodes.ts';

test('word conversions match ethereumjs for every length of value', () => {
  const values = [0n, 1n, 255n, 256n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n, 2n ** 256n - 1n];
  for (let len = 1; len <= 32; len++) for (let k = 0; k < 20; k++) values.push(bytesToBigInt(randomBytes(len)));
  for (const v of values) {
    const expected = setLengthLeft(bigIntToBytes(v), 32);
    assert.equal(bytesToHex(bigIntToWord(v)), bytesToHex(expected), `to word: ${v}`);
    assert.equal(wordToBigInt(expected), v, `from word: ${v}`);
    // A word inside a larger buffer (memory reads are views).
    const padded = new Uint8Array(40);
    padded.set(expected, 5);
    assert.equal(wordToBigInt(padded.subarray(5, 37)), v);
  }
});
