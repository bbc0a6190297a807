/**
 * The workload, identical for every peer: setup transactions (deploy the ERC20 from
 * dev account 0, give each sender tokens and ETH) and phases of pre-signed ERC20
 * transfers from S senders to distinct fresh recipients, all signed before timing.
 *
 * Keys and recipients are deterministic and signatures are RFC 6979, so a phase is a
 * pure function of its parameters: signed phases are cached under
 * bench/results/.cache/ (gitignored) and reused by later runs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbiCoder, Transaction, Wallet } from 'ethers';
import { loadArtifact } from '../contracts/artifacts.ts';
import { DEV_KEYS, senderKey, TOKEN_ADDRESS, transferData } from './accounts.ts';
import type { SignJob, SignResult } from './signer.ts';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const CACHE_DIR = path.join(BENCH_DIR, 'results', '.cache');

export const CHAIN_ID = 31337n;
export const TRANSFER_GAS_LIMIT = 60_000n;
const DEPLOY_GAS_LIMIT = 3_000_000n;
const TOKENS_PER_SENDER = 10n ** 24n;

export interface FeeParams {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface SetupTx {
  from: number; // dev account index
  hash: string;
  raw: string;
  what: string;
}

export interface Phase {
  name: string;
  count: number;
  senders: number;
  hashes: string[];
  raws: string[];
  /** Recipient index of transfer j is recipientBase + j. */
  recipientBase: number;
  /** Transfer j is sent by sender j % senders; bySender[s] lists its transfers in nonce order. */
  bySender: number[][];
}

export interface PhaseSpec {
  name: string;
  count: number;
  /** Recipients recipientBase .. recipientBase + count - 1 (a later phase may reuse a range). */
  recipientBase: number;
  /** The token the transfers go to (default: the bench ERC20). */
  token?: string;
  /** The senders' keys, as many as the bench senders (default: theirs); nonces continue per key set. */
  keys?: string[];
}

export interface Workload {
  senders: string[];
  senderAddresses: string[];
  token: string;
  setup: SetupTx[];
  phases: Map<string, Phase>;
}

/** The fields of a setup transaction (type 2, the run's fees). */
export type SetupFields = { to: string | null; data?: string; value?: bigint; gasLimit: bigint };

/** Signs one setup transaction: its hash and raw bytes. */
export function signSetupTx(wallet: Wallet, chainId: bigint, nonce: number, fields: SetupFields, fees: FeeParams): { hash: string; raw: string } {
  const tx = Transaction.from({
    type: 2,
    chainId,
    nonce,
    to: fields.to,
    data: fields.data ?? '0x',
    value: fields.value ?? 0n,
    gasLimit: fields.gasLimit,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  return { hash: tx.hash!, raw: tx.serialized };
}

/** Signs the setup transactions (a few hundred, in this thread). */
export function buildSetup(senderCount: number, fees: FeeParams): SetupTx[] {
  const artifact = loadArtifact('ConclaveToken');
  const supply = TOKENS_PER_SENDER * BigInt(senderCount) * 2n;
  const ctorArgs = AbiCoder.defaultAbiCoder().encode(['string', 'string', 'uint256'], ['Bench Token', 'BENCH', supply]);
  const nonces = new Array<number>(DEV_KEYS.length).fill(0);
  const wallets = DEV_KEYS.map((k) => new Wallet(k));
  const out: SetupTx[] = [];
  const sign = (from: number, fields: SetupFields, what: string) => {
    out.push({ from, ...signSetupTx(wallets[from]!, CHAIN_ID, nonces[from]!++, fields, fees), what });
  };
  sign(0, { to: null, data: artifact.bytecode + ctorArgs.slice(2), gasLimit: DEPLOY_GAS_LIMIT }, 'deploy ERC20');
  const senderAddresses = Array.from({ length: senderCount }, (_, i) => new Wallet(senderKey(i)).address);
  for (let i = 0; i < senderCount; i++) {
    sign(0, { to: TOKEN_ADDRESS, data: transferData(senderAddresses[i]!, TOKENS_PER_SENDER), gasLimit: 100_000n }, `tokens to sender ${i}`);
  }
  // ETH from dev accounts 1..9 (10,000 ETH each), round robin: enough for any base fee
  // the runs can reach at the chosen max fee.
  const eth = (9n * 9_000n * 10n ** 18n) / BigInt(Math.max(senderCount, 1));
  const perSender = eth < 200n * 10n ** 18n ? eth : 200n * 10n ** 18n;
  for (let i = 0; i < senderCount; i++) {
    sign(1 + (i % 9), { to: senderAddresses[i]!, value: perSender, gasLimit: 21_000n }, `ETH to sender ${i}`);
  }
  return out;
}

export interface SignProgress {
  (phase: string, done: number, total: number, cached: boolean): void;
}

/**
 * Signs (or loads from the cache) every phase, in order; nonces continue from one
 * phase to the next.
 */
export async function buildWorkload(
  senderCount: number,
  fees: FeeParams,
  specs: PhaseSpec[],
  progress: SignProgress,
): Promise<Workload> {
  const senders = Array.from({ length: senderCount }, (_, i) => senderKey(i));
  const senderAddresses = senders.map((k) => new Wallet(k).address);
  const setup = buildSetup(senderCount, fees);
  const phases = new Map<string, Phase>();
  const nonceSets = new Map<string, number[]>();
  const pool = new SignerPool();
  try {
    for (const spec of specs) {
      const keys = spec.keys ?? senders;
      const token = spec.token ?? TOKEN_ADDRESS;
      let nextNonce = nonceSets.get(keys.join());
      if (!nextNonce) nonceSets.set(keys.join(), (nextNonce = new Array<number>(keys.length).fill(0)));
      const startNonces = nextNonce.slice();
      const key = createHash('sha256')
        .update(
          JSON.stringify({
            v: 1,
            chainId: CHAIN_ID.toString(),
            token,
            senderCount,
            ...(spec.keys ? { keys: createHash('sha256').update(keys.join()).digest('hex') } : {}),
            fees: [fees.maxFeePerGas.toString(), fees.maxPriorityFeePerGas.toString()],
            gas: TRANSFER_GAS_LIMIT.toString(),
            count: spec.count,
            recipientBase: spec.recipientBase,
            startNonces,
          }),
        )
        .digest('hex')
        .slice(0, 20);
      const file = path.join(CACHE_DIR, `${spec.name}-${spec.count}-${key}.txt`);
      const bySender: number[][] = Array.from({ length: senderCount }, () => []);
      const items: number[] = [];
      for (let j = 0; j < spec.count; j++) {
        const s = j % senderCount;
        bySender[s]!.push(j);
        items.push(s, nextNonce[s]!++, spec.recipientBase + j);
      }
      let hashes: string[] | undefined;
      let raws: string[] | undefined;
      if (fs.existsSync(file)) {
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        if (lines.length >= spec.count) {
          hashes = [];
          raws = [];
          for (let j = 0; j < spec.count; j++) {
            const line = lines[j]!;
            const sp = line.indexOf(' ');
            hashes.push(line.slice(0, sp));
            raws.push(line.slice(sp + 1));
          }
          progress(spec.name, spec.count, spec.count, true);
        }
      }
      if (!hashes || !raws) {
        const signed = await pool.sign(
          {
            chainId: CHAIN_ID.toString(),
            token,
            maxFeePerGas: fees.maxFeePerGas.toString(),
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
            gasLimit: TRANSFER_GAS_LIMIT.toString(),
            keys,
          },
          items,
          (done) => progress(spec.name, done, spec.count, false),
        );
        hashes = signed.hashes;
        raws = signed.raws;
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, hashes.map((h, j) => `${h} ${raws![j]}`).join('\n') + '\n');
        fs.renameSync(tmp, file);
      }
      phases.set(spec.name, { name: spec.name, count: spec.count, senders: senderCount, hashes, raws, recipientBase: spec.recipientBase, bySender });
    }
  } finally {
    await pool.close();
  }
  return { senders, senderAddresses, token: TOKEN_ADDRESS, setup, phases };
}

/** Worker threads running signer.ts (one per core). */
class SignerPool {
  private workers: Worker[] = [];

  private start(): void {
    if (this.workers.length) return;
    const n = Math.max(1, Math.min(os.availableParallelism(), 8));
    const entry = pathToFileURL(path.join(BENCH_DIR, 'signer.ts')).href;
    const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    for (let i = 0; i < n; i++) this.workers.push(new Worker(bootstrap, { eval: true }));
  }

  async sign(base: Omit<SignJob, 'items'>, items: number[], progress: (done: number) => void): Promise<{ hashes: string[]; raws: string[] }> {
    this.start();
    const total = items.length / 3;
    const chunk = 1000;
    const chunks: number[][] = [];
    for (let i = 0; i < items.length; i += chunk * 3) chunks.push(items.slice(i, i + chunk * 3));
    const results: string[][] = new Array(chunks.length);
    let next = 0;
    let done = 0;
    const run = (w: Worker) =>
      new Promise<void>((resolve, reject) => {
        const step = () => {
          if (next >= chunks.length) return resolve();
          const idx = next++;
          const onMessage = (m: SignResult | { error: string }) => {
            w.off('error', onError);
            if ('error' in m) return reject(new Error(`signer worker: ${m.error}`));
            results[idx] = m.out;
            done += m.out.length / 2;
            progress(Math.min(done, total));
            step();
          };
          const onError = (err: Error) => {
            w.off('message', onMessage);
            reject(err);
          };
          w.once('message', onMessage);
          w.once('error', onError);
          w.postMessage({ ...base, items: chunks[idx] } satisfies SignJob);
        };
        step();
      });
    await Promise.all(this.workers.map(run));
    const hashes: string[] = [];
    const raws: string[] = [];
    for (const r of results) for (let i = 0; i < r.length; i += 2) hashes.push(r[i]!), raws.push(r[i + 1]!);
    return { hashes, raws };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
