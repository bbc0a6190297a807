/**
 * npm run bench: the same ERC20 workload against Conclave (started as a user would),
 * the Hardhat node, Anvil and the raw @ethereumjs/vm loop, one peer at a time; then,
 * on a fresh start of each RPC peer, the dev methods test suites lean on (bench/devMethods.ts).
 *
 *   npm run bench
 *   npm run bench -- --n 500 --sustained 2000 --peers conclave,anvil
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { DEV_ADDRESSES, DEV_KEYS, recipientAddress } from './accounts.ts';
import { fixtureCycles, mineBlocks, snapshotRevertCycles, type CycleResult, type MineResult } from './devMethods.ts';
import {
  BenchError,
  callThroughput,
  checkVerification,
  holdersOf,
  latency,
  startLoopingCalls,
  sustained,
  throughput,
  verifyReceipts,
  waitForReceipts,
  type CallResult,
  type LatencyResult,
  type SustainedResult,
  type ThroughputResult,
} from './load.ts';
import {
  ALL_PEERS,
  conclaveHome,
  dirBytes,
  freePort,
  killAllStarted,
  rssBytes,
  startAnvil,
  startConclave,
  startHardhat,
  waitForRpc,
  type ConclaveHome,
  type PeerName,
  type PeerProcess,
} from './peers.ts';
import { machine, mib, Progress, renderTable, writeResults, type Row } from './report.ts';
import { RpcClient } from './rpc.ts';
import { VmPeer, type VmRun } from './vmpeer.ts';
import { buildWorkload, CHAIN_ID, type Phase, type PhaseSpec, type SetupTx, type Workload } from './workload.ts';
import {
  buildConfidentialSetup,
  checkConfidentialToken,
  confidentialBalances,
  confidentialSenderAddress,
  confidentialSenderKeys,
  CONFIDENTIAL_TOKEN_ADDRESS,
  sessionUrl,
  signIn,
} from './confidential.ts';
import { artifactPath } from '../contracts/artifacts.ts';
import { ROOT } from './peers.ts';

// ---------------------------------------------------------------- options

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`an integer >= ${min} expected`);
  return n;
};
const num = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`a number >= ${min} expected`);
  return n;
};
const peerList = (v: string): PeerName[] => {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of list) if (!ALL_PEERS.includes(p as PeerName)) throw new InvalidArgumentError(`unknown peer "${p}" (one of ${ALL_PEERS.join(', ')})`);
  return [...new Set(list)] as PeerName[];
};
const onOff = (v: string) => {
  if (v !== '0' && v !== '1') throw new InvalidArgumentError('0 or 1 expected');
  return v === '1';
};

const program = new Command()
  .name('bench')
  .description('ERC20 transfer throughput, latency, eth_call throughput, a sustained run, restart time and dev methods: Conclave vs Hardhat, Anvil and the raw VM.')
  .option('--n <count>', 'transfers per throughput test', int(1), 5000)
  .option('--concurrency <count>', 'in-flight requests for the concurrent tests', int(1), 64)
  .option('--senders <count>', 'sending accounts (default: the concurrency)', int(1))
  .option('--peers <list>', `comma list of ${ALL_PEERS.join(',')}`, peerList, ALL_PEERS)
  .option('--sustained <count>', 'transfers per sustained run (two runs; 0 to skip)', int(0), 100_000)
  .option('--sustained-peers <list>', 'peers that do the sustained run', peerList, ['conclave'] as PeerName[])
  .option('--window <count>', 'transfers per sustained-run window', int(1), 10_000)
  .option('--backlog <count>', 'sustained run: at most this many transfers sent but not yet in a block (0: no limit)', int(0), 0)
  .option('--latency-rate <tps>', 'offered load of the latency test (tx/s)', num(1), 1000)
  .option('--latency-seconds <s>', 'duration of the latency test', num(0), 5)
  .option('--loop-latency-rate <tps>', 'offered load of the latency test under looping eth_calls (tx/s)', num(1), 100)
  .option('--loop-clients <count>', 'clients sending looping eth_calls during that test (0 to skip it)', int(0), 64)
  .option('--call-seconds <s>', 'duration of the eth_call test', num(0), 5)
  .option('--confidential <0|1>', 'Conclave only: transfers and signed-in balanceOf on a ConfidentialERC20 under its example policy (0 to skip)', onOff, true)
  .option('--dev <0|1>', 'dev methods on a fresh start of each RPC peer: hardhat_mine of 8,201 blocks, loadFixture cycles (0 to skip)', onOff, true)
  .option('--dev-cycles <count>', 'timed loadFixture cycles, and evm_snapshot + evm_revert pairs, per peer (after a warm-up of 10)', int(1), 200)
  .option('--max-fee-gwei <gwei>', 'maxFeePerGas of every transfer', num(0), 100)
  .option('--tip-gwei <gwei>', 'maxPriorityFeePerGas of every transfer', num(0), 1)
  .option('--stall-seconds <s>', 'fail a test when nothing progresses this long', num(1), 120)
  .option('--keep-data', 'keep the Conclave data directory', false);

program.parse();
const opts = program.opts<{
  n: number;
  concurrency: number;
  senders?: number;
  peers: PeerName[];
  sustained: number;
  sustainedPeers: PeerName[];
  window: number;
  backlog: number;
  latencyRate: number;
  latencySeconds: number;
  loopLatencyRate: number;
  loopClients: number;
  callSeconds: number;
  confidential: boolean;
  dev: boolean;
  devCycles: number;
  maxFeeGwei: number;
  tipGwei: number;
  stallSeconds: number;
  keepData: boolean;
}>();
const senderCount = opts.senders ?? opts.concurrency;
if (opts.tipGwei > opts.maxFeeGwei) program.error(`--tip-gwei (${opts.tipGwei}) must not exceed --max-fee-gwei (${opts.maxFeeGwei})`);
const stallMs = opts.stallSeconds * 1000;
const gwei = (g: number) => BigInt(Math.round(g * 1e9));
const fees = { maxFeePerGas: gwei(opts.maxFeeGwei), maxPriorityFeePerGas: gwei(opts.tipGwei) };

// ---------------------------------------------------------------- results

interface PeerResult {
  command?: string;
  setupSeconds?: number;
  c1?: ThroughputResult | VmRun;
  cN?: ThroughputResult | VmRun;
  latency?: LatencyResult;
  /** Transfer latency while clients run looping eth_calls. */
  latencyUnderLoops?: LatencyResult & { loopCallsAnswered: number; loopErrors: { message: string; count: number }[] };
  call?: CallResult;
  /** Conclave only: the same tests on a ConfidentialERC20 under its example policy. */
  confidential?: {
    setupSeconds?: number;
    c1?: ThroughputResult;
    cN?: ThroughputResult;
    /** balanceOf of the caller's own balance, each client signed in on a session of its own. */
    call?: CallResult;
  };
  sustained?: {
    runs: SustainedResult[];
    dataBytes?: number[];
    dataBytesPerTx?: number[];
    rssGrowthPercent?: number | null;
  };
  restart?: {
    afterSigkillSeconds?: number;
    afterSigtermSeconds?: number;
    shutdownSeconds?: number;
    headBefore?: string;
    headAfterSigkill?: string;
    headAfterSigterm?: string;
  };
  /** Dev methods, measured on a fresh start of the peer. */
  dev?: {
    command?: string;
    mine?: MineResult;
    /** evm_snapshot, a value transfer sent and its receipt read, evm_revert. */
    fixture?: CycleResult;
    /** evm_snapshot then evm_revert alone. */
    snapshotRevert?: CycleResult;
  };
  errors: { test: string; message: string }[];
  nodeProblems?: string[];
}

const results: Partial<Record<PeerName, PeerResult>> = {};
const info = machine();
const progress = new Progress();
const log = (msg: string) => progress.log(msg);

// ---------------------------------------------------------------- cleanup

let interrupted = false;
const homes: ConclaveHome[] = [];
function cleanupSync(): void {
  const pids = killAllStarted();
  if (pids.length) process.stderr.write(`bench: stopped started processes ${pids.join(', ')}\n`);
  if (!opts.keepData) for (const h of homes) h.cleanup();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    progress.stop();
    process.stderr.write(`\nbench: ${sig}, stopping\n`);
    cleanupSync();
    try {
      writeResults({ machine: info, options: opts, interrupted: true, results }, info.date);
    } catch {
      /* best effort */
    }
    process.exit(130);
  });
}

// ---------------------------------------------------------------- per peer

async function sendSetup(client: RpcClient, setup: SetupTx[], what: string, codeAt?: string): Promise<void> {
  progress.start(what, setup.length);
  let i = 0;
  for (const s of setup) {
    const res = await client.raw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [s.raw] }));
    if (res.error) throw new BenchError(`setup "${s.what}" refused: ${res.error.message} (code ${res.error.code})`);
    progress.update(++i, 'sending');
  }
  progress.update(i, 'receipts');
  await waitForReceipts(client, setup.map((s) => s.hash), stallMs);
  const v = await verifyReceipts(client, setup.map((s) => s.hash));
  checkVerification(v, what);
  if (codeAt) {
    const code = await client.call<string>('eth_getCode', [codeAt, 'latest']);
    if (!code || code === '0x') throw new BenchError(`${what}: no code at the token address ${codeAt}`);
  }
  progress.stop();
}

/** Starts an RPC peer on a port; ours on a fresh data directory. */
async function startRpcPeer(name: Exclude<PeerName, 'vm'>, port: number, anvilAutomine = false): Promise<{ proc: PeerProcess; home?: ConclaveHome }> {
  if (name === 'conclave' || name === 'conclave-admit') {
    const home = conclaveHome();
    homes.push(home);
    return { proc: await startConclave(home, port, name === 'conclave-admit'), home };
  }
  return { proc: name === 'hardhat' ? await startHardhat(port) : await startAnvil(port, anvilAutomine) };
}

async function runRpcPeer(name: Exclude<PeerName, 'vm'>, w: Workload, r: PeerResult): Promise<void> {
  const port = await freePort();
  log(`\n== ${name}: starting`);
  const started = await startRpcPeer(name, port);
  const home = started.home;
  let proc = started.proc;
  r.command = proc.command;
  log(`${name}: pid ${proc.pid}, ${proc.url}`);
  let client = new RpcClient(proc.url, opts.concurrency + 2);
  let txBroken: string | undefined;
  const attempt = async <T>(test: string, needsTx: boolean, fn: () => Promise<T>): Promise<T | undefined> => {
    if (interrupted) return undefined;
    if (needsTx && txBroken) {
      r.errors.push({ test, message: `skipped: ${txBroken} failed earlier (nonces no longer line up)` });
      return undefined;
    }
    try {
      return await fn();
    } catch (err) {
      progress.stop();
      const message = (err as Error).message;
      r.errors.push({ test, message });
      log(`${name}: ${test} FAILED: ${message}`);
      if (needsTx) txBroken = test;
      if (proc.exited()) throw new BenchError(`${name} exited; last output:\n${proc.output().slice(-3000)}`);
      return undefined;
    }
  };
  try {
    const chainId = BigInt(await client.call<string>('eth_chainId'));
    if (chainId !== CHAIN_ID) throw new BenchError(`${name}: chain id ${chainId}, expected ${CHAIN_ID}`);
    const t0 = performance.now();
    await attempt('setup', true, () => sendSetup(client, w.setup, 'setup (deploy ERC20, fund senders)', w.token));
    r.setupSeconds = (performance.now() - t0) / 1000;

    const phase = (p: string) => w.phases.get(p)!;
    const tp = (label: string, ph: Phase, c: number, what = 'transfers', needsTx = true) =>
      attempt(label, needsTx, async () => {
        progress.start(`${name}: ${ph.count} ${what} c=${c}`, ph.count, 'tx');
        const res = await throughput(client, ph, c, stallMs, (n, stage) => progress.update(n, stage));
        progress.stop();
        log(`${name}: ${what} c=${c}: ${res.tps.toFixed(0)} tx/s (${res.seconds.toFixed(2)} s, sends done at ${res.sendSeconds.toFixed(2)} s, ${res.blocks} blocks)`);
        return res;
      });
    r.c1 = await tp('transfers c=1', phase('c1'), 1);
    r.cN = await tp(`transfers c=${opts.concurrency}`, phase('cN'), opts.concurrency);

    const lat = phase('latency');
    if (lat.count > 0) {
      r.latency = await attempt('latency', true, async () => {
        progress.start(`${name}: latency @${opts.latencyRate} tx/s`, lat.count, 'tx');
        const res = await latency(client, proc.wsUrl, lat, opts.latencyRate, stallMs, (n, stage) => progress.update(n, stage));
        progress.stop();
        log(
          `${name}: latency @${opts.latencyRate} tx/s offered (${res.sentTps.toFixed(0)} sent): p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, max ${res.max.toFixed(1)} ms; accepted p50 ${res.acceptedP50.toFixed(1)} ms, p99 ${res.acceptedP99.toFixed(1)} ms (${res.blocks} blocks, heads by ${res.headSource})`,
        );
        return res;
      });
    }

    if (opts.callSeconds > 0 && r.setupSeconds !== undefined && !r.errors.some((e) => e.test === 'setup')) {
      r.call = await attempt(`eth_call c=${opts.concurrency}`, false, async () => {
        const holders = r.c1
          ? holdersOf(phase('c1'))
          : [{ address: DEV_ADDRESSES[0]!, balance: 10n ** 24n * BigInt(senderCount) }];
        progress.start(`${name}: eth_call c=${opts.concurrency}`, Math.round(opts.callSeconds), 's');
        const t = performance.now();
        const res = await callThroughput(client, w.token, holders, opts.concurrency, opts.callSeconds, (n) =>
          progress.update(Math.min(Math.round((performance.now() - t) / 1000), Math.round(opts.callSeconds)), `${n} calls`),
        );
        progress.stop();
        log(`${name}: eth_call c=${opts.concurrency}: ${res.cps.toFixed(0)} calls/s${res.errors.length ? ` (errors: ${JSON.stringify(res.errors)})` : ''}`);
        return res;
      });
    }

    // Conclave only, next to the public tests on the same chain: its own senders, so the
    // nonces of the phases after it do not depend on it.
    const confC1 = w.phases.get('confidentialC1');
    const confCN = w.phases.get('confidentialCN');
    if (name === 'conclave' && confC1 && confCN) {
      const cr: NonNullable<PeerResult['confidential']> = {};
      r.confidential = cr;
      const ready = await attempt('confidential setup', false, async () => {
        const t = performance.now();
        const stages = buildConfidentialSetup(senderCount, CHAIN_ID, fees, w.setup);
        const whats = ['fund its deployer and senders', 'register its policy in advance', 'deploy ConfidentialERC20, fund senders'];
        for (const [i, stage] of stages.entries()) {
          await sendSetup(client, stage, `confidential setup: ${whats[i]}`, i === stages.length - 1 ? CONFIDENTIAL_TOKEN_ADDRESS : undefined);
        }
        await checkConfidentialToken(client, stages[2]![0]!.hash, confidentialSenderAddress(0));
        cr.setupSeconds = (performance.now() - t) / 1000;
        return true;
      });
      if (ready) cr.c1 = await tp('confidential transfers c=1', confC1, 1, 'confidential transfers', false);
      if (cr.c1) cr.cN = await tp(`confidential transfers c=${opts.concurrency}`, confCN, opts.concurrency, 'confidential transfers', false);
      if (cr.cN && opts.callSeconds > 0) {
        cr.call = await attempt(`confidential balanceOf c=${opts.concurrency}`, false, async () => {
          progress.start(`${name}: signing in ${senderCount} senders`, senderCount);
          const tokens: string[] = [];
          for (const key of confidentialSenderKeys(senderCount)) {
            tokens.push(await signIn(client, proc.url, CHAIN_ID, key));
            progress.update(tokens.length);
          }
          progress.stop();
          const sessions = Array.from({ length: opts.concurrency }, (_, i) => new RpcClient(sessionUrl(proc.url, tokens[i % tokens.length]!), 1));
          try {
            progress.start(`${name}: confidential balanceOf c=${opts.concurrency}`, Math.round(opts.callSeconds), 's');
            const t = performance.now();
            const res = await callThroughput(sessions, CONFIDENTIAL_TOKEN_ADDRESS, confidentialBalances(senderCount, [confC1, confCN]), opts.concurrency, opts.callSeconds, (n) =>
              progress.update(Math.min(Math.round((performance.now() - t) / 1000), Math.round(opts.callSeconds)), `${n} calls`),
            );
            progress.stop();
            log(`${name}: confidential balanceOf (own, signed in) c=${opts.concurrency}: ${res.cps.toFixed(0)} calls/s`);
            // Every answer must be the caller's balance: a refusal or a wrong value fails the test (the figure stays).
            for (const e of res.errors) r.errors.push({ test: `confidential balanceOf c=${opts.concurrency}`, message: `${e.count} x ${e.message}` });
            return res;
          } finally {
            await Promise.all(sessions.map((c) => c.close()));
          }
        });
      }
    }

    if (opts.sustained > 0 && opts.sustainedPeers.includes(name)) {
      const s: NonNullable<PeerResult['sustained']> = { runs: [] };
      r.sustained = s;
      const rss = () => rssBytes(proc.pid);
      for (const pname of ['sustained1', 'sustained2']) {
        const ph = phase(pname);
        const res = await attempt(`${pname} (${ph.count} transfers)`, true, async () => {
          const before = home ? dirBytes(home.dataDir) : undefined;
          progress.start(`${name}: ${pname} c=${opts.concurrency}`, ph.count, 'tx');
          const res = await sustained(client, proc.wsUrl, ph, opts.concurrency, opts.window, opts.backlog, rss, stallMs, (inc, sent) =>
            progress.update(inc, `sent ${sent}`),
          );
          progress.stop();
          if (home && before !== undefined) {
            const after = dirBytes(home.dataDir);
            (s.dataBytes ??= []).push(after);
            (s.dataBytesPerTx ??= []).push((after - before) / ph.count);
          }
          log(
            `${name}: ${pname}: ${res.tps.toFixed(0)} tx/s overall; windows ${res.windows.map((x) => x.tps.toFixed(0)).join(', ')} tx/s; RSS ${mib(res.rssStartBytes).toFixed(0)} -> ${mib(res.rssEndBytes).toFixed(0)} MiB`,
          );
          return res;
        });
        if (!res) break;
        s.runs.push(res);
      }
      if (s.runs.length === 2 && s.runs[0]!.rssEndBytes && s.runs[1]!.rssEndBytes) {
        s.rssGrowthPercent = ((s.runs[1]!.rssEndBytes - s.runs[0]!.rssEndBytes) / s.runs[0]!.rssEndBytes) * 100;
      }
    }

    // Restart time is measured after the sustained run (it is about recovering that much history).
    if (name === 'conclave' && home && opts.sustained > 0) {
      const h = home;
      const rs: NonNullable<PeerResult['restart']> = {};
      r.restart = rs;
      await attempt('restart', false, async () => {
        rs.headBefore = BigInt(await client.call<string>('eth_blockNumber')).toString();
        await client.close();
        r.nodeProblems = proc.problems();
        const restart = async (signal: 'SIGKILL' | 'SIGTERM') => {
          log(`${name}: ${signal}, then restart on the same data directory`);
          const stopped = await proc.stop(signal, 60_000);
          if (signal === 'SIGTERM') rs.shutdownSeconds = stopped.ms / 1000;
          const t = performance.now();
          const starting = startConclave(h, port);
          starting.catch(() => {});
          let exited = false;
          void starting.then((p) => (proc = p)).catch(() => (exited = true));
          const res = await waitForRpc(`http://127.0.0.1:${port}`, t, 300_000, () => exited);
          proc = await starting;
          log(`${name}: restart after ${signal}: ${(res.ms / 1000).toFixed(2)} s to the first eth_blockNumber (head ${res.head})`);
          if (res.head < BigInt(rs.headBefore!)) throw new BenchError(`after ${signal} the head is ${res.head}, before it was ${rs.headBefore}`);
          return res;
        };
        const k = await restart('SIGKILL');
        rs.afterSigkillSeconds = k.ms / 1000;
        rs.headAfterSigkill = k.head.toString();
        const t = await restart('SIGTERM');
        rs.afterSigtermSeconds = t.ms / 1000;
        rs.headAfterSigterm = t.head.toString();
      });
      client = new RpcClient(proc.url, 2);
    }
    // Last: a peer that cannot bound a looping call stays busy with it after the test.
    const latLoops = w.phases.get('latencyLoops');
    if (latLoops && latLoops.count > 0) {
      r.latencyUnderLoops = await attempt(`latency under ${opts.loopClients} looping eth_calls`, true, async () => {
        progress.start(`${name}: latency @${opts.loopLatencyRate} tx/s, ${opts.loopClients} looping calls`, latLoops.count, 'tx');
        const loops = startLoopingCalls(proc.url, opts.loopClients);
        let res: LatencyResult;
        try {
          res = await latency(client, proc.wsUrl, latLoops, opts.loopLatencyRate, stallMs, (n, stage) => progress.update(n, stage));
        } finally {
          progress.update(latLoops.count, 'stopping the looping calls');
        }
        const calls = await loops.stop();
        progress.stop();
        log(
          `${name}: latency @${opts.loopLatencyRate} tx/s with ${opts.loopClients} clients running looping eth_calls: p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, max ${res.max.toFixed(1)} ms (${calls.answered} looping calls answered: ${JSON.stringify(calls.errors)})`,
        );
        return { ...res, loopCallsAnswered: calls.answered, loopErrors: calls.errors };
      });
    }
  } finally {
    await stopPeer(name, proc, home, client, r);
  }
}

/** Stops a peer after its tests: closes the client, keeps what it printed of note, removes our data directory. */
async function stopPeer(name: string, proc: PeerProcess, home: ConclaveHome | undefined, client: RpcClient, r: PeerResult): Promise<void> {
  progress.stop();
  await client.close();
  r.nodeProblems = [...new Set([...(r.nodeProblems ?? []), ...proc.problems()])];
  const stopped = await proc.stop('SIGTERM', 30_000);
  log(`${name}: stopped (pid ${proc.pid}, exit ${stopped.code ?? stopped.signal})`);
  if (home && !opts.keepData) home.cleanup();
  else if (home) log(`${name}: data kept in ${home.dir}`);
}

/** hardhat-network-helpers' `mine(8201)`: past the 8,191-block window of EIP-2935's block-hash history. */
const MINE_BLOCKS = 8201;
const DEV_WARMUP = 10;

/**
 * The dev methods, on a fresh start of the peer rather than after its other tests:
 * the mine changes the chain the later phases run on (the restart test would replay
 * it), and a test suite meets these methods on a fresh node, not one holding the
 * sustained run's history or still busy with looping calls. Anvil runs in its default
 * automine mode here, as test suites run it (with a block a second, each cycle would
 * wait for the next block). The cycles run on the fresh chain; the mine comes last.
 */
async function runDevPeer(name: Exclude<PeerName, 'vm'>, r: PeerResult): Promise<void> {
  const d: NonNullable<PeerResult['dev']> = {};
  r.dev = d;
  const port = await freePort();
  log(`\n== ${name}: dev methods, on a fresh start`);
  const { proc, home } = await startRpcPeer(name, port, true);
  d.command = proc.command;
  // Anvil mines 8,201 blocks one by one: minutes on a loaded machine, beyond the usual 120 s.
  const client = new RpcClient(proc.url, 2, 600_000);
  const attempt = async <T>(test: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (interrupted) return undefined;
    try {
      return await fn();
    } catch (err) {
      progress.stop();
      const message = (err as Error).message;
      r.errors.push({ test: `dev: ${test}`, message });
      log(`${name}: ${test} FAILED: ${message}`);
      if (proc.exited()) throw new BenchError(`${name} exited; last output:\n${proc.output().slice(-3000)}`);
      return undefined;
    }
  };
  try {
    d.fixture = await attempt('loadFixture cycle', async () => {
      progress.start(`${name}: loadFixture cycles`, opts.devCycles);
      const res = await fixtureCycles(client, {
        cycles: opts.devCycles,
        warmup: DEV_WARMUP,
        key: DEV_KEYS[0],
        to: DEV_ADDRESSES[1]!,
        chainId: CHAIN_ID,
        fees,
        stallMs,
        onProgress: (n) => progress.update(n),
      });
      progress.stop();
      log(
        `${name}: loadFixture cycle (evm_snapshot, transfer + receipt, evm_revert): ${res.perSecond.toFixed(0)} cycles/s (${res.cycles} in ${res.seconds.toFixed(2)} s)${res.resent ? `; ${res.resent.count} sends refused and sent again (${res.resent.first})` : ''}`,
      );
      return res;
    });
    d.snapshotRevert = await attempt('evm_snapshot + evm_revert', async () => {
      progress.start(`${name}: evm_snapshot + evm_revert`, opts.devCycles);
      const res = await snapshotRevertCycles(client, opts.devCycles, DEV_WARMUP, (n) => progress.update(n));
      progress.stop();
      log(`${name}: evm_snapshot + evm_revert: ${res.perSecond.toFixed(0)} pairs/s (${res.cycles} in ${res.seconds.toFixed(2)} s)`);
      return res;
    });
    d.mine = await attempt(`mine ${MINE_BLOCKS} blocks`, async () => {
      log(`${name}: mining ${MINE_BLOCKS} blocks in one request`);
      const res = await mineBlocks(client, MINE_BLOCKS);
      if (res.hardhatMineRefused) log(`${name}: hardhat_mine refused (${res.hardhatMineRefused}); used anvil_mine`);
      log(`${name}: ${res.method} of ${res.blocks} blocks: ${res.ms.toFixed(0)} ms (head ${res.headBefore} -> ${res.headAfter})`);
      return res;
    });
  } finally {
    await stopPeer(name, proc, home, client, r);
  }
}

async function runVm(w: Workload, r: PeerResult): Promise<void> {
  log(`\n== vm: in-process @ethereumjs/vm runTx loop`);
  const vm = await VmPeer.create();
  await vm.runSetup(w.setup);
  for (const [key, label] of [
    ['c1', 'c1'],
    ['cN', 'cN'],
  ] as const) {
    const ph = w.phases.get(key)!;
    progress.start(`vm: ${ph.count} transfers (runTx loop)`, ph.count, 'tx');
    const res = await vm.runPhase(ph, (n) => progress.update(n));
    progress.stop();
    if (res.failed) r.errors.push({ test: label, message: `${res.failed} transfers reverted in the VM` });
    log(`vm: ${res.tps.toFixed(0)} tx/s (${(res.ms / 1000).toFixed(2)} s)`);
    r[label] = res;
  }
}

// ---------------------------------------------------------------- main

function summaryRows(peers: PeerName[]): Row[] {
  const get = <T>(p: PeerName, f: (r: PeerResult) => T | undefined) => (results[p] ? f(results[p]!) : undefined);
  const rows: Row[] = [];
  const row = (metric: string, unit: string, better: Row['better'], f: (r: PeerResult) => number | string | undefined) => {
    const values: Row['values'] = {};
    for (const p of peers) {
      const v = get(p, f);
      if (v !== undefined) values[p] = v;
    }
    rows.push({ metric, unit, better, values });
  };
  row('ERC20 transfers, c=1', 'tx/s', 'higher', (r) => r.c1?.tps);
  row(`ERC20 transfers, c=${opts.concurrency}`, 'tx/s', 'higher', (r) => r.cN?.tps);
  row('confidential ERC20 transfers, c=1', 'tx/s', 'higher', (r) => r.confidential?.c1?.tps);
  row(`confidential ERC20 transfers, c=${opts.concurrency}`, 'tx/s', 'higher', (r) => r.confidential?.cN?.tps);
  row(`latency p50 @${opts.latencyRate} tx/s`, 'ms', 'lower', (r) => r.latency?.p50);
  row(`latency p99 @${opts.latencyRate} tx/s`, 'ms', 'lower', (r) => r.latency?.p99);
  row(`latency p50 @${opts.loopLatencyRate} tx/s, ${opts.loopClients} looping eth_calls`, 'ms', 'lower', (r) => r.latencyUnderLoops?.p50);
  row(`latency p99 @${opts.loopLatencyRate} tx/s, ${opts.loopClients} looping eth_calls`, 'ms', 'lower', (r) => r.latencyUnderLoops?.p99);
  row(`eth_call balanceOf, c=${opts.concurrency}`, 'calls/s', 'higher', (r) => r.call?.cps);
  row(`confidential balanceOf (own, signed in), c=${opts.concurrency}`, 'calls/s', 'higher', (r) => r.confidential?.call?.cps);
  if (opts.sustained > 0) {
    const s = (r: PeerResult, i: number) => r.sustained?.runs[i];
    row(`sustained ${opts.sustained} transfers, run 1`, 'tx/s', 'higher', (r) => s(r, 0)?.tps);
    row(`sustained ${opts.sustained} transfers, run 2`, 'tx/s', 'higher', (r) => s(r, 1)?.tps);
    row('sustained: last window / first', 'x', 'higher', (r) => {
      const w = s(r, 0)?.windows;
      return w && w.length > 1 ? w[w.length - 1]!.tps / w[0]!.tps : undefined;
    });
    row('RSS after run 1', 'MiB', 'lower', (r) => (s(r, 0) ? mib(s(r, 0)!.rssEndBytes) : undefined));
    row('RSS growth, run 2 over run 1', '%', 'lower', (r) => r.sustained?.rssGrowthPercent ?? undefined);
    row('data directory per transfer, run 1', 'bytes', 'lower', (r) => r.sustained?.dataBytesPerTx?.[0]);
  }
  row(`mine ${MINE_BLOCKS.toLocaleString('en-US')} blocks (hardhat_mine)`, 'ms', 'lower', (r) => r.dev?.mine?.ms);
  row('loadFixture cycle: evm_snapshot, transfer + receipt, evm_revert', 'cycles/s', 'higher', (r) => r.dev?.fixture?.perSecond);
  row('evm_snapshot + evm_revert', 'pairs/s', 'higher', (r) => r.dev?.snapshotRevert?.perSecond);
  row('restart after SIGKILL', 's', 'lower', (r) => r.restart?.afterSigkillSeconds);
  row('restart after SIGTERM', 's', 'lower', (r) => r.restart?.afterSigtermSeconds);
  return rows.filter((x) => Object.keys(x.values).length > 0);
}

async function main(): Promise<void> {
  const peers = opts.peers;
  process.stderr.write(
    `bench: ${info.date}; ${info.cores} cores, ${info.cpu}, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform}\n` +
      `bench: peers ${peers.join(', ')}; n=${opts.n}, concurrency=${opts.concurrency}, senders=${senderCount}, latency ${opts.latencyRate} tx/s x ${opts.latencySeconds} s, eth_call ${opts.callSeconds} s, sustained ${opts.sustained} x 2 on ${opts.sustainedPeers.filter((p) => peers.includes(p)).join(', ') || 'none'}, dev methods ${opts.dev ? `${opts.devCycles} cycles` : 'off'}\n`,
  );

  if (!fs.existsSync(artifactPath('ConclaveToken'))) {
    log('bench: contracts/artifacts/ConclaveToken.json missing: npm run compile');
    const r = spawnSync('npm', ['run', 'compile', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run compile failed');
  }

  const latencyCount = Math.round(opts.latencyRate * opts.latencySeconds);
  const doSustained = opts.sustained > 0 && opts.sustainedPeers.some((p) => peers.includes(p) && p !== 'vm');
  const specs: PhaseSpec[] = [
    { name: 'c1', count: opts.n, recipientBase: 0 },
    { name: 'cN', count: opts.n, recipientBase: opts.n },
    { name: 'latency', count: latencyCount, recipientBase: 2 * opts.n },
  ];
  if (doSustained) {
    const base = 2 * opts.n + latencyCount;
    // The second run pays the same recipients: same accounts, no new state.
    specs.push({ name: 'sustained1', count: opts.sustained, recipientBase: base }, { name: 'sustained2', count: opts.sustained, recipientBase: base });
  }
  if (opts.confidential && peers.includes('conclave')) {
    // Its own senders and nonces; fresh recipients in the confidential token's storage, as in c1 and cN.
    const keys = confidentialSenderKeys(senderCount);
    specs.push(
      { name: 'confidentialC1', count: opts.n, recipientBase: 0, token: CONFIDENTIAL_TOKEN_ADDRESS, keys },
      { name: 'confidentialCN', count: opts.n, recipientBase: opts.n, token: CONFIDENTIAL_TOKEN_ADDRESS, keys },
    );
  }
  // Runs last on each peer (nonces follow the phases before it); pays the latency test's recipients again.
  if (opts.loopClients > 0) {
    specs.push({ name: 'latencyLoops', count: Math.round(opts.loopLatencyRate * opts.latencySeconds), recipientBase: 2 * opts.n });
  }
  const total = specs.reduce((a, s) => a + s.count, 0);
  let signedBefore = 0;
  let current = '';
  progress.start('pre-signing transfers', total, 'tx');
  const tSign = performance.now();
  const workload = await buildWorkload(
    senderCount,
    fees,
    specs,
    (phase, done, count, cached) => {
      if (phase !== current) {
        if (current) signedBefore += specs.find((s) => s.name === current)!.count;
        current = phase;
      }
      progress.update(signedBefore + done, cached ? `${phase} (cached)` : phase);
    },
  );
  progress.stop();
  log(`bench: ${total} transfers ready in ${((performance.now() - tSign) / 1000).toFixed(1)} s (token ${workload.token}; recipient 0 ${recipientAddress(0)})`);

  for (const p of peers) {
    if (interrupted) break;
    const r: PeerResult = { errors: [] };
    results[p] = r;
    try {
      if (p === 'vm') await runVm(workload, r);
      else await runRpcPeer(p, workload, r);
    } catch (err) {
      progress.stop();
      const message = (err as Error).message;
      r.errors.push({ test: 'peer', message });
      log(`${p}: FAILED: ${message}`);
    }
    if (opts.dev && p !== 'vm' && !interrupted) {
      try {
        await runDevPeer(p, r);
      } catch (err) {
        progress.stop();
        const message = (err as Error).message;
        r.errors.push({ test: 'dev', message });
        log(`${p}: dev methods FAILED: ${message}`);
      }
    }
  }

  const rows = summaryRows(peers);
  const table = renderTable(rows, peers);
  const notes: string[] = [];
  for (const p of peers) {
    const r = results[p];
    if (!r) continue;
    const cn = r.cN as ThroughputResult | undefined;
    if (cn && 'blocks' in cn) {
      notes.push(`${p}: c=${opts.concurrency} run used ${cn.blocks} blocks (${cn.txsPerBlock.toFixed(1)} transfers/block); its sends were done at ${cn.sendSeconds.toFixed(2)} s of ${cn.seconds.toFixed(2)} s`);
      const c1 = r.c1 as ThroughputResult | undefined;
      if (p === 'anvil' && (cn.blocks <= 5 || (c1 && 'blocks' in c1 && c1.blocks <= 5))) {
        notes.push(
          `anvil: the throughput runs fit in ${c1 && 'blocks' in c1 ? c1.blocks : '?'} and ${cn.blocks} block(s) of 1 s, so its figures are quantised by the block time (sends, then the wait for the next block); a larger --n gives steadier figures`,
        );
      }
    }
    const ccn = r.confidential?.cN;
    if (ccn) notes.push(`${p}: confidential c=${opts.concurrency} run used ${ccn.blocks} blocks (${ccn.txsPerBlock.toFixed(1)} transfers/block); its sends were done at ${ccn.sendSeconds.toFixed(2)} s of ${ccn.seconds.toFixed(2)} s`);
    if (r.latency && r.latency.sentTps < 0.95 * r.latency.offeredTps) {
      notes.push(
        `${p}: could not take the offered ${r.latency.offeredTps} tx/s (a sender's next transfer waits for the previous one to be accepted; sends left at ${r.latency.sentTps.toFixed(0)} tx/s), so its latency includes queueing behind the load`,
      );
    }
    for (const [i, run] of (r.sustained?.runs ?? []).entries()) {
      notes.push(
        `${p}: sustained run ${i + 1}: windows of ${opts.window}: ${run.windows.map((x) => x.tps.toFixed(0)).join(', ')} tx/s; RSS at windows (MiB): ${run.windows.map((x) => mib(x.rssBytes).toFixed(0)).join(', ')}; ${run.blocks} blocks (${(run.txs / Math.max(1, run.blocks)).toFixed(1)} transfers/block), base fee at the end ${run.baseFeeGweiEnd === null ? '?' : run.baseFeeGweiEnd.toPrecision(3)} gwei`,
      );
    }
    if (r.sustained?.dataBytes) notes.push(`${p}: data directory after the sustained runs: ${r.sustained.dataBytes.map((b) => (b / 2 ** 20).toFixed(1) + ' MiB').join(', ')}`);
    const resent = r.dev?.fixture?.resent;
    if (resent) notes.push(`${p}: loadFixture cycles: ${resent.count} sends refused and sent again (warm-up included; first refusal: ${resent.first})`);
    if (r.dev?.mine?.hardhatMineRefused) notes.push(`${p}: refused hardhat_mine (${r.dev.mine.hardhatMineRefused}); mined with anvil_mine`);
    if (r.restart?.shutdownSeconds !== undefined) notes.push(`${p}: clean shutdown (SIGTERM) took ${r.restart.shutdownSeconds.toFixed(2)} s`);
    for (const e of r.errors) notes.push(`${p}: ERROR in ${e.test}: ${e.message}`);
    if (r.nodeProblems?.length) notes.push(`${p}: warnings/errors in the node's output:\n    ${r.nodeProblems.slice(0, 20).join('\n    ')}`);
  }
  const header = `Conclave bench, ${info.date}\nmachine: ${info.cores} cores, ${info.cpu}, ${info.memoryGiB} GiB RAM, Node ${info.node}, ${info.platform} ${info.kernel}\ncommand: npm run bench -- ${process.argv.slice(2).join(' ')}`.trimEnd();
  const legend =
    'ours/peer: Conclave\'s figure divided by the peer\'s (↓: lower is better). hardhat: `hardhat node`, automine, loggingEnabled: false; anvil: --block-time 1 --gas-limit 300000000 --quiet; vm: in-process @ethereumjs/vm runTx loop (default state manager and crypto; no RPC, blocks, roots or disk).' +
    (opts.dev ? ` Dev-method rows: a fresh start of each peer (anvil without --block-time, i.e. automine), one request at a time; ${opts.devCycles} timed cycles after ${DEV_WARMUP} of warm-up; the mine is the wall time of the one request.` : '');
  const file = writeResults(
    {
      machine: info,
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      options: { ...opts, senders: senderCount },
      rows,
      results,
      notes,
    },
    info.date,
  );
  process.stdout.write(`\n${header}\n\n${table}\n\n${legend}\n${notes.length ? '\n' + notes.map((n) => '- ' + n).join('\n') + '\n' : ''}\nresults: ${file}\n`);
}

main().then(
  () => {
    cleanupSync();
    // 2: the table is there, but some test failed (see the notes).
    process.exit(Object.values(results).some((r) => r && r.errors.length) ? 2 : 0);
  },
  (err) => {
    progress.stop();
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    cleanupSync();
    process.exit(1);
  },
);
