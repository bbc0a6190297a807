import type { Block, BlockHeader } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { Capability, type TypedTransaction } from '@ethereumjs/tx';
import { bigIntToHex, bytesToHex, intToHex } from '@ethereumjs/util';
import { Bloom } from '@ethereumjs/vm';
import type { StoredReceipt } from './codec.ts';

/** JSON-RPC objects are built here, once, in the shapes of the execution-apis schemas. */
type Json = Record<string, unknown>;

export function formatHeader(header: BlockHeader, size: number): Json {
  return {
    number: bigIntToHex(header.number),
    hash: bytesToHex(header.hash()),
    parentHash: bytesToHex(header.parentHash),
    nonce: bytesToHex(header.nonce),
    sha3Uncles: bytesToHex(header.uncleHash),
    logsBloom: bytesToHex(header.logsBloom),
    transactionsRoot: bytesToHex(header.transactionsTrie),
    stateRoot: bytesToHex(header.stateRoot),
    receiptsRoot: bytesToHex(header.receiptTrie),
    miner: header.coinbase.toString(),
    difficulty: '0x0',
    extraData: bytesToHex(header.extraData),
    size: intToHex(size),
    gasLimit: bigIntToHex(header.gasLimit),
    gasUsed: bigIntToHex(header.gasUsed),
    timestamp: bigIntToHex(header.timestamp),
    mixHash: bytesToHex(header.mixHash),
    baseFeePerGas: bigIntToHex(header.baseFeePerGas ?? 0n),
    withdrawalsRoot: bytesToHex(header.withdrawalsRoot!),
    blobGasUsed: bigIntToHex(header.blobGasUsed ?? 0n),
    excessBlobGas: bigIntToHex(header.excessBlobGas ?? 0n),
    parentBeaconBlockRoot: bytesToHex(header.parentBeaconBlockRoot!),
    requestsHash: bytesToHex(header.requestsHash!),
  };
}

export function formatBlock(block: Block, senders: string[], fullTransactions: boolean, size: number): Json {
  const json = formatHeader(block.header, size);
  json.transactions = block.transactions.map((tx, i) =>
    fullTransactions ? formatTransaction(tx, senders[i]!, { block, index: i }) : bytesToHex(tx.hash()),
  );
  json.uncles = [];
  json.withdrawals = [];
  return json;
}

/** What a transaction pays per gas in a block with this base fee. */
export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx) {
    const tip = tx.maxPriorityFeePerGas < tx.maxFeePerGas - baseFee ? tx.maxPriorityFeePerGas : tx.maxFeePerGas - baseFee;
    return baseFee + tip;
  }
  return (tx as { gasPrice: bigint }).gasPrice;
}

export function formatTransaction(
  tx: TypedTransaction,
  from: string,
  where: { block: Block; index: number } | undefined,
): Json {
  const json: Json = {
    type: intToHex(tx.type),
    hash: bytesToHex(tx.hash()),
    nonce: bigIntToHex(tx.nonce),
    blockHash: where ? bytesToHex(where.block.hash()) : null,
    blockNumber: where ? bigIntToHex(where.block.header.number) : null,
    blockTimestamp: where ? bigIntToHex(where.block.header.timestamp) : null,
    transactionIndex: where ? intToHex(where.index) : null,
    from,
    to: tx.to ? tx.to.toString() : null,
    value: bigIntToHex(tx.value),
    gas: bigIntToHex(tx.gasLimit),
    input: bytesToHex(tx.data),
  };
  if ('maxFeePerGas' in tx) {
    json.maxFeePerGas = bigIntToHex(tx.maxFeePerGas);
    json.maxPriorityFeePerGas = bigIntToHex(tx.maxPriorityFeePerGas);
    json.gasPrice = bigIntToHex(
      where ? effectiveGasPrice(tx, where.block.header.baseFeePerGas ?? 0n) : tx.maxFeePerGas,
    );
  } else {
    json.gasPrice = bigIntToHex((tx as { gasPrice: bigint }).gasPrice);
  }
  if (tx.supports(Capability.EIP2930AccessLists)) {
    json.accessList = (tx as unknown as { accessList: [Uint8Array, Uint8Array[]][] }).accessList.map(
      ([address, keys]) => ({ address: bytesToHex(address), storageKeys: keys.map(bytesToHex) }),
    );
  }
  if (tx.type !== 0 || tx.common.chainId() !== undefined) json.chainId = bigIntToHex(tx.common.chainId());
  json.v = bigIntToHex(tx.v!);
  json.r = bigIntToHex(tx.r!);
  json.s = bigIntToHex(tx.s!);
  if (tx.type !== 0) json.yParity = bigIntToHex(tx.v!);
  return json;
}

export function formatLog(
  log: StoredReceiptLog,
  block: Block,
  txHash: string,
  txIndex: number,
  logIndex: number,
): Json {
  return {
    removed: false,
    logIndex: intToHex(logIndex),
    transactionIndex: intToHex(txIndex),
    transactionHash: txHash,
    blockHash: bytesToHex(block.hash()),
    blockNumber: bigIntToHex(block.header.number),
    blockTimestamp: bigIntToHex(block.header.timestamp),
    address: bytesToHex(log[0]),
    data: bytesToHex(log[2]),
    topics: log[1].map(bytesToHex),
  };
}

type StoredReceiptLog = StoredReceipt['logs'][number];

/** Which logs of a block an answer shows, and which count in blooms (the public ones). */
export interface LogView {
  /** Whether the reader sees log `log` of transaction `txIndex`. */
  shows(txIndex: number, log: StoredReceiptLog): boolean;
  /** Whether a log is public: blooms cover only those, whoever reads. */
  isPublic(log: StoredReceiptLog): boolean;
}

/** Every log shown, every log public: a block that touched no contract with a policy. */
export const ALL_LOGS: LogView = { shows: () => true, isPublic: () => true };

/** All receipts of a block as a reader sees them, with log indexes running across the block. */
export function formatReceipts(block: Block, senders: string[], receipts: StoredReceipt[], view: LogView): Json[] {
  let logIndex = 0;
  return receipts.map((r, i) => {
    const json = formatReceipt(block, i, senders[i]!, r, logIndex, view);
    logIndex += r.logs.length;
    return json;
  });
}

/**
 * Receipt `index` of a block as a reader sees it: the logs it may not see are left out
 * (log indexes keep their gaps: they run across the block, and `firstLogIndex` is that
 * of the receipt's first log); its logsBloom covers the public logs only. Formatted
 * for each read: kept with cached blocks, formatted receipts would take several times
 * the memory of the blocks.
 */
export function formatReceipt(block: Block, index: number, sender: string, r: StoredReceipt, firstLogIndex: number, view: LogView): Json {
  const tx = block.transactions[index]!;
  const hash = bytesToHex(tx.hash());
  const logs: Json[] = [];
  r.logs.forEach((log, i) => {
    if (view.shows(index, log)) logs.push(formatLog(log, block, hash, index, firstLogIndex + i));
  });
  return {
    type: intToHex(tx.type),
    transactionHash: hash,
    transactionIndex: intToHex(index),
    blockHash: bytesToHex(block.hash()),
    blockNumber: bigIntToHex(block.header.number),
    from: sender,
    to: tx.to ? tx.to.toString() : null,
    cumulativeGasUsed: bigIntToHex(r.cumulativeGasUsed),
    gasUsed: bigIntToHex(r.gasUsed),
    contractAddress: r.contractAddress ?? null,
    logs,
    logsBloom: bytesToHex(bloomOf(view === ALL_LOGS ? r.logs : r.logs.filter(view.isPublic), block.common)),
    status: intToHex(r.status),
    effectiveGasPrice: bigIntToHex(effectiveGasPrice(tx, block.header.baseFeePerGas ?? 0n)),
  };
}

function bloomOf(logs: StoredReceiptLog[], common: Common): Uint8Array {
  const bloom = new Bloom(undefined, common);
  for (const [address, topics] of logs) {
    bloom.add(address);
    for (const topic of topics) bloom.add(topic);
  }
  return bloom.bitvector;
}
