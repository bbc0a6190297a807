import { getBytes, HDNodeWallet, hexlify, Mnemonic, Signature, toBeHex, Transaction, TypedDataEncoder, type TypedDataField } from 'ethers';
import secp256k1 from 'secp256k1/bindings.js';
import { invalidInput, invalidParams } from '../enclave/EnclaveFailure.ts';

/**
 * Dev-network accounts derived from a public mnemonic (the standard test mnemonic by
 * default, as Anvil and Hardhat use). Their keys never leave the enclave; the host can
 * only ask for signatures.
 */
export class DevAccounts {
  private readonly wallets = new Map<string, HDNodeWallet>();
  readonly addresses: string[] = [];

  constructor(phrase: string, count: number) {
    const mnemonic = Mnemonic.fromPhrase(phrase);
    for (let i = 0; i < count; i++) {
      const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
      const address = wallet.address.toLowerCase();
      this.wallets.set(address, wallet);
      this.addresses.push(address);
    }
  }

  /** Throws the "unknown account" error unless this node holds the account's key. */
  requireKey(address: string): void {
    this.wallet(address);
  }

  private wallet(address: string): HDNodeWallet {
    const wallet = this.wallets.get(address.toLowerCase());
    if (!wallet) throw invalidInput(`unknown account ${address}: this node holds keys only for its dev accounts`);
    return wallet;
  }

  /**
   * Signs a transaction given as ethers TransactionLike fields; returns the raw bytes.
   * The signature is libsecp256k1's (RFC 6979 nonce, low s: the same bytes ethers'
   * signing key makes) at a small part of the JS signer's cost.
   */
  signTransaction(address: string, fields: Parameters<typeof Transaction.from>[0]): Uint8Array {
    const wallet = this.wallet(address);
    const tx = Transaction.from(fields);
    const { signature, recid } = secp256k1.ecdsaSign(getBytes(tx.unsignedHash), getBytes(wallet.privateKey));
    tx.signature = Signature.from({ r: hexlify(signature.subarray(0, 32)), s: hexlify(signature.subarray(32)), v: 27 + recid });
    return Uint8Array.from(Buffer.from(tx.serialized.slice(2), 'hex'));
  }

  /**
   * A transaction from an impersonated sender, with a placeholder signature (r derived
   * from the sender, so two senders' otherwise equal transactions differ in hash, as
   * Hardhat does); execution takes the sender from its envelope, never from this.
   */
  static impersonatedTransaction(address: string, fields: Parameters<typeof Transaction.from>[0]): Uint8Array {
    const tx = Transaction.from(fields);
    tx.signature = Signature.from({ r: toBeHex(BigInt(address) + 1n, 32), s: toBeHex(1n, 32), v: 27 });
    return Uint8Array.from(Buffer.from(tx.serialized.slice(2), 'hex'));
  }

  /** EIP-191 personal message signature (eth_sign and personal_sign). */
  signMessage(address: string, message: Uint8Array): string {
    return this.wallet(address).signMessageSync(message);
  }

  /** EIP-712 signature (eth_signTypedData_v4). */
  signTypedData(address: string, typedData: unknown): string {
    const wallet = this.wallet(address);
    const data = typeof typedData === 'string' ? parseJson(typedData) : typedData;
    if (!data || typeof data !== 'object') throw invalidParams('invalid argument 1: typed data object expected');
    const { domain, types, message } = data as {
      domain?: Record<string, unknown>;
      types?: Record<string, TypedDataField[]>;
      message?: Record<string, unknown>;
    };
    if (!domain || !types || !message) throw invalidParams('invalid argument 1: typed data needs domain, types and message');
    const { EIP712Domain: _domainType, ...rest } = types;
    try {
      return wallet.signingKey.sign(TypedDataEncoder.hash(domain, rest, message)).serialized;
    } catch (err) {
      // ethers explains a malformed structure in its shortMessage; anything else (a type
      // error deep in the encoder) says nothing useful and is not ours to show.
      const why = (err as { shortMessage?: unknown }).shortMessage;
      throw invalidParams(`invalid argument 1: ${typeof why === 'string' ? why : 'typed data does not match its types'}`);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidParams('invalid argument 1: typed data is not valid JSON');
  }
}
