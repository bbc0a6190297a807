import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode, type NodeOptions, type RunningNode } from '../../node/startNode.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Well-known private key of dev account 0 (standard test mnemonic): public by design. */
export const DEV_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const DEV_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const DEV_ADDRESS_0 = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

/** A fresh temp directory holding a data dir and a platform secret file. */
export function tempHome(prefix = 'conclave-test-'): { dir: string; dataDir: string; secretFile: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    dataDir: path.join(dir, 'data'),
    secretFile: path.join(dir, 'platform-secret'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs `start` with the simulated platform's secret at `file`: the enclave locates it
 * from CONCLAVE_PLATFORM_SECRET_FILE, and a worker thread copies the environment when it
 * starts, so `start` must start its enclave before its first await (startNode and
 * startEnclave do). The variable is restored afterwards.
 */
export function withPlatformSecretFile<T>(file: string, start: () => T): T {
  const saved = process.env.CONCLAVE_PLATFORM_SECRET_FILE;
  process.env.CONCLAVE_PLATFORM_SECRET_FILE = file;
  try {
    return start();
  } finally {
    if (saved === undefined) delete process.env.CONCLAVE_PLATFORM_SECRET_FILE;
    else process.env.CONCLAVE_PLATFORM_SECRET_FILE = saved;
  }
}

export interface TestNode extends RunningNode {
  dataDir: string;
  /** Closes the node and removes its files. */
  stop(): Promise<void>;
}

/** Starts a node in this process on 127.0.0.1, port 0, with its own temp data dir. */
export async function startTestNode(opts: Partial<NodeOptions> = {}): Promise<TestNode> {
  const home = tempHome();
  const node = await withPlatformSecretFile(home.secretFile, () =>
    startNode({
      host: '127.0.0.1',
      port: 0,
      dataDir: home.dataDir,
      chainId: 31337n,
      blockTime: 0,
      reset: false,
      ...opts,
    }),
  );
  return {
    ...node,
    dataDir: opts.dataDir ?? home.dataDir,
    async stop() {
      await node.close();
      home.cleanup();
    },
  };
}

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  output: () => string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `conclave start` as a separate process, as a user would, and resolves when it
 * listens. Used where the process itself matters (kill -9, CLI output).
 */
export function spawnNode(args: string[], env: Record<string, string> = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'node/cli.ts'), 'start', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in time:\n${out}`)), 60_000);
    const onData = () => {
      const m = /Listening on (http:\/\/\S+) \(HTTP\) and (ws:\/\/\S+) \(WebSocket\)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        child,
        url: m[1]!,
        wsUrl: m[2]!,
        output: () => out,
        async kill(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening:\n${out}`));
    });
  });
}

/** A JSON-RPC call over HTTP; returns the whole response object. */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<{ result?: any; error?: { code: number; message: string; data?: unknown } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return res.json() as Promise<any>;
}
