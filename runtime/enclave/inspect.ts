import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { Address, bigIntMax, bytesToBigInt, bytesToHex, equalsBytes, hexToBytes } from '@ethereumjs/util';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { keccak256 } from '../crypto/ethCrypto.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';

/** What admission needs to know of a signed transaction, found without reading state. */
export interface Inspected {
  hash: string;
  sender: string;
  nonce: bigint;
  gasLimit: bigint;
  /** maxFeePerGas, or gasPrice for type 0 and 1. */
  maxFee: bigint;
  /** maxPriorityFeePerGas, or gasPrice for type 0 and 1. */
  tip: bigint;
  value: bigint;
  /** The sender's public key and the raw transaction, sealed for the ordering log. */
  envelope: Uint8Array;
  /** Sealed as the replacement of a pending transaction of the same sender and nonce. */
  replaces?: true;
}

/**
 * The stateless half of admission: type, chain id, decoding, signature, intrinsic gas
 * and fee sanity, with geth's messages; then seals the transaction with its sender's
 * public key so execution never recovers the signature again. Runs on the enclave's
 * admission thread.
 */
export function inspectTransaction(
  raw: Uint8Array,
  common: Common,
  envelopeKey: Uint8Array,
  impersonated?: string,
  replaces = false,
): Inspected {
  const type = raw[0]! <= 0x7f ? raw[0]! : 0;
  if (type === 3 || type === 4) {
    throw invalidInput(
      `transaction type not supported: type ${type} (${type === 3 ? 'blob' : 'set-code'}) transactions are not accepted; use type 0, 1 or 2`,
    );
  }
  if (type > 4) throw invalidInput(`transaction type not supported: type ${type}`);
  // Checked before decoding: ethereumjs rejects a foreign chain id with an unreadable message.
  const signedFor = signedChainId(raw, type);
  if (signedFor !== undefined && signedFor !== common.chainId()) {
    throw invalidInput(`invalid chain id for signer: have ${signedFor} want ${common.chainId()}`);
  }
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(raw, { common });
  } catch (err) {
    throw invalidInput(`invalid transaction: ${firstLine(err)}`);
  }
  if (!tx.isSigned()) throw invalidInput('invalid sender: transaction is not signed');
  // Execution takes the bytes as the transaction's encoding (its hash, the block body),
  // so they must be exactly what the decoded transaction encodes to.
  if (!equalsBytes(tx.serialize(), raw)) throw invalidInput('invalid transaction: not in canonical RLP encoding');
  let publicKey: Uint8Array | undefined;
  if (impersonated === undefined) {
    try {
      publicKey = tx.getSenderPublicKey();
    } catch {
      throw invalidInput('invalid sender');
    }
  }
  const sender = publicKey ? addressOf(publicKey) : impersonated!;
  const intrinsic = bigIntMax(tx.getIntrinsicGas(), calldataFloorGas(tx.data));
  if (tx.gasLimit < intrinsic) throw invalidInput(`intrinsic gas too low: have ${tx.gasLimit}, want ${intrinsic}`);
  let maxFee: bigint;
  let tip: bigint;
  if ('maxFeePerGas' in tx) {
    if (tx.maxPriorityFeePerGas > tx.maxFeePerGas) {
      throw invalidInput(
        `max priority fee per gas higher than max fee per gas: address ${sender}, maxPriorityFeePerGas: ${tx.maxPriorityFeePerGas}, maxFeePerGas: ${tx.maxFeePerGas}`,
      );
    }
    maxFee = tx.maxFeePerGas;
    tip = tx.maxPriorityFeePerGas;
  } else {
    maxFee = tip = (tx as { gasPrice: bigint }).gasPrice;
  }
  return {
    hash: bytesToHex(keccak256(raw)), // raw is the canonical encoding (checked above)
    sender,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    maxFee,
    tip,
    value: tx.value,
    envelope: publicKey
      ? seal(envelopeKey, SIGNED | (replaces ? REPLACES : 0), publicKey, raw)
      : seal(envelopeKey, IMPERSONATED | (replaces ? REPLACES : 0), hexToBytes(sender as `0x${string}`), raw),
    ...(replaces ? { replaces: true as const } : {}),
  };
}

/** An envelope opened: the transaction, ready to execute, and its sender. */
export function openEnvelope(
  envelope: Uint8Array,
  common: Common,
  envelopeKey: Uint8Array,
): { tx: TypedTransaction; sender: string; hash: string; raw: Uint8Array } {
  return decodeEnvelope(unsealEnvelope(envelope, envelopeKey), common);
}

/**
 * Authenticates and decrypts an envelope from the ordering log: the sender's public
 * key followed by the raw transaction. Throws if the log entry was not sealed here.
 */
export function unsealEnvelope(envelope: Uint8Array, envelopeKey: Uint8Array): Uint8Array {
  try {
    const decipher = createDecipheriv('aes-256-gcm', envelopeKey, envelope.subarray(0, 12));
    decipher.setAuthTag(envelope.subarray(envelope.length - 16));
    return Buffer.concat([decipher.update(envelope.subarray(12, envelope.length - 16)), decipher.final()]);
  } catch {
    throw new EnclaveFailure('invalidInput', 'ordering log entry failed authentication');
  }
}

/** Decodes an unsealed envelope into the transaction, ready to execute, and its sender. */
export function decodeEnvelope(
  plain: Uint8Array,
  common: Common,
): { tx: TypedTransaction; sender: string; hash: string; raw: Uint8Array; impersonated?: true } {
  const impersonated = (plain[0]! & ~REPLACES) === IMPERSONATED;
  const from = plain.subarray(1, impersonated ? 21 : 65);
  const raw = plain.subarray(impersonated ? 21 : 65);
  // Frozen only once the sender's address is given (ethereumjs derives it from the key,
  // a keccak, each of the several times runTx asks): ethereumjs caches the hash of a
  // frozen transaction only, and recomputes it on every call otherwise.
  const tx = createTxFromRLP(raw, { common, freeze: false });
  // ethereumjs's own slots for the recovered key and the hash; admission checked that
  // `raw` is the canonical encoding.
  if (!impersonated) tx.cache.senderPubKey = from;
  tx.cache.hash = keccak256(raw);
  const senderBytes = impersonated ? from : keccak256(from).subarray(12);
  const senderAddress = new Address(senderBytes);
  tx.getSenderAddress = () => senderAddress;
  Object.freeze(tx);
  const decoded = { tx, sender: bytesToHex(senderBytes), hash: bytesToHex(tx.cache.hash), raw };
  return impersonated ? { ...decoded, impersonated: true } : decoded;
}

/**
 * An envelope's first byte: a signed transaction (the sender's public key follows) or an
 * impersonated one (its address); with REPLACES, it replaces the transaction of the same
 * sender and nonce that waits on the log.
 */
const SIGNED = 0;
const IMPERSONATED = 1;
const REPLACES = 0x80;

/** Whether an unsealed envelope replaces a transaction that waits on the log. */
export function isReplacement(plain: Uint8Array): boolean {
  return (plain[0]! & REPLACES) !== 0;
}

function seal(key: Uint8Array, kind: number, from: Uint8Array, raw: Uint8Array): Uint8Array {
  // A random 96-bit IV per envelope under a key used for one run: far below the
  // 2^32 messages at which random IVs risk a repeat.
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = cipher.update(Buffer.concat([Uint8Array.of(kind), from, raw]));
  cipher.final();
  return new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()]));
}

/** EIP-7623 (Prague): a transaction pays at least 10 gas per calldata token. */
function calldataFloorGas(data: Uint8Array): bigint {
  let tokens = 0n;
  for (const byte of data) tokens += byte === 0 ? 1n : 4n;
  return 21_000n + 10n * tokens;
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
