import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt, bytesToHex } from '@ethereumjs/util';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Chain, QueuedTx } from '../chain/Chain.ts';
import { keccak256 } from '../crypto/ethCrypto.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';

/**
 * Admission of signed transactions (the checks geth's pool makes, with its messages,
 * which ethers and viem map to their own error types) and the sealed envelopes in
 * which transactions travel through the untrusted ordering log.
 */
export class TxPool {
  /** Submitted here and not yet in a block, by hash. */
  readonly pending = new Map<string, QueuedTx>();
  private readonly bySender = new Map<string, Map<bigint, string>>();
  /**
   * The embedded ordering log lives in host memory for one run only, so envelopes are
   * sealed under a key that lives exactly as long; a network log would use a key
   * derived from the ledger secret that every member enclave holds.
   */
  private readonly envelopeKey = randomBytes(32);

  constructor(
    private readonly chain: Chain,
    private readonly common: Common,
  ) {}

  /**
   * Validates a raw signed transaction against the head state and seals it for the
   * log. `recovered` is the sender's public key if the recovery thread found it.
   */
  admit(raw: Uint8Array, recovered?: Uint8Array): { hash: string; envelope: Uint8Array } {
    const type = raw[0]! <= 0x7f ? raw[0]! : 0;
    if (type === 3 || type === 4) {
      throw invalidInput(
        `transaction type not supported: type ${type} (${type === 3 ? 'blob' : 'set-code'}) transactions are not accepted; use type 0, 1 or 2`,
      );
    }
    if (type > 4) throw invalidInput(`transaction type not supported: type ${type}`);
    // Checked before decoding: ethereumjs rejects a foreign chain id with an unreadable message.
    const signedFor = signedChainId(raw, type);
    if (signedFor !== undefined && signedFor !== this.common.chainId()) {
      throw invalidInput(`invalid chain id for signer: have ${signedFor} want ${this.common.chainId()}`);
    }
    let tx: TypedTransaction;
    try {
      tx = createTxFromRLP(raw, { common: this.common });
    } catch (err) {
      throw invalidInput(`invalid transaction: ${firstLine(err)}`);
    }
    const hash = bytesToHex(tx.hash());
    if (this.pending.has(hash) || this.chain.ledger.seqOfTx(tx.hash()) !== undefined) throw invalidInput('already known');
    if (!tx.isSigned()) throw invalidInput('invalid sender: transaction is not signed');
    let publicKey: Uint8Array;
    if (recovered) {
      publicKey = recovered;
      // ethereumjs's own slot for a recovered key (the tx object is frozen, its cache is not).
      tx.cache.senderPubKey = recovered;
    } else {
      try {
        publicKey = tx.getSenderPublicKey();
      } catch {
        throw invalidInput('invalid sender');
      }
    }
    const sender = addressOf(publicKey);
    this.validate(tx, sender);
    this.add({ tx, sender, hash });
    return { hash, envelope: this.seal(publicKey, raw) };
  }

  private validate(tx: TypedTransaction, sender: string): void {
    const account = this.chain.world.account(sender);
    const nonce = account?.nonce ?? 0n;
    if (tx.nonce < nonce) throw invalidInput(`nonce too low: next nonce ${nonce}, tx nonce ${tx.nonce}`);
    if (this.bySender.get(sender)?.has(tx.nonce)) {
      throw invalidInput(
        `replacement transaction underpriced: nonce ${tx.nonce} of ${sender} is taken by a pending transaction (transactions are ordered on arrival and not replaced)`,
      );
    }
    if (tx.gasLimit > this.chain.blockGasLimit) throw invalidInput('exceeds block gas limit');
    const intrinsic = bigMax(tx.getIntrinsicGas(), calldataFloorGas(tx.data));
    if (tx.gasLimit < intrinsic) throw invalidInput(`intrinsic gas too low: have ${tx.gasLimit}, want ${intrinsic}`);
    const baseFee = this.chain.head.header.calcNextBaseFee();
    let maxFee: bigint;
    if ('maxFeePerGas' in tx) {
      if (tx.maxPriorityFeePerGas > tx.maxFeePerGas) {
        throw invalidInput(
          `max priority fee per gas higher than max fee per gas: address ${sender}, maxPriorityFeePerGas: ${tx.maxPriorityFeePerGas}, maxFeePerGas: ${tx.maxFeePerGas}`,
        );
      }
      maxFee = tx.maxFeePerGas;
    } else {
      maxFee = (tx as { gasPrice: bigint }).gasPrice;
    }
    if (maxFee < baseFee) {
      throw invalidInput(`max fee per gas less than block base fee: address ${sender}, maxFeePerGas: ${maxFee}, baseFee: ${baseFee}`);
    }
    const cost = tx.gasLimit * maxFee + tx.value;
    const balance = account?.balance ?? 0n;
    if (balance < cost) {
      throw invalidInput(`insufficient funds for gas * price + value: address ${sender} have ${balance} want ${cost}`);
    }
  }

  /** The next nonce for a sender, counting transactions waiting here. */
  nextNonce(sender: string): bigint {
    let nonce = this.chain.world.account(sender)?.nonce ?? 0n;
    const mine = this.bySender.get(sender);
    while (mine?.has(nonce)) nonce++;
    return nonce;
  }

  private add(item: QueuedTx): void {
    this.pending.set(item.hash, item);
    let mine = this.bySender.get(item.sender);
    if (!mine) this.bySender.set(item.sender, (mine = new Map()));
    mine.set(item.tx.nonce, item.hash);
  }

  /** Forgets transactions that made it into a block or can no longer be included. */
  settle(): void {
    for (const hash of this.chain.dropped.splice(0)) this.forget(hash);
    for (const [hash, item] of this.pending) {
      const nonce = this.chain.world.account(item.sender)?.nonce ?? 0n;
      if (item.tx.nonce < nonce) this.forget(hash);
    }
  }

  private forget(hash: string): void {
    const item = this.pending.get(hash);
    if (!item) return;
    this.pending.delete(hash);
    const mine = this.bySender.get(item.sender);
    if (mine?.get(item.tx.nonce) === hash) mine.delete(item.tx.nonce);
    if (mine?.size === 0) this.bySender.delete(item.sender);
  }

  /**
   * Opens an envelope from the ordering log into an executable transaction. The
   * envelope carries the sender's public key, recovered at admission, so execution
   * never recovers a signature again.
   */
  open(envelope: Uint8Array): QueuedTx {
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.envelopeKey, envelope.subarray(0, 12));
      decipher.setAuthTag(envelope.subarray(envelope.length - 16));
      plain = Buffer.concat([decipher.update(envelope.subarray(12, envelope.length - 16)), decipher.final()]);
    } catch {
      throw new EnclaveFailure('invalidInput', 'ordering log entry failed authentication');
    }
    const publicKey = plain.subarray(0, 64);
    const raw = plain.subarray(64);
    const pooled = this.pending.get(bytesToHex(keccak256(raw)));
    if (pooled) return pooled;
    const tx = createTxFromRLP(raw, { common: this.common });
    tx.cache.senderPubKey = publicKey;
    return { tx, sender: addressOf(publicKey), hash: bytesToHex(tx.hash()) };
  }

  private seal(publicKey: Uint8Array, raw: Uint8Array): Uint8Array {
    // A random 96-bit IV per envelope under a key used for one run: far below the
    // 2^32 messages at which random IVs risk a repeat.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.envelopeKey, iv);
    const body = cipher.update(Buffer.concat([publicKey, raw]));
    cipher.final();
    return new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()]));
  }
}

/** EIP-7623 (Prague): a transaction pays at least 10 gas per calldata token. */
function calldataFloorGas(data: Uint8Array): bigint {
  let tokens = 0n;
  for (const byte of data) tokens += byte === 0 ? 1n : 4n;
  return 21_000n + 10n * tokens;
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * The chain id a signed transaction commits to: the first field of a typed transaction,
 * or EIP-155's v = chainId * 2 + 35|36 of a legacy one. Undefined for a legacy
 * transaction without replay protection, or bytes that do not decode.
 */
function signedChainId(raw: Uint8Array, type: number): bigint | undefined {
  try {
    const fields = RLP.decode(type === 0 ? raw : raw.subarray(1));
    if (!Array.isArray(fields)) return undefined;
    const field = type === 0 ? fields[6] : fields[0];
    if (!(field instanceof Uint8Array)) return undefined;
    const n = bytesToBigInt(field);
    if (type !== 0) return n;
    return n >= 35n ? (n - 35n) / 2n : undefined;
  } catch {
    return undefined;
  }
}

/** The address of an uncompressed public key (64 bytes, no prefix). */
function addressOf(publicKey: Uint8Array): string {
  return bytesToHex(keccak256(publicKey).subarray(12));
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
}
