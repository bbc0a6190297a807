/**
 * The load generator: eth_sendRawTransaction throughput (closed loop, per-sender nonce
 * order), submit-to-receipt latency at a fixed offered load (open loop), eth_call
 * throughput, and the sustained run (throughput per window, RSS).
 */
import WebSocket from 'ws';
import { balanceOfData, recipientAddress } from './accounts.ts';
import { chunkedBatch, RpcClient, sleep, type RpcResponse } from './rpc.ts';
import type { Phase } from './workload.ts';

export class BenchError extends Error {}

const sendBody = (raw: string, id: number) => `{"jsonrpc":"2.0","id":${id},"method":"eth_sendRawTransaction","params":["${raw}"]}`;

/** Distinct error messages with counts, bounded. */
export class ErrorLog {
  readonly counts = new Map<string, number>();
  total = 0;
  add(msg: string, times = 1): void {
    this.total += times;
    const key = msg.slice(0, 300);
    if (this.counts.has(key) || this.counts.size < 20) this.counts.set(key, (this.counts.get(key) ?? 0) + times);
  }
  list(): { message: string; count: number }[] {
    return [...this.counts].map(([message, count]) => ({ message, count }));
  }
}

interface Receipt {
  status?: string;
  blockNumber?: string;
}

/** How long a full pool may keep refusing one transfer before the run fails. */
const POOL_FULL_PATIENCE_MS = 120_000;

/**
 * Sends one raw transaction; throws BenchError with the node's message if refused.
 * A full pool ("txpool is full", -32005) is back-pressure, not a failure: the send is
 * retried shortly, as a client would, until the node has room again.
 */
async function sendOne(client: RpcClient, phase: Phase, j: number): Promise<void> {
  let res: RpcResponse;
  const started = performance.now();
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      res = await client.raw(sendBody(phase.raws[j]!, j + 1));
    } catch (err) {
      throw new BenchError(`eth_sendRawTransaction of transfer ${j} (sender ${j % phase.senders}) failed: ${(err as Error).message}`);
    }
    const full = res.error?.code === -32005 && res.error.message.startsWith('txpool is full');
    if (!full || performance.now() - started > POOL_FULL_PATIENCE_MS) break;
    await sleep(wait);
  }
  if (res.error) {
    throw new BenchError(
      `eth_sendRawTransaction of transfer ${j} (sender ${j % phase.senders}) refused: ${res.error.message} (code ${res.error.code})`,
    );
  }
  if (typeof res.result !== 'string' || res.result.toLowerCase() !== phase.hashes[j]!.toLowerCase()) {
    throw new BenchError(`eth_sendRawTransaction of transfer ${j} returned ${JSON.stringify(res.result)}, expected ${phase.hashes[j]}`);
  }
}

/**
 * Sends the transfers listed by `order` (indices into the phase) with `concurrency`
 * in-flight requests. Slot w owns the senders s with s % slots == w and takes their
 * transfers round robin, so each sender's transactions arrive in nonce order (the
 * next one leaves only once the previous one was accepted).
 */
export async function sendClosedLoop(
  client: RpcClient,
  phase: Phase,
  concurrency: number,
  onSent: (n: number) => void,
  gate?: () => Promise<void>,
): Promise<void> {
  const slots = Math.max(1, Math.min(concurrency, phase.senders));
  let failure: unknown;
  let sent = 0;
  const slot = async (w: number) => {
    const queues: number[][] = [];
    for (let s = w; s < phase.senders; s += slots) if (phase.bySender[s]!.length) queues.push(phase.bySender[s]!);
    const cursor = new Array<number>(queues.length).fill(0);
    let remaining = queues.reduce((a, q) => a + q.length, 0);
    while (remaining > 0 && failure === undefined) {
      for (let q = 0; q < queues.length && failure === undefined; q++) {
        const queue = queues[q]!;
        if (cursor[q]! >= queue.length) continue;
        if (gate) await gate();
        await sendOne(client, phase, queue[cursor[q]!++]!);
        remaining--;
        onSent(++sent);
      }
    }
  };
  await Promise.all(
    Array.from({ length: slots }, (_, w) =>
      slot(w).catch((err) => {
        failure ??= err;
      }),
    ),
  );
  if (failure !== undefined) throw failure;
}

/** The hash of each sender's last transfer in the phase. */
export function lastHashes(phase: Phase): string[] {
  return phase.bySender.filter((l) => l.length).map((l) => phase.hashes[l[l.length - 1]!]!);
}

async function describeStall(client: RpcClient, pending: string[]): Promise<string> {
  const parts: string[] = [`${pending.length} receipts missing (e.g. ${pending[0]})`];
  try {
    const head = await client.call<{ number: string; baseFeePerGas?: string; transactions: string[]; gasUsed: string }>('eth_getBlockByNumber', ['latest', false]);
    parts.push(
      `head block ${BigInt(head.number)} with ${head.transactions.length} txs, gasUsed ${BigInt(head.gasUsed)}, baseFee ${head.baseFeePerGas ? Number(BigInt(head.baseFeePerGas)) / 1e9 + ' gwei' : '-'}`,
    );
  } catch (err) {
    parts.push(`eth_getBlockByNumber(latest) failed: ${(err as Error).message}`);
  }
  try {
    const tx = await client.call<unknown>('eth_getTransactionByHash', [pending[0]]);
    parts.push(tx ? `the node knows ${pending[0]} but has not mined it` : `the node does not know ${pending[0]} (dropped?)`);
  } catch (err) {
    parts.push(`eth_getTransactionByHash failed: ${(err as Error).message}`);
  }
  return parts.join('; ');
}

/**
 * Polls until every hash has a receipt: one probe every ~2 ms, then a batch for the
 * rest once the probe is there. Returns performance.now() when the last one was seen.
 * Fails if nothing progresses (no new receipt, no new block) for stallMs.
 */
export async function waitForReceipts(client: RpcClient, hashes: string[], stallMs: number, onFound?: (found: number) => void): Promise<number> {
  const pending = new Set(hashes);
  let lastProgress = performance.now();
  let lastHead = -1n;
  let lastHeadCheck = 0;
  while (pending.size) {
    const probe = pending.values().next().value as string;
    const r = await client.call<Receipt | null>('eth_getTransactionReceipt', [probe]);
    if (r) {
      const list = [...pending];
      const answers = await chunkedBatch(
        client,
        'eth_getTransactionReceipt',
        list.map((h) => [h]),
        200,
      );
      answers.forEach((a, i) => {
        if (a.result) pending.delete(list[i]!);
      });
      lastProgress = performance.now();
      onFound?.(hashes.length - pending.size);
      if (!pending.size) return performance.now();
      continue;
    }
    const now = performance.now();
    if (now - lastHeadCheck > 1000) {
      lastHeadCheck = now;
      const head = BigInt(await client.call<string>('eth_blockNumber'));
      if (head !== lastHead) {
        lastHead = head;
        lastProgress = now;
      }
    }
    if (now - lastProgress > stallMs) {
      throw new BenchError(`no progress for ${stallMs / 1000} s while waiting for receipts: ${await describeStall(client, [...pending])}`);
    }
    await sleep(2);
  }
  return performance.now();
}

export interface Verification {
  ok: number;
  failed: number;
  missing: number;
  blocks: number;
  firstBlock: number;
  lastBlock: number;
}

/** Fetches every receipt (batches) and counts status 1, other statuses and missing ones. */
export async function verifyReceipts(client: RpcClient, hashes: string[]): Promise<Verification> {
  const answers = await chunkedBatch(
    client,
    'eth_getTransactionReceipt',
    hashes.map((h) => [h]),
    200,
  );
  let ok = 0;
  let failed = 0;
  let missing = 0;
  const blocks = new Set<string>();
  let firstBlock = Infinity;
  let lastBlock = -Infinity;
  for (const a of answers) {
    const r = a.result as Receipt | null | undefined;
    if (!r) {
      missing++;
      continue;
    }
    if (r.status === '0x1') ok++;
    else failed++;
    if (r.blockNumber) {
      blocks.add(r.blockNumber);
      const b = Number(BigInt(r.blockNumber));
      firstBlock = Math.min(firstBlock, b);
      lastBlock = Math.max(lastBlock, b);
    }
  }
  return { ok, failed, missing, blocks: blocks.size, firstBlock, lastBlock };
}

export function checkVerification(v: Verification, what: string): void {
  if (v.failed || v.missing) throw new BenchError(`${what}: ${v.failed} receipts with status != 1 and ${v.missing} missing (of ${v.ok + v.failed + v.missing})`);
}

export interface ThroughputResult {
  txs: number;
  concurrency: number;
  sendSeconds: number;
  seconds: number;
  tps: number;
  blocks: number;
  txsPerBlock: number;
}

/** eth_sendRawTransaction throughput until every receipt is there with status 1. */
export async function throughput(
  client: RpcClient,
  phase: Phase,
  concurrency: number,
  stallMs: number,
  progress: (sent: number, stage: string) => void,
): Promise<ThroughputResult> {
  const t0 = performance.now();
  await sendClosedLoop(client, phase, concurrency, (n) => progress(n, 'sending'));
  const tSent = performance.now();
  progress(phase.count, 'receipts');
  const tEnd = await waitForReceipts(client, lastHashes(phase), stallMs);
  progress(phase.count, 'verifying');
  const v = await verifyReceipts(client, phase.hashes);
  checkVerification(v, `${phase.name}`);
  const seconds = (tEnd - t0) / 1000;
  return {
    txs: phase.count,
    concurrency,
    sendSeconds: (tSent - t0) / 1000,
    seconds,
    tps: phase.count / seconds,
    blocks: v.blocks,
    txsPerBlock: phase.count / Math.max(1, v.blocks),
  };
}

interface BlockInfo {
  number: bigint;
  /** performance.now() when its contents were known. */
  at: number;
  count: number;
  hashes?: string[];
}

/**
 * Follows new blocks: a newHeads WebSocket subscription when the node offers one
 * (falls back to polling eth_blockNumber every 2 ms), then fetches each new block
 * (hashes, or only the transaction count).
 */
export class HeadWatcher {
  private ws?: WebSocket;
  private pollTimer?: NodeJS.Timeout;
  private next: bigint;
  private target: bigint;
  private fetching = false;
  private closed = false;
  mode: 'newHeads' | 'polling' = 'newHeads';
  error?: Error;

  private constructor(
    private readonly client: RpcClient,
    start: bigint,
    private readonly withHashes: boolean,
    private readonly onBlock: (b: BlockInfo) => void,
  ) {
    this.next = start + 1n;
    this.target = start;
  }

  static async start(client: RpcClient, wsUrl: string, withHashes: boolean, onBlock: (b: BlockInfo) => void): Promise<HeadWatcher> {
    const head = BigInt(await client.call<string>('eth_blockNumber'));
    const w = new HeadWatcher(client, head, withHashes, onBlock);
    try {
      await w.subscribe(wsUrl);
    } catch {
      w.mode = 'polling';
      w.poll();
    }
    return w;
  }

  private subscribe(wsUrl: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('newHeads subscription timed out'));
      }, 5_000);
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] })));
      ws.on('message', (data) => {
        let msg: { id?: number; result?: unknown; error?: { message: string }; params?: { result?: { number?: string } } };
        try {
          msg = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (msg.id === 1) {
          clearTimeout(timer);
          if (msg.error || typeof msg.result !== 'string') {
            ws.terminate();
            reject(new Error(msg.error?.message ?? 'eth_subscribe refused'));
          } else resolve();
          return;
        }
        const n = msg.params?.result?.number;
        if (n) this.advance(BigInt(n));
      });
      ws.on('close', () => {
        // If the connection drops mid-run, keep following the chain by polling.
        if (!this.closed && this.mode === 'newHeads') {
          this.mode = 'polling';
          this.poll();
        }
      });
    });
  }

  private poll(): void {
    if (this.closed) return;
    this.client.call<string>('eth_blockNumber').then(
      (n) => {
        this.advance(BigInt(n));
        this.pollTimer = setTimeout(() => this.poll(), 2);
      },
      (err) => {
        this.error = err as Error;
        this.pollTimer = setTimeout(() => this.poll(), 50);
      },
    );
  }

  private advance(head: bigint): void {
    if (head > this.target) this.target = head;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.fetching) return;
    this.fetching = true;
    try {
      while (!this.closed && this.next <= this.target) {
        const n = this.next;
        const tag = '0x' + n.toString(16);
        if (this.withHashes) {
          const b = await this.client.call<{ transactions: string[] } | null>('eth_getBlockByNumber', [tag, false]);
          if (!b) break;
          this.onBlock({ number: n, at: performance.now(), count: b.transactions.length, hashes: b.transactions });
        } else {
          const c = await this.client.call<string | null>('eth_getBlockTransactionCountByNumber', [tag]);
          if (c === null) break;
          this.onBlock({ number: n, at: performance.now(), count: Number(BigInt(c)) });
        }
        this.next = n + 1n;
      }
    } catch (err) {
      this.error = err as Error;
    } finally {
      this.fetching = false;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.ws?.terminate();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencyResult {
  offeredTps: number;
  txs: number;
  /** Rate at which the sends actually left. */
  sentTps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** From the due time to the node's answer to eth_sendRawTransaction. */
  acceptedP50: number;
  acceptedP99: number;
  headSource: string;
  blocks: number;
}

/**
 * Open loop: transfer j is due at t0 + j / rate; a sender's next transfer leaves once
 * its previous one was accepted (nonce order). Latency is from the due time to the
 * moment its block (with the transaction) was fetched after the node announced it,
 * i.e. when its receipt was available.
 */
export async function latency(
  client: RpcClient,
  wsUrl: string,
  phase: Phase,
  rate: number,
  stallMs: number,
  progress: (done: number, stage: string) => void,
): Promise<LatencyResult> {
  const index = new Map<string, number>();
  phase.hashes.forEach((h, j) => index.set(h.toLowerCase(), j));
  const done = new Float64Array(phase.count).fill(NaN);
  const accepted = new Float64Array(phase.count).fill(NaN);
  let included = 0;
  let blocks = 0;
  const watcher = await HeadWatcher.start(client, wsUrl, true, (b) => {
    let mine = 0;
    for (const h of b.hashes ?? []) {
      const j = index.get(h.toLowerCase());
      if (j !== undefined && Number.isNaN(done[j]!)) {
        done[j] = b.at;
        included++;
        mine++;
      }
    }
    if (mine) blocks++;
  });
  try {
    const interval = 1000 / rate;
    const t0 = performance.now() + 20;
    const due = (j: number) => t0 + j * interval;
    const chains: Promise<void>[] = Array.from({ length: phase.senders }, () => Promise.resolve());
    let failure: unknown;
    let next = 0;
    let lastSendAt = t0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next < phase.count && due(next) <= now && failure === undefined) {
          const j = next++;
          const s = j % phase.senders;
          chains[s] = chains[s]!.then(() => {
            if (failure !== undefined) return;
            lastSendAt = performance.now();
            return sendOne(client, phase, j).then(
              () => {
                accepted[j] = performance.now();
              },
              (err) => {
                failure ??= err;
              },
            );
          });
        }
        if (next % 100 === 0) progress(included, 'sending');
        if (next >= phase.count || failure !== undefined) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, due(next) - performance.now())));
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
    await Promise.all(chains);
    if (failure !== undefined) throw failure;
    const sentSeconds = (lastSendAt - t0) / 1000;
    // Wait until every transfer was seen in a block.
    let lastIncluded = included;
    let lastProgress = performance.now();
    while (included < phase.count) {
      progress(included, 'receipts');
      if (watcher.error) throw new BenchError(`following blocks failed: ${watcher.error.message}`);
      if (included !== lastIncluded) {
        lastIncluded = included;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > stallMs) {
        const missing = phase.hashes.filter((_, j) => Number.isNaN(done[j]!));
        throw new BenchError(`latency run: no progress for ${stallMs / 1000} s: ${await describeStall(client, missing)}`);
      }
      await sleep(20);
    }
    progress(included, 'verifying');
    const v = await verifyReceipts(client, phase.hashes);
    checkVerification(v, phase.name);
    const lat = Array.from(done, (d, j) => d - due(j)).sort((a, b) => a - b);
    const acc = Array.from(accepted, (a, j) => a - due(j)).sort((a, b) => a - b);
    return {
      offeredTps: rate,
      txs: phase.count,
      sentTps: phase.count / Math.max(sentSeconds, 1e-9),
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1]!,
      acceptedP50: percentile(acc, 50),
      acceptedP99: percentile(acc, 99),
      mean: lat.reduce((a, b) => a + b, 0) / lat.length,
      headSource: watcher.mode,
      blocks,
    };
  } finally {
    watcher.close();
  }
}

/** Creation code that loops forever (JUMPDEST, PUSH1 0, JUMP), with all the gas a node allows. */
const LOOPING_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x5b600056","gas":"0xfffffffffffffffe"},"latest"]}';

export interface LoopingCalls {
  /** Stops sending and waits for the calls in flight; returns how many were answered. */
  stop(): Promise<{ answered: number; errors: { message: string; count: number }[] }>;
}

/**
 * `clients` clients, each sending an eth_call that loops forever again as soon as the
 * last one is answered (with whatever error the node gives): the hostile load of the
 * "latency under looping calls" test. A client of its own, so the load does not take
 * the measuring client's connections.
 */
export function startLoopingCalls(url: string, clients: number): LoopingCalls {
  const client = new RpcClient(url, clients, 600_000);
  const errors = new ErrorLog();
  let answered = 0;
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      try {
        const res = await client.raw(LOOPING_CALL);
        answered++;
        if (res.error) errors.add(`eth_call: ${res.error.message} (code ${res.error.code})`);
      } catch (err) {
        errors.add(`eth_call: ${(err as Error).message}`);
        await sleep(10);
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    async stop() {
      stopping = true;
      // A node that cannot bound a looping call may never answer: give up after a while.
      const unanswered = await Promise.race([Promise.all(loops).then(() => 0), sleep(15_000).then(() => clients)]);
      if (unanswered) errors.add(`eth_call: still unanswered 15 s after the test`, unanswered);
      await client.destroy();
      return { answered, errors: errors.list() };
    },
  };
}

export interface CallResult {
  concurrency: number;
  seconds: number;
  calls: number;
  cps: number;
  errors: { message: string; count: number }[];
}

/**
 * eth_call balanceOf at `concurrency` in flight for `seconds`, each answer checked.
 * Given one client per caller (each on a session of its own), slot w sends through
 * clients[w] and asks for holders[w] only: the caller's own balance.
 */
export async function callThroughput(
  client: RpcClient | RpcClient[],
  token: string,
  holders: { address: string; balance: bigint }[],
  concurrency: number,
  seconds: number,
  progress: (calls: number) => void,
): Promise<CallResult> {
  const bodies = holders.map(
    (h, i) => `{"jsonrpc":"2.0","id":${i + 1},"method":"eth_call","params":[{"to":"${token}","data":"${balanceOfData(h.address)}"},"latest"]}`,
  );
  const expected = holders.map((h) => '0x' + h.balance.toString(16).padStart(64, '0'));
  const errors = new ErrorLog();
  let calls = 0;
  let k = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lastReport = t0;
  const slot = async (_: unknown, w: number) => {
    const own = Array.isArray(client) ? client[w % client.length]! : undefined;
    while (performance.now() < end) {
      const i = own ? w % bodies.length : k++ % bodies.length;
      try {
        const res = await (own ?? (client as RpcClient)).raw(bodies[i]!);
        if (res.error) errors.add(`eth_call: ${res.error.message} (code ${res.error.code})`);
        else if (res.result !== expected[i]) errors.add(`eth_call balanceOf returned ${JSON.stringify(res.result)}, expected ${expected[i]}`);
        else calls++;
      } catch (err) {
        errors.add(`eth_call: ${(err as Error).message}`);
        if (errors.total > 1000) throw new BenchError(`eth_call: too many errors, e.g. ${errors.list()[0]?.message}`);
      }
      const now = performance.now();
      if (now - lastReport > 250) {
        lastReport = now;
        progress(calls);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  const elapsed = (performance.now() - t0) / 1000;
  progress(calls);
  if (calls === 0) throw new BenchError(`eth_call: no successful call; errors: ${JSON.stringify(errors.list())}`);
  return { concurrency, seconds: elapsed, calls, cps: calls / elapsed, errors: errors.list() };
}

export function holdersOf(phase: Phase): { address: string; balance: bigint }[] {
  return Array.from({ length: Math.min(phase.count, 1000) }, (_, j) => ({ address: recipientAddress(phase.recipientBase + j), balance: 1n }));
}

export interface WindowStat {
  /** Transfers included at the end of this window (cumulative). */
  included: number;
  seconds: number;
  tps: number;
  rssBytes: number | null;
}

export interface SustainedResult {
  txs: number;
  seconds: number;
  tps: number;
  windows: WindowStat[];
  rssStartBytes: number | null;
  rssEndBytes: number | null;
  rssMaxBytes: number | null;
  blocks: number;
  /** Base fee of the head block at the end (gwei): blocks fuller than half the gas limit raise it. */
  baseFeeGweiEnd: number | null;
}

/**
 * A long closed-loop run; throughput per window of `windowSize` included transfers
 * (counted from new blocks) and the node's RSS at each window boundary. With
 * backlog > 0, a send waits while more than `backlog` transfers are sent but not yet
 * in a block.
 */
export async function sustained(
  client: RpcClient,
  wsUrl: string,
  phase: Phase,
  concurrency: number,
  windowSize: number,
  backlog: number,
  rss: (() => number) | null,
  stallMs: number,
  progress: (included: number, sent: number, stage: string) => void,
): Promise<SustainedResult> {
  let included = 0;
  let sent = 0;
  let blocks = 0;
  const windows: WindowStat[] = [];
  let windowStart = 0;
  let rssMax = rss ? rss() : null;
  const rssStart = rssMax;
  const onWindow = (at: number) => {
    const r = rss ? rss() : null;
    if (r !== null) rssMax = Math.max(rssMax ?? 0, r);
    const prevIncluded = windows.length ? windows[windows.length - 1]!.included : 0;
    const seconds = (at - windowStart) / 1000;
    windows.push({ included, seconds, tps: (included - prevIncluded) / seconds, rssBytes: r });
    windowStart = at;
  };
  let waiters: (() => void)[] = [];
  const watcher = await HeadWatcher.start(client, wsUrl, false, (b) => {
    if (b.count === 0) return;
    blocks++;
    const before = included;
    included += b.count;
    if (Math.floor(included / windowSize) > Math.floor(before / windowSize) || included >= phase.count) onWindow(b.at);
    progress(included, sent, 'running');
    if (waiters.length) {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    }
  });
  const t0 = performance.now();
  windowStart = t0;
  try {
    const gate =
      backlog > 0
        ? async () => {
            const since = performance.now();
            let seen = included;
            let lastMove = since;
            while (sent - included >= backlog) {
              await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(1000)]);
              if (included !== seen) {
                seen = included;
                lastMove = performance.now();
              } else if (performance.now() - lastMove > stallMs) {
                throw new BenchError(`sustained run: no new block for ${stallMs / 1000} s with ${sent - included} transfers waiting`);
              }
              if (watcher.error) throw new BenchError(`following blocks failed: ${watcher.error.message}`);
            }
          }
        : undefined;
    await sendClosedLoop(
      client,
      phase,
      concurrency,
      (n) => {
        sent = n;
        if ((n & 255) === 0) progress(included, sent, 'running');
      },
      gate,
    );
    const tEnd = await waitForReceipts(client, lastHashes(phase), stallMs);
    // Let the watcher catch up with the last blocks for the window bookkeeping.
    const deadline = performance.now() + 10_000;
    while (included < phase.count && performance.now() < deadline) await sleep(10);
    if (included < phase.count && (!windows.length || windows[windows.length - 1]!.included < included)) onWindow(performance.now());
    progress(included, sent, 'verifying');
    const v = await verifyReceipts(client, phase.hashes);
    checkVerification(v, phase.name);
    const seconds = (tEnd - t0) / 1000;
    const rssEnd = rss ? rss() : null;
    const head = await client.call<{ baseFeePerGas?: string }>('eth_getBlockByNumber', ['latest', false]).catch(() => null);
    return {
      baseFeeGweiEnd: head?.baseFeePerGas ? Number(BigInt(head.baseFeePerGas)) / 1e9 : null,
      txs: phase.count,
      seconds,
      tps: phase.count / seconds,
      windows,
      rssStartBytes: rssStart,
      rssEndBytes: rssEnd,
      rssMaxBytes: rssMax === null || rssEnd === null ? rssMax : Math.max(rssMax, rssEnd),
      blocks,
    };
  } finally {
    watcher.close();
  }
}
