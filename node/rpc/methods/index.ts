import type { MethodTable } from '../types.ts';
import type { Services } from '../services.ts';
import { anvil_dropTransaction } from './anvil_dropTransaction.ts';
import { anvil_getAutomine } from './anvil_getAutomine.ts';
import { anvil_impersonateAccount } from './anvil_impersonateAccount.ts';
import { anvil_mine } from './anvil_mine.ts';
import { anvil_nodeInfo } from './anvil_nodeInfo.ts';
import { anvil_setAutomine } from './anvil_setAutomine.ts';
import { anvil_setBalance } from './anvil_setBalance.ts';
import { anvil_setCode } from './anvil_setCode.ts';
import { anvil_setIntervalMining } from './anvil_setIntervalMining.ts';
import { anvil_setNextBlockBaseFeePerGas } from './anvil_setNextBlockBaseFeePerGas.ts';
import { anvil_setNonce } from './anvil_setNonce.ts';
import { anvil_setStorageAt } from './anvil_setStorageAt.ts';
import { anvil_stopImpersonatingAccount } from './anvil_stopImpersonatingAccount.ts';
import { conclave_getPolicy } from './conclave_getPolicy.ts';
import { conclave_login } from './conclave_login.ts';
import { conclave_logout } from './conclave_logout.ts';
import { conclave_nonce } from './conclave_nonce.ts';
import { eth_accounts } from './eth_accounts.ts';
import { eth_blockNumber } from './eth_blockNumber.ts';
import { eth_call } from './eth_call.ts';
import { eth_chainId } from './eth_chainId.ts';
import { eth_coinbase } from './eth_coinbase.ts';
import { eth_estimateGas } from './eth_estimateGas.ts';
import { eth_feeHistory } from './eth_feeHistory.ts';
import { eth_gasPrice } from './eth_gasPrice.ts';
import { eth_getBalance } from './eth_getBalance.ts';
import { eth_getBlockByHash } from './eth_getBlockByHash.ts';
import { eth_getBlockByNumber } from './eth_getBlockByNumber.ts';
import { eth_getBlockReceipts } from './eth_getBlockReceipts.ts';
import { eth_getBlockTransactionCountByHash } from './eth_getBlockTransactionCountByHash.ts';
import { eth_getBlockTransactionCountByNumber } from './eth_getBlockTransactionCountByNumber.ts';
import { eth_getCode } from './eth_getCode.ts';
import { eth_getFilterChanges } from './eth_getFilterChanges.ts';
import { eth_getFilterLogs } from './eth_getFilterLogs.ts';
import { eth_getLogs } from './eth_getLogs.ts';
import { eth_getStorageAt } from './eth_getStorageAt.ts';
import { eth_getTransactionByBlockHashAndIndex } from './eth_getTransactionByBlockHashAndIndex.ts';
import { eth_getTransactionByBlockNumberAndIndex } from './eth_getTransactionByBlockNumberAndIndex.ts';
import { eth_getTransactionByHash } from './eth_getTransactionByHash.ts';
import { eth_getTransactionCount } from './eth_getTransactionCount.ts';
import { eth_getTransactionReceipt } from './eth_getTransactionReceipt.ts';
import { eth_maxPriorityFeePerGas } from './eth_maxPriorityFeePerGas.ts';
import { eth_mining } from './eth_mining.ts';
import { eth_newBlockFilter } from './eth_newBlockFilter.ts';
import { eth_newFilter } from './eth_newFilter.ts';
import { eth_newPendingTransactionFilter } from './eth_newPendingTransactionFilter.ts';
import { eth_sendRawTransaction } from './eth_sendRawTransaction.ts';
import { eth_sendTransaction } from './eth_sendTransaction.ts';
import { eth_sign } from './eth_sign.ts';
import { eth_signTypedData_v4 } from './eth_signTypedData_v4.ts';
import { eth_subscribe } from './eth_subscribe.ts';
import { eth_syncing } from './eth_syncing.ts';
import { eth_uninstallFilter } from './eth_uninstallFilter.ts';
import { eth_unsubscribe } from './eth_unsubscribe.ts';
import { evm_increaseTime } from './evm_increaseTime.ts';
import { evm_mine } from './evm_mine.ts';
import { evm_revert } from './evm_revert.ts';
import { evm_setAutomine } from './evm_setAutomine.ts';
import { evm_setIntervalMining } from './evm_setIntervalMining.ts';
import { evm_setNextBlockTimestamp } from './evm_setNextBlockTimestamp.ts';
import { evm_snapshot } from './evm_snapshot.ts';
import { hardhat_dropTransaction } from './hardhat_dropTransaction.ts';
import { hardhat_getAutomine } from './hardhat_getAutomine.ts';
import { hardhat_impersonateAccount } from './hardhat_impersonateAccount.ts';
import { hardhat_metadata } from './hardhat_metadata.ts';
import { hardhat_mine } from './hardhat_mine.ts';
import { hardhat_setBalance } from './hardhat_setBalance.ts';
import { hardhat_setCode } from './hardhat_setCode.ts';
import { hardhat_setNextBlockBaseFeePerGas } from './hardhat_setNextBlockBaseFeePerGas.ts';
import { hardhat_setNonce } from './hardhat_setNonce.ts';
import { hardhat_setStorageAt } from './hardhat_setStorageAt.ts';
import { hardhat_stopImpersonatingAccount } from './hardhat_stopImpersonatingAccount.ts';
import { net_listening } from './net_listening.ts';
import { net_peerCount } from './net_peerCount.ts';
import { net_version } from './net_version.ts';
import { personal_sign } from './personal_sign.ts';
import { web3_clientVersion } from './web3_clientVersion.ts';
import { web3_sha3 } from './web3_sha3.ts';

/**
 * Every JSON-RPC method the node knows, with its status: supported, gated by policy,
 * or unsupported (answered -32004 with the reason), and what its answer may disclose
 * (public by rule, decided per caller in the enclave, the caller's own, or nothing).
 * One table, one file per method.
 */
export const methods: MethodTable<Services> = {
  eth_blobBaseFee: { status: 'unsupported', disclosure: 'none', description: 'blob transactions are not accepted' },
  eth_createAccessList: { status: 'unsupported', disclosure: 'none', description: 'not offered yet' },
  eth_getProof: { status: 'unsupported', disclosure: 'none', description: 'state proofs are not offered yet' },
  eth_getUncleByBlockHashAndIndex: { status: 'unsupported', disclosure: 'none', description: 'no uncles after the merge' },
  eth_getUncleByBlockNumberAndIndex: { status: 'unsupported', disclosure: 'none', description: 'no uncles after the merge' },
  eth_signTransaction: { status: 'unsupported', disclosure: 'none', usesNodeKeys: true, description: 'not offered; use eth_sendTransaction' },
  eth_simulateV1: { status: 'unsupported', disclosure: 'none', description: 'not offered yet' },
  anvil_dropTransaction,
  anvil_getAutomine,
  anvil_impersonateAccount,
  anvil_mine,
  anvil_nodeInfo,
  anvil_setAutomine,
  anvil_setBalance,
  anvil_setCode,
  anvil_setIntervalMining,
  anvil_setNextBlockBaseFeePerGas,
  anvil_setNonce,
  anvil_setStorageAt,
  anvil_stopImpersonatingAccount,
  conclave_getPolicy,
  conclave_login,
  conclave_logout,
  conclave_nonce,
  eth_accounts,
  eth_blockNumber,
  eth_call,
  eth_chainId,
  eth_coinbase,
  eth_estimateGas,
  eth_feeHistory,
  eth_gasPrice,
  eth_getBalance,
  eth_getBlockByHash,
  eth_getBlockByNumber,
  eth_getBlockReceipts,
  eth_getBlockTransactionCountByHash,
  eth_getBlockTransactionCountByNumber,
  eth_getCode,
  eth_getFilterChanges,
  eth_getFilterLogs,
  eth_getLogs,
  eth_getStorageAt,
  eth_getTransactionByBlockHashAndIndex,
  eth_getTransactionByBlockNumberAndIndex,
  eth_getTransactionByHash,
  eth_getTransactionCount,
  eth_getTransactionReceipt,
  eth_maxPriorityFeePerGas,
  eth_mining,
  eth_newBlockFilter,
  eth_newFilter,
  eth_newPendingTransactionFilter,
  eth_sendRawTransaction,
  eth_sendTransaction,
  eth_sign,
  eth_signTypedData_v4,
  eth_subscribe,
  eth_syncing,
  eth_uninstallFilter,
  eth_unsubscribe,
  evm_increaseTime,
  evm_mine,
  evm_revert,
  evm_setAutomine,
  evm_setIntervalMining,
  evm_setNextBlockTimestamp,
  evm_snapshot,
  hardhat_dropTransaction,
  hardhat_getAutomine,
  hardhat_impersonateAccount,
  hardhat_metadata,
  hardhat_mine,
  hardhat_setBalance,
  hardhat_setCode,
  hardhat_setNextBlockBaseFeePerGas,
  hardhat_setNonce,
  hardhat_setStorageAt,
  hardhat_stopImpersonatingAccount,
  net_listening,
  net_peerCount,
  net_version,
  personal_sign,
  web3_clientVersion,
  web3_sha3,
};
