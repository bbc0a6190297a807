import { bytesToHex } from '@ethereumjs/util';
import { setFlagsFromString } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import type { CallRequest, Credential, EnclaveConfig, HostToEnclave, InitResult, Notification, OrderResult, SignRequest } from '../boundary/messages.ts';
import { checkOrderedEntry } from '../boundary/validate.ts';
import { Chain } from '../chain/Chain.ts';
import { createChainCommon } from '../chain/common.ts';
import { paramsFor, pinnedParams, type ChainParams } from '../chain/chainParams.ts';
import { DevAccounts } from '../chain/devAccounts.ts';
import { initEthCrypto } from '../crypto/ethCrypto.ts';
import { deriveNetworkKeys } from '../crypto/networkKeys.ts';
import { cacheJumpAnalysis } from '../evm/cacheJumpAnalysis.ts';
import { installFastWordOpcodes } from '../evm/fastWordOpcodes.ts';
import { installSyncOpcodeLoop } from '../evm/syncOpcodeLoop.ts';
import { installMessageGuard } from '../evm/messageGuard.ts';
import { genesisAccounts } from '../chain/genesisAccounts.ts';
import { PolicyBook } from '../policy/PolicyBook.ts';
import { Disclosure } from '../policy/Disclosure.ts';
import { ANONYMOUS, type Principal } from '../policy/decide.ts';
import type { Identities } from '../identity/Identities.ts';
import { Sessions, tokenIdOf } from '../identity/Sessions.ts';
import { Ledger } from '../ledger/Ledger.ts';
import { StorageThread } from '../ledger/StorageThread.ts';
import { loadPlatformSecret } from '../ledger/platformSecret.ts';
import { EnclaveFailure, invalidInput, toEnclaveError } from './EnclaveFailure.ts';
import { Filters } from './Filters.ts';
import { LogRouter } from './LogRouter.ts';
import { Subscriptions } from './Subscriptions.ts';
import { CallSlots } from './CallSlots.ts';
import { DEFAULT_PRIORITY_FEE, failure, Reads } from './reads.ts';
import { Settlements } from './Settlements.ts';
import { Admission } from './Admission.ts';
import { DevOps } from './DevOps.ts';
import { openEnvelope, unsealEnvelope } from './inspect.ts';
import type { PoolUpdate } from './TxPool.ts';

/** How long a send waits for its transaction's block (dev network), at most. */
const SEND_WAIT_MS = 60_000;

/** eth_sendTransaction calls of one account that may wait for their turn at once. */
const SENDS_PER_ACCOUNT = 256;

export interface EnclaveOptions {
  /** The host's port for `submit`, handed on to the admission thread (absent in-process). */
  submissions?: MessagePort;
  /** A thread of the enclave failed; it can no longer serve. */
  onFailure?: (err: Error) => void;
  /** Sends a subscription's notification to the host. */
  notify?: (n: Notification) => void;
}

/**
 * The enclave's request handlers, one per message type. Block execution (and start
 * and stop) runs exclusively, in log order; reads are answered between its
 * transactions, against the committed head, so they never wait for a whole block.
 * Submissions go to the admission thread, which holds the pool: this thread keeps
 * the pool's view of the senders' accounts current after every block.
 */
export class Enclave {
  private chain?: Chain;
  private reads?: Reads;
  private dev?: DevAccounts;
  private admission?: Admission;
  private envelopeKey?: Uint8Array;
  private filters?: Filters;
  private subscriptions?: Subscriptions;
  private logRouter?: LogRouter;
  private sessions?: Sessions;
  private sessionSweep?: NodeJS.Timeout;
  private identities?: Identities;
  private devOps?: DevOps;
  /**
   * Senders whose accounts the pool follows: a mirror of the pool's view, which is
   * bounded (the pool reports the accounts it stops following).
   */
  private readonly followed = new Set<string>();
  private last: Promise<unknown> = Promise.resolve();
  private readonly policyBook = new PolicyBook();
  /** Per dev account: the last send in line (eth_sendTransaction) and how many are in line. */
  private readonly sending = new Map<string, { last: Promise<void>; count: number }>();
  private settlements = new Settlements(0, SEND_WAIT_MS);

  constructor(private readonly options: EnclaveOptions = {}) {}

  async handle(message: HostToEnclave): Promise<unknown> {
    switch (message.type) {
      case 'init':
        return this.exclusive(() => this.init(message.config));
      case 'submit':
        return this.ready().admission.admit(message.raw);
      case 'sendTransaction':
        return this.sendTransaction(message.request);
      case 'order':
        return this.exclusive(() => this.order(message.entries));
      case 'durable':
        return this.ready()
          .chain.durable(Number(message.number))
          .then(() => null);
      case 'settled':
        return this.settled(message.hash);
      case 'read':
        return this.ready().reads.answer(message.query, this.who(message.caller));
      case 'session':
        return this.ready().sessions.handle(message.caller, message.request);
      case 'sign':
        return this.sign(message.request);
      case 'filter':
        return this.watching().filters.handle(message.caller, this.who(message.caller), message.connection, message.request);
      case 'subscribe':
        return this.watching().subscriptions.add(message.caller, this.who(message.caller), message.connection, message.subscription);
      case 'unsubscribe':
        return this.watching().subscriptions.remove(message.connection, message.subscriptionId);
      case 'connectionClosed': {
        const { filters, subscriptions } = this.watching();
        filters.dropConnection(message.connection);
        subscriptions.dropConnection(message.connection);
        return null;
      }
      case 'shutdown':
        return this.exclusive(() => this.shutdown());
    }
  }

  /** Runs `fn` after everything queued before it has finished. */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.last.then(fn, fn);
    this.last = run.catch(() => {});
    return run;
  }

  private ready() {
    if (!this.chain || !this.admission || !this.reads || !this.dev || !this.envelopeKey || !this.sessions || !this.identities || !this.devOps) {
      throw new EnclaveFailure('internal', 'enclave not initialised');
    }
    return {
      chain: this.chain,
      admission: this.admission,
      reads: this.reads,
      dev: this.dev,
      envelopeKey: this.envelopeKey,
      sessions: this.sessions,
      identities: this.identities,
      devOps: this.devOps,
    };
  }

  /**
   * Who a credential proves: the identity of a live session, with its roles from the
   * identity registry at the head; nobody for an empty credential. A credential that is
   * no live session is refused (the caller should sign in again), never read as nobody.
   */
  private who(caller: Credential): Principal {
    const { sessions, identities } = this.ready();
    const session = sessions.authenticate(caller);
    if (!session) return ANONYMOUS;
    return {
      address: session.address,
      roles: identities.rolesOf(session.address),
      authenticated: true,
      ...(session.scope ? { scope: session.scope } : {}),
    };
  }

  private watching() {
    if (!this.filters || !this.subscriptions || !this.logRouter) throw new EnclaveFailure('internal', 'enclave not initialised');
    return { filters: this.filters, subscriptions: this.subscriptions, logRouter: this.logRouter };
  }

  /** Feeds a block that just became durable (and visible) to filters, subscriptions and waiting sends. */
  private blockDurable(seq: number): void {
    const { filters, subscriptions, logRouter } = this.watching();
    if (filters.size === 0 && subscriptions.size === 0 && this.settlements.size === 0) return;
    try {
      const stored = this.chain!.stored(seq);
      this.settlements.blockDurable(stored);
      filters.blockDurable(stored);
      subscriptions.blockDurable(stored);
      // Logs last: the filters above chose which of them take this block's.
      logRouter.route(stored);
    } catch (err) {
      // The block itself is durable; only its announcement to watchers failed.
      console.error(`enclave: filters and subscriptions missed block ${seq}: ${toEnclaveError(err).message}`);
    }
  }

  private async init(config: EnclaveConfig): Promise<InitResult> {
    if (this.chain) throw new EnclaveFailure('internal', 'enclave already initialised');
    // Only the node's own files, never a recursive delete of a path the host names.
    if (config.reset) Ledger.remove(config.dataDir);
    // The enclave finds its platform secret itself; the host does not name it.
    const ledger = Ledger.open(config.dataDir, { platformSecret: loadPlatformSecret(), create: true });
    let params: ChainParams;
    try {
      const binding = ledger.binding;
      params = binding ? pinnedParams(binding.params, config) : paramsFor(config);
    } catch (err) {
      ledger.close();
      throw err;
    }
    const { chainId } = params;
    const common = createChainCommon(chainId, await initEthCrypto());
    await cacheJumpAnalysis();
    await installFastWordOpcodes();
    await installSyncOpcodeLoop();
    installMessageGuard();
    this.dev = new DevAccounts(config.devMnemonic, config.devAccounts);
    const storage = new StorageThread(ledger.dbFile, config.limits.ledgerMaxMb);
    try {
      this.chain = await Chain.open({
        common,
        ledger,
        storage,
        params,
        policies: this.policyBook,
        openNetwork: config.network === undefined,
        genesis: {
          accounts: genesisAccounts(
            [...this.dev.addresses.map((a): [string, bigint] => [a, config.devBalance]), ...(config.network?.alloc ?? []).map((a): [string, bigint] => [a.address, a.balance])],
            config.network,
          ),
          // A network's nodes start from one genesis: its file names the time; else now.
          timestamp: config.network?.timestamp ?? BigInt(Math.floor(Date.now() / 1000)),
        },
      });
    } catch (err) {
      await storage.close();
      ledger.close();
      throw err;
    }
    const chain = this.chain;
    // Envelopes are sealed under a key derived from the network secret, so every enclave
    // of the network opens the entries of a replicated log alike.
    const networkSecret = ledger.takeNetworkSecret();
    const envelopeKey = deriveNetworkKeys(networkSecret).envelope;
    networkSecret.fill(0);
    this.envelopeKey = envelopeKey;
    const openNetwork = config.network === undefined;
    const identities = chain.identities;
    this.identities = identities;
    const disclosure = new Disclosure(this.policyBook, () => chain.world, openNetwork);
    const logRouter = new LogRouter(config.limits, disclosure);
    const filters = new Filters(config.limits, logRouter, (filter, who) => this.ready().reads.answer({ kind: 'logs', filter }, who));
    const subscriptions = new Subscriptions(config.limits, logRouter, (n) => this.options.notify?.(n));
    this.logRouter = logRouter;
    this.filters = filters;
    this.subscriptions = subscriptions;
    const sessions = new Sessions({ chainId, domains: config.sessionDomains ?? [] });
    // A session's filters and subscriptions end with it (logout, expiry, eviction).
    sessions.onEnd((tokenId) => {
      const ended = (caller: Credential) => tokenIdOf(caller) === tokenId;
      filters.endCaller(ended);
      subscriptions.endCaller(ended);
    });
    this.sessions = sessions;
    // Expired sessions end (with their filters and subscriptions) even if never used again.
    this.sessionSweep = setInterval(() => sessions.expire(), 60_000);
    this.sessionSweep.unref();
    chain.onDurable = (seq) => this.blockDurable(seq);
    chain.onWriteFailed = () => this.settlements.releaseAll();
    const admission = new Admission({
      chainId,
      envelopeKey,
      blockGasLimit: params.blockGasLimit,
      baseFee: chain.nextBaseFee,
      limits: config.limits,
      hostPort: this.options.submissions,
      ...(config.network ? { registered: config.network.identities.map((i) => i.address) } : {}),
      lookup: (addresses) => {
        for (const a of addresses) this.followed.add(a);
        return this.poolUpdate(addresses, []);
      },
      unfollow: (addresses) => {
        for (const a of addresses) this.followed.delete(a);
      },
      onAdmitted: (hashes) => {
        filters.admitted(hashes);
        subscriptions.admitted(hashes);
      },
      onFailure: (err) => {
        // Its message may quote what it was admitting: toEnclaveError logs where, not what.
        console.error(`enclave: admission thread failed: ${toEnclaveError(err).message}`);
        this.options.onFailure?.(err);
      },
    });
    this.admission = admission;
    this.settlements = new Settlements(config.limits.poolSlots, SEND_WAIT_MS);
    this.devOps = new DevOps(chain, async (hash) => (await admission.pending(hash)) !== undefined);
    const pool = {
      nextNonce: (address: string) => admission.nextNonce(address),
      pending: async (hash: string) => {
        const p = await admission.pending(hash);
        return p && openEnvelope(p.envelope, common, envelopeKey);
      },
    };
    const { limits } = config;
    const calls = new CallSlots(chain.common, chain.vmBlockchain, limits.maxConcurrentCalls, limits.maxQueuedCalls);
    const devAccounts = new Set(this.dev.addresses.map((a) => a.toLowerCase()));
    this.reads = new Reads(chain, pool, () => this.dev!.addresses, limits, calls, {
      book: this.policyBook,
      disclosure,
      identities,
      openNetwork,
      isDevAccount: (address) => devAccounts.has(address),
    });
    // Under sustained load V8 lets the heap grow to several times the live data between
    // full collections; capping the growth factor at 2 keeps memory in proportion to
    // live state (state and recent history) at the cost of more frequent, mostly
    // concurrent, marking. Set after recovery, which builds the live state at once and
    // would otherwise collect at every doubling. The flag is read at every collection.
    setFlagsFromString('--heap-growing-percent=100');
    return {
      chainId,
      head: BigInt(this.chain.headNumber),
      accounts: this.dev.addresses,
      recoveredFrom: this.chain.recoveredFrom,
    };
  }

  private async order(entries: (HostToEnclave & { type: 'order' })['entries']): Promise<OrderResult> {
    const { chain, admission, envelopeKey } = this.ready();
    const blocks: OrderResult['blocks'] = [];
    const skipped: OrderResult['skipped'] = [];
    const dev: OrderResult['dev'] = [];
    // Each entry is judged on its own: on a replicated log, one garbage entry must not
    // halt every node, so a malformed or unauthenticated one is skipped and reported.
    // The decision depends on the entry and the envelope key alone, so enclaves that
    // share the key skip the same entries.
    for (let position = 0; position < entries.length; position++) {
      const entry = entries[position]!;
      const problem = checkOrderedEntry(entry);
      if (problem) {
        skipped.push({ position, reason: `malformed entry: ${problem}` });
        continue;
      }
      if (entry.kind === 'tx') {
        let plain: Uint8Array;
        try {
          plain = unsealEnvelope(entry.envelope, envelopeKey);
        } catch (err) {
          skipped.push({ position, reason: (err as Error).message });
          continue;
        }
        chain.enqueue(plain);
      } else if (entry.kind === 'cut') {
        const event = await chain.buildBlock(entry.timestamp, entry.allowEmpty);
        if (event) blocks.push(event);
      } else {
        try {
          const result = await this.ready().devOps.run(entry.op, entry.timestamp);
          blocks.push(...result.blocks);
          dev.push({ ref: entry.ref, ok: true, value: result.value });
        } catch (err) {
          // A refused operation changed nothing; a failed ledger write stops the node.
          const error = toEnclaveError(err);
          if (error.kind === 'internal') throw err;
          dev.push({ ref: entry.ref, ok: false, error });
        }
      }
    }
    const { dropped, changedAccounts } = chain.takePoolNews();
    this.settlements.dropped(dropped);
    if (blocks.length || dropped.length || changedAccounts.size) {
      const changed: string[] = [];
      for (const a of changedAccounts) if (this.followed.has(a)) changed.push(a);
      const update = this.poolUpdate(changed, dropped);
      // The pool lets go of the transactions these blocks include only once the blocks
      // are durable: until then reads do not see the blocks, and a transaction in neither
      // would read as unknown (eth_getTransactionByHash null) although it was accepted.
      const last = blocks.at(-1);
      if (last) {
        chain.durable(Number(last.number)).then(
          () => admission.update(update),
          () => {}, // a block that cannot be made durable stops the node
        );
      } else admission.update(update);
    }
    return { blocks, dev, waiting: chain.waiting, skipped };
  }

  /**
   * Waits until transaction `hash` is in a durable block; true if it is, false if it
   * was dropped or the wait ran out. A reverted one answers with its revert error, where
   * its contract's policy lets the output be seen (else a bare revert), as Hardhat does.
   */
  private async settled(hash: string): Promise<boolean> {
    const { chain, reads } = this.ready();
    const settled = await this.settlements.wait(hash, () => {
      const at = reads.locate(hash);
      return at ? { included: true, reverted: at.stored.receipts[at.index]!.status === 0 } : { included: false };
    });
    if (!settled.included || !settled.reverted) return settled.included;
    const at = reads.locate(hash);
    const failed = chain.failures.get(hash);
    if (!at || !failed) throw failure('revert', new Uint8Array(0), false);
    const tx = at.stored.block.transactions[at.index]!;
    const target = tx.to?.toString() ?? at.stored.receipts[at.index]!.contractAddress;
    const shown = target === undefined || chain.policies.hashAt(chain.world, target) === undefined;
    throw failure(failed.error, failed.data, shown);
  }

  /** The pool's view of these senders, as of the tip. */
  private poolUpdate(addresses: string[], dropped: string[]): PoolUpdate {
    const chain = this.chain!;
    return {
      accounts: addresses.map((a) => {
        const account = chain.world.account(a);
        return [a, account?.nonce ?? 0n, account?.balance ?? 0n];
      }),
      baseFee: chain.nextBaseFee,
      dropped,
    };
  }

  /**
   * Signs with a dev key and admits. Gas is estimated first (that can take up to the
   * call budget); then one account's sends take their turns for nonce, signature and
   * admission, so two concurrent sends never share a nonce. At most SENDS_PER_ACCOUNT
   * of one account wait for their turn.
   */
  private async sendTransaction(request: CallRequest) {
    const { chain, reads, dev } = this.ready();
    if (!request.from) throw invalidInput('from address is required');
    const from = request.from;
    const impersonated = this.ready().devOps.impersonating(from, request.to);
    if (!impersonated) dev.requireKey(from);
    if (request.type !== undefined && request.type > 2) {
      throw invalidInput(`transaction type not supported: type ${request.type}; use type 0, 1 or 2`);
    }
    const gas = request.gas ?? ((await reads.answer({ kind: 'estimateGas', request, block: 'latest' })) as bigint);
    const waiting = this.sending.get(from);
    if (waiting && waiting.count >= SENDS_PER_ACCOUNT) {
      throw new EnclaveFailure('limitExceeded', `too many eth_sendTransaction in progress for ${from}: at most ${SENDS_PER_ACCOUNT}`);
    }
    const turn = {
      last: (waiting?.last ?? Promise.resolve()).then(() => this.signAndAdmit(request, from, gas, chain, impersonated)),
      count: (waiting?.count ?? 0) + 1,
    };
    const settled = turn.last.then(
      () => {},
      () => {},
    );
    this.sending.set(from, { last: settled, count: turn.count });
    void settled.then(() => {
      const now = this.sending.get(from);
      if (!now) return;
      if (now.last === settled) this.sending.delete(from);
      else now.count--;
    });
    return turn.last;
  }

  private async signAndAdmit(request: CallRequest, from: string, gas: bigint, chain: Chain, impersonated: boolean) {
    const { admission, dev } = this.ready();
    const nonce = request.nonce ?? (await admission.nextNonce(from));
    const baseFee = chain.nextBaseFee;
    const legacy = request.gasPrice !== undefined || request.type === 0 || request.type === 1;
    const fees = legacy
      ? { gasPrice: request.gasPrice ?? baseFee + DEFAULT_PRIORITY_FEE }
      : {
          maxPriorityFeePerGas: request.maxPriorityFeePerGas ?? DEFAULT_PRIORITY_FEE,
          maxFeePerGas: request.maxFeePerGas ?? 2n * baseFee + (request.maxPriorityFeePerGas ?? DEFAULT_PRIORITY_FEE),
        };
    const type = legacy ? (request.accessList ? 1 : 0) : 2;
    const fields = {
      type,
      chainId: chain.common.chainId(),
      nonce: Number(nonce),
      to: request.to ?? null,
      value: request.value ?? 0n,
      data: request.data ? bytesToHex(request.data) : '0x',
      gasLimit: gas,
      accessList: request.accessList,
      ...fees,
    };
    if (impersonated) return admission.admitAs(DevAccounts.impersonatedTransaction(from, fields), from);
    return admission.admit(dev.signTransaction(from, fields));
  }

  private sign(request: SignRequest): string {
    const { dev } = this.ready();
    return request.kind === 'message'
      ? dev.signMessage(request.address, request.message)
      : dev.signTypedData(request.address, request.typedData);
  }

  private async shutdown(): Promise<null> {
    clearInterval(this.sessionSweep);
    this.settlements.releaseAll();
    this.filters?.close();
    if (this.chain) {
      await this.chain.close();
      this.chain = undefined;
    }
    await this.admission?.close();
    this.admission = undefined;
    return null;
  }
}
