/**
 * Dev accounts sign transactions with libsecp256k1: the bytes equal those ethers' own
 * signer makes (RFC 6979 nonces, low s), for every transaction type the node sends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HDNodeWallet, Mnemonic, Transaction } from 'ethers';
import fc from 'fast-check';
import { DevAccounts } from '../../runtime/chain/devAccounts.ts';

const PHRASE = 'test test test test test test test test test test test junk';

test('signTransaction makes the bytes ethers signs, and the sender recovers', () => {
  const accounts = new DevAccounts(PHRASE, 3);
  const wallets = [0, 1, 2].map((i) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(PHRASE), `m/44'/60'/0'/0/${i}`));
  const fields = fc.record({
    account: fc.integer({ min: 0, max: 2 }),
    type: fc.constantFrom(0, 1, 2),
    nonce: fc.nat(),
    value: fc.bigInt(0n, 2n ** 96n),
    data: fc.uint8Array({ maxLength: 64 }),
    gasLimit: fc.bigInt(21_000n, 30_000_000n),
    fee: fc.bigInt(1n, 2n ** 40n),
  });
  fc.assert(
    fc.property(fields, ({ account, type, nonce, value, data, gasLimit, fee }) => {
      const tx = {
        type,
        chainId: 31337n,
        nonce,
        to: '0x' + '5a'.repeat(20),
        value,
        data: '0x' + Buffer.from(data).toString('hex'),
        gasLimit,
        ...(type === 2 ? { maxFeePerGas: fee * 2n, maxPriorityFeePerGas: fee } : { gasPrice: fee }),
        ...(type === 1 ? { accessList: [] } : {}),
      };
      const ours = accounts.signTransaction(accounts.addresses[account]!, tx);
      const theirs = Transaction.from(tx);
      theirs.signature = wallets[account]!.signingKey.sign(theirs.unsignedHash);
      assert.equal('0x' + Buffer.from(ours).toString('hex'), theirs.serialized);
      assert.equal(Transaction.from('0x' + Buffer.from(ours).toString('hex')).from?.toLowerCase(), accounts.addresses[account]);
    }),
    { numRuns: 60 },
  );
});
