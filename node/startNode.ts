import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_ENCLAVE_LIMITS, type EnclaveLimits } from '../runtime/boundary/limits.ts';
import type { InitResult, NetworkGenesis } from '../runtime/boundary/messages.ts';
import { startEnclave } from '../runtime/boundary/startEnclave.ts';
import { EmbeddedLog } from './ordering/EmbeddedLog.ts';
import type { OrderingLog } from './ordering/OrderingLog.ts';
import { methods } from './rpc/methods/index.ts';
import { startRpcServer, type RpcTransportOptions } from './rpc/server.ts';
import type { Services } from './rpc/services.ts';
import { Subscriptions } from './rpc/subscriptions.ts';
import type { Logger } from './rpc/types.ts';
import { Sequencer } from './Sequencer.ts';
import { NodeMetrics } from './metrics.ts';

/** The standard test mnemonic of Anvil and Hardhat: its keys are public. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_CHAIN_ID = 31337n;
/** As Anvil and Hardhat. Blocks are filled to half of it (the EIP-1559 target). */
export const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;

export interface NodeOptions {
  host: string;
  port: number;
  dataDir: string;
  chainId: bigint;
  /** 0: a block as soon as transactions wait; N: a block every N ms. */
  blockTime: number;
  /**
   * Answer a send once the transaction is admitted, not once its block is durable
   * (Hardhat's semantics, the dev network's default while automine is on): for throughput.
   */
  sendReturnsAtAdmission?: boolean;
  reset: boolean;
  devAccounts?: number;
  devBalance?: bigint;
  blockGasLimit?: bigint;
  /** Budgets the enclave enforces; unset ones take their defaults. */
  limits?: Partial<EnclaveLimits>;
  /** Limits and browser policy of the JSON-RPC transport; unset ones take their defaults. */
  rpc?: RpcTransportOptions;
  /** Sign-In with Ethereum domains served besides the Host a login arrives at. */
  sessionDomains?: string[];
  /** A consortium network's genesis (from `--genesis FILE`); absent: the open dev network. */
  network?: NetworkGenesis;
  /** What web3_clientVersion answers; absent: defaultClientVersion. */
  clientVersion?: string;
  /** The ordering log (default: the embedded single-node log). */
  orderingLog?: OrderingLog;
  log?: Logger;
}

export interface RunningNode {
  url: string;
  wsUrl: string;
  port: number;
  chainId: bigint;
  accounts: string[];
  head: bigint;
  recoveredFrom: InitResult['recoveredFrom'];
  close(): Promise<void>;
  /**
   * Settles with the reason if the node stops by itself (a block that could not be made
   * durable, the enclave gone), once it has closed; never if it is closed.
   */
  failed: Promise<Error>;
}

/** Drift between the log's clock and this host's at a cut above which the node warns (geth allows blocks 15 s ahead). */
const MAX_CUT_DRIFT_MS = 15_000;

/** Bytes of the ledger database and its write-ahead log in `dataDir`. */
function ledgerBytes(dataDir: string): number {
  let bytes = 0;
  for (const name of ['conclave.db', 'conclave.db-wal']) {
    try {
      bytes += statSync(path.join(dataDir, name)).size;
    } catch {
      // not there (yet)
    }
  }
  return bytes;
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
export const VERSION = pkg.version;

/**
 * The Anvil release whose dev methods the dev network answers. Test tooling recognises a
 * dev node by the start of web3_clientVersion (hardhat-network-helpers: `hardhatnetwork`,
 * `anvil` or `zksync`, case-insensitive) and some parse Anvil's `anvil/v<semver>`.
 */
const ANVIL_COMPATIBLE = 'anvil/v1.0.0';

/**
 * web3_clientVersion by default. The dev network leads with Anvil's form, so Hardhat's
 * network helpers (loadFixture, time, mine) accept it, and names Conclave after it; a
 * consortium network names Conclave only: it has no dev methods.
 */
export function defaultClientVersion(devNetwork: boolean): string {
  const conclave = `Conclave/v${VERSION}/${process.platform}-${process.arch}/node${process.versions.node}`;
  return devNetwork ? `${ANVIL_COMPATIBLE} (${conclave})` : conclave;
}

/**
 * Starts a node: the enclave worker, the ordering log and sequencer, the JSON-RPC server.
 * The enclave locates its platform secret from the environment as it is when this is
 * called (`CONCLAVE_PLATFORM_SECRET_FILE`); the worker starts before the first await.
 */
export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const enclave = startEnclave();
  let init: InitResult;
  try {
    init = await enclave.request({
      type: 'init',
      config: {
        dataDir: opts.dataDir,
        chainId: opts.chainId,
        reset: opts.reset,
        devMnemonic: DEV_MNEMONIC,
        // A consortium network has no dev accounts: its identities hold their own keys.
        devAccounts: opts.network ? 0 : (opts.devAccounts ?? 10),
        devBalance: opts.devBalance ?? 10_000n * 10n ** 18n,
        // Pinned at genesis: given only when asked for, so a restart keeps the chain's own.
        ...(opts.blockGasLimit !== undefined ? { blockGasLimit: opts.blockGasLimit } : {}),
        limits: { ...DEFAULT_ENCLAVE_LIMITS, ...opts.limits },
        ...(opts.network ? { network: opts.network } : {}),
        ...(opts.sessionDomains?.length ? { sessionDomains: opts.sessionDomains } : {}),
      },
    });
  } catch (err) {
    await enclave.terminate();
    throw err;
  }
  const log = opts.log;
  let closing: Promise<void> | undefined;
  const metrics = new NodeMetrics();
  metrics.startHead(init.head);
  // Ready from here (enclave initialised, ledger loaded) until the node stops or the enclave exits.
  let ready = true;
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = (err) => void close().finally(() => resolve(err))));
  enclave.onExit((exitCode) => {
    ready = false;
    if (closing !== undefined) return;
    log?.('error', 'enclave stopped', { exitCode });
    fail(new Error(`the enclave stopped (exit code ${exitCode})`));
  });
  const sequencer = new Sequencer(
    opts.orderingLog ?? new EmbeddedLog(),
    enclave,
    opts.blockTime,
    (err) => {
      log?.('error', 'block production stopped, node closing', { error: err.message });
      fail(err);
    },
    (position, reason) => {
      metrics.skipped();
      log?.('warn', 'ordering log entry skipped', { position, reason, skippedSinceStart: sequencer.skipped });
    },
  );
  sequencer.onAnnounced = (count, head) => metrics.announced(count, head);
  let driftWarned = 0;
  sequencer.onCutDrift = (driftMs) => {
    metrics.cutDrift(driftMs);
    // A log whose clock runs far from this host's moves chain time: say so, once a minute.
    if (Math.abs(driftMs) > MAX_CUT_DRIFT_MS && Date.now() - driftWarned > 60_000) {
      driftWarned = Date.now();
      log?.('warn', "the ordering log's clock is far from this host's", { driftMs });
    }
  };
  const services: Services = {
    enclave,
    chainId: init.chainId,
    clientVersion: opts.clientVersion ?? defaultClientVersion(opts.network === undefined),
    order: (admitted) => sequencer.submit(admitted),
    subscriptions: new Subscriptions(enclave),
    devNetwork: opts.network === undefined,
    dev: (op) => sequencer.dev(op),
    mining: {
      get automine() {
        return sequencer.automining;
      },
      setAutomine: (on) => sequencer.setAutomine(on),
      setIntervalMining: (ms) => sequencer.setIntervalMining(ms),
    },
    instanceId: '0x' + randomBytes(32).toString('hex'),
    sendsWait: () => opts.network === undefined && !opts.sendReturnsAtAdmission && sequencer.automining,
  };
  const server = await startRpcServer({
    ...opts.rpc,
    host: opts.host,
    port: opts.port,
    methods,
    services,
    log,
    observer: metrics,
    operations: { ready: () => ready, metrics: () => metrics.render() },
  });
  metrics.watch({
    httpConnections: () => server.httpConnections(),
    wsConnections: () => server.connections(),
    pendingTransactions: () => sequencer.pending,
    ledgerBytes: () => ledgerBytes(opts.dataDir),
  });
  sequencer.start();

  function close(): Promise<void> {
    closing ??= (async () => {
      ready = false;
      sequencer.close();
      await server.close();
      await enclave.request({ type: 'shutdown' }).catch(() => {});
      // After a shutdown the worker ends by itself (profilers and exit hooks run).
      await enclave.terminate(5_000);
    })();
    return closing;
  }

  return {
    url: server.url,
    wsUrl: server.wsUrl,
    port: server.port,
    chainId: init.chainId,
    accounts: init.accounts,
    head: init.head,
    recoveredFrom: init.recoveredFrom,
    close,
    failed,
  };
}
