/**
 * Progress display (cli-progress; periodic lines when not on a terminal), the
 * results table with our ratio to each peer, and the JSON file under bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { BENCH_DIR } from './workload.ts';
import type { PeerName } from './peers.ts';

export class Progress {
  private bar?: cliProgress.SingleBar;
  private readonly tty = Boolean(process.stderr.isTTY);

  start(label: string, total: number, unit = ''): void {
    this.stop();
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label.padEnd(34)} [{bar}] {value}/{total}${unit ? ' ' + unit : ''} {stage}`,
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 5_000,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(total, 1), 0, { stage: '' });
  }

  update(value: number, stage = '', total?: number): void {
    if (!this.bar) return;
    if (total !== undefined) this.bar.setTotal(Math.max(total, 1));
    this.bar.update(value, { stage });
  }

  stop(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }

  log(msg: string): void {
    const bar = this.bar;
    if (bar && this.tty) {
      // Print above the bar: clear the line, write, let the bar redraw.
      process.stderr.write('\r\x1b[K' + msg + '\n');
      bar.render();
    } else process.stderr.write(msg + '\n');
  }
}

export interface Machine {
  date: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
  };
}

export interface Row {
  metric: string;
  /** 'higher' or 'lower' is better. */
  better: 'higher' | 'lower';
  unit: string;
  values: Partial<Record<PeerName, number | string>>;
}

const fmt = (v: number | string | undefined, unit: string): string => {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '—';
  if (unit === 'ms' || unit === 's') return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US');
  if (unit === '%' || unit === 'x') return v.toFixed(2);
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
};

export function renderTable(rows: Row[], peers: PeerName[], ours: PeerName = 'conclave'): string {
  const others = peers.includes(ours) ? peers.filter((p) => p !== ours) : [];
  const header = ['metric', ...peers, ...others.map((p) => `ours/${p}`)];
  const body = rows.map((r) => {
    const cells = [`${r.metric}${r.unit ? ` (${r.unit})` : ''}${r.better === 'lower' ? ' ↓' : ''}`];
    for (const p of peers) cells.push(fmt(r.values[p], r.unit));
    const mine = r.values[ours];
    for (const p of others) {
      const theirs = r.values[p];
      cells.push(typeof mine === 'number' && typeof theirs === 'number' && theirs !== 0 && Number.isFinite(mine) ? `${(mine / theirs).toFixed(2)}x` : '—');
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), sep, ...body.map(line)].join('\n');
}

export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

export function writeResults(data: unknown, date: string): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  return file;
}

export const mib = (b: number | null | undefined) => (b === null || b === undefined ? NaN : b / 2 ** 20);
