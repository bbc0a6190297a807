/**
 * Starting and stopping the nodes under test. Every process this module starts is
 * recorded by pid; only those (and their own children, found through /proc before
 * the signal) are ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './workload.ts';

export const ROOT = path.resolve(BENCH_DIR, '..');

/**
 * `conclave` answers a send once its block is durable (Hardhat's semantics, the default);
 * `conclave-admit` is the same node started with --send-returns-at-admission.
 */
export type PeerName = 'conclave' | 'conclave-admit' | 'hardhat' | 'anvil' | 'vm';
export const ALL_PEERS: PeerName[] = ['conclave', 'conclave-admit', 'hardhat', 'anvil', 'vm'];

export interface PeerProcess {
  name: PeerName;
  pid: number;
  url: string;
  wsUrl: string;
  /** The command line, for the report. */
  command: string;
  /** Last output lines (stdout and stderr), for failure messages. */
  output(): string;
  /** Warning/error lines the process printed since start (bounded). */
  problems(): string[];
  exited(): boolean;
  /** Signals the process (and its children) and waits for it to exit; SIGKILL after graceMs. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const started = new Map<number, ChildProcess>();

/** Pids of the children of `pid`, recursively (Linux /proc). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) {
        const kid = Number(k);
        if (!out.includes(kid)) {
          out.push(kid);
          walk(kid);
        }
      }
    }
  };
  walk(pid);
  return out;
}

function vmRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size of a process and its children, in bytes. */
export function rssBytes(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + vmRssBytes(p), 0);
}

/** Bytes under a directory (files only, apparent size). */
export function dirBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          total += fs.statSync(p).size;
        } catch {
          /* removed meanwhile */
        }
      }
    }
  };
  walk(dir);
  return total;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface SpawnSpec {
  name: PeerName;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  /**
   * When it is ready: a line it prints (with its URLs from the match), or, for a peer
   * that prints nothing, its URLs once its HTTP endpoint answers eth_chainId.
   */
  ready: { line: RegExp; urls: (m: RegExpExecArray) => [string, string] } | { answers: [string, string] };
  timeoutMs: number;
  /** Runs once the process has exited (e.g. removes its temp files). */
  onExit?: () => void;
}

const PROBLEM = /\b(error|fatal|panic|warn(ing)?|exception|uncaught)\b/i;
/** The dev-account banners every dev node prints. */
const BANNER = /WARNING: these accounts|Any funds sent to them|publicly known/i;

function spawnPeer(spec: SpawnSpec): Promise<PeerProcess> {
  const child = spawn(spec.cmd, spec.args, {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) return Promise.reject(new Error(`${spec.name}: could not spawn ${spec.cmd}`));
  const pid = child.pid;
  started.set(pid, child);
  let tail = '';
  const problems: string[] = [];
  let partial = '';
  const onData = (d: Buffer) => {
    const s = d.toString();
    tail = (tail + s).slice(-16_384);
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (problems.length < 200 && PROBLEM.test(line) && !BANNER.test(line)) problems.push(line.trim().slice(0, 500));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      started.delete(pid);
      try {
        spec.onExit?.();
      } catch {
        /* best effort */
      }
      resolve(exitInfo);
    }),
  );

  const proc: PeerProcess = {
    name: spec.name,
    pid,
    url: '',
    wsUrl: '',
    command: [spec.cmd === process.execPath ? 'node' : path.relative(ROOT, spec.cmd), ...spec.args].join(' '),
    output: () => tail,
    problems: () => problems.slice(),
    exited: () => exitInfo !== undefined,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      const t0 = performance.now();
      if (exitInfo) return { ...exitInfo, ms: 0 };
      const kids = descendants(pid);
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
      let timer: NodeJS.Timeout | undefined;
      const res = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs))),
      ]);
      clearTimeout(timer);
      if (res === 'timeout') {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await exited;
      }
      // Children that outlived their parent (e.g. a helper process) are ours too.
      for (const k of kids) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      return { ...exitInfo!, ms: performance.now() - t0 };
    },
  };

  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      void proc.stop('SIGKILL');
      reject(new Error(`${spec.name} did not start within ${spec.timeoutMs / 1000} s (${proc.command}); output:\n${tail}`));
    }, spec.timeoutMs);
    const ready = spec.ready;
    if ('answers' in ready) {
      const probe = async () => {
        if (exitInfo) return;
        const ok = await fetch(ready.answers[0], {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        }).then((r) => r.ok, () => false);
        if (!ok) return void setTimeout(probe, 100);
        clearTimeout(timer);
        [proc.url, proc.wsUrl] = ready.answers;
        resolve(proc);
      };
      void probe();
    } else {
      const onReady = (d: Buffer) => {
        buf += d.toString();
        const m = ready.line.exec(buf);
        if (!m) return;
        clearTimeout(timer);
        child.stdout!.off('data', onReady);
        child.stderr!.off('data', onReady);
        [proc.url, proc.wsUrl] = ready.urls(m);
        resolve(proc);
      };
      child.stdout!.on('data', onReady);
      child.stderr!.on('data', onReady);
    }
    void exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited (code ${info.code}, signal ${info.signal}) before it was ready (${proc.command}); output:\n${tail}`));
    });
  });
}

export interface ConclaveHome {
  dir: string;
  dataDir: string;
  secretFile: string;
  cleanup(): void;
}

export function conclaveHome(): ConclaveHome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conclave-bench-'));
  return {
    dir,
    dataDir: path.join(dir, 'data'),
    secretFile: path.join(dir, 'platform-secret'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Our node, as a user starts it: `conclave start` with default settings (or answering sends at admission). */
export function startConclave(home: ConclaveHome, port: number, admit = false): Promise<PeerProcess> {
  return spawnPeer({
    name: admit ? 'conclave-admit' : 'conclave',
    cmd: process.execPath,
    // CONCLAVE_BENCH_NODE_FLAGS passes Node flags to our node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    args: [
      ...(process.env.CONCLAVE_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      path.join(ROOT, 'bin/conclave.js'),
      'start',
      '--port',
      String(port),
      '--data',
      home.dataDir,
      '--platform-secret-file',
      home.secretFile,
      ...(admit ? ['--send-returns-at-admission'] : []),
    ],
    ready: { line: /Listening on (http:\/\/\S+) \(HTTP\) and (ws:\/\/\S+) \(WebSocket\)/, urls: (m) => [m[1]!, m[2]!] },
    timeoutMs: 180_000,
  });
}

export function startHardhat(port: number): Promise<PeerProcess> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conclave-bench-hardhat-'));
  return spawnPeer({
    name: 'hardhat',
    cmd: process.execPath,
    args: [
      path.join(ROOT, 'node_modules/hardhat/internal/cli/bootstrap.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      path.join(BENCH_DIR, 'hardhat.config.cjs'),
    ],
    env: { HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', BENCH_HARDHAT_CACHE: cacheDir },
    onExit: () => fs.rmSync(cacheDir, { recursive: true, force: true }),
    ready: {
      line: /Started HTTP and WebSocket JSON-RPC server at (\S+?)\/?\s/,
      urls: (m) => [`http://${m[1]!.replace(/^https?:\/\//, '')}/`, `ws://${m[1]!.replace(/^https?:\/\//, '')}/`],
    },
    timeoutMs: 120_000,
  });
}

export const ANVIL_BIN = path.join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');

/**
 * Anvil as the throughput tests run it (a block a second), or with `automine` in its
 * default mode, a block per transaction, as test suites run it.
 */
export function startAnvil(port: number, automine = false): Promise<PeerProcess> {
  if (!fs.existsSync(ANVIL_BIN)) {
    return Promise.reject(new Error(`anvil not found at ${ANVIL_BIN}: run npm install (devDependency @foundry-rs/anvil-linux-amd64)`));
  }
  return spawnPeer({
    name: 'anvil',
    cmd: ANVIL_BIN,
    // --quiet: no log line per request or transaction (its fastest documented
    // configuration); it then prints nothing, so it is ready once it answers.
    args: ['--host', '127.0.0.1', '--port', String(port), ...(automine ? [] : ['--block-time', '1']), '--gas-limit', '300000000', '--hardfork', 'prague', '--chain-id', '31337', '--quiet'],
    ready: { answers: [`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`] },
    timeoutMs: 60_000,
  });
}

/** Kills (SIGKILL) every process this module started that is still running. Synchronous: usable on exit. */
export function killAllStarted(): number[] {
  const pids = [...started.keys()];
  for (const pid of pids) {
    const kids = descendants(pid);
    for (const p of [pid, ...kids]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  started.clear();
  return pids;
}

/** Waits until eth_blockNumber answers; returns ms from `t0` (performance.now()). */
export async function waitForRpc(url: string, t0: number, timeoutMs: number, exited: () => boolean): Promise<{ ms: number; head: bigint }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
  const deadline = t0 + timeoutMs;
  let lastErr = '';
  while (performance.now() < deadline) {
    if (exited()) throw new Error(`process exited before answering eth_blockNumber (last error: ${lastErr})`);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5_000) });
      const j = (await res.json()) as { result?: string; error?: { message: string } };
      if (j.result) return { ms: performance.now() - t0, head: BigInt(j.result) };
      lastErr = j.error?.message ?? JSON.stringify(j);
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no answer to eth_blockNumber at ${url} within ${timeoutMs / 1000} s (last error: ${lastErr})`);
}
