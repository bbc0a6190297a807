/**
 * Reads a V8 .cpuprofile (node --cpu-prof; for our node under the bench:
 * CONCLAVE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR", one file per thread,
 * written on a clean exit) and prints self time by function and by file.
 *
 *   npx tsx bench/cpuprofile.ts DIR/CPU.*.cpuprofile --last 5 --skip-end 0.5
 *   npx tsx bench/cpuprofile.ts FILE --callers isHexString
 *
 * `--last` keeps the samples of the profile's last seconds (before `--skip-end`), e.g.
 * only the eth_call phase of a bench run. Inclusive time is not shown: async functions
 * resume on fresh stacks, so a caller's total misses most of what it awaits.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a number of seconds >= 0 expected');
  return n;
};
const program = new Command()
  .name('cpuprofile')
  .argument('<files...>', '.cpuprofile files (one table each)')
  .option('--top <count>', 'rows per table', (v) => Number(v), 40)
  .option('--last <s>', 'only the last seconds of the profile', seconds)
  .option('--skip-end <s>', 'leave out the profile\'s final seconds (shutdown)', seconds, 0)
  .option('--callers <name>', 'also: self time of functions whose name contains <name>, by their three callers');
program.parse();
const opts = program.opts<{ top: number; last?: number; skipEnd: number; callers?: string }>();

/** Shortens a script URL to a path in the repository or in node_modules. */
function where(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(process.cwd() + '/', '');
}

function label(node: ProfileNode): string {
  const f = node.callFrame;
  return `${f.functionName || '(anonymous)'} ${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
}

function table(title: string, totals: Map<string, number>, all: number): void {
  console.log(`\n${title} (${(all / 1000).toFixed(0)} ms sampled)`);
  for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, opts.top)) {
    console.log(`${((us / all) * 100).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
}

const add = (m: Map<string, number>, key: string, us: number) => m.set(key, (m.get(key) ?? 0) + us);

for (const file of program.args) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasted until sample i + 1 was taken.
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const end = (times.at(-1) ?? t) - opts.skipEnd * 1e6;
  const start = opts.last === undefined ? -Infinity : end - opts.last * 1e6;
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i]! < start || times[i]! > end) continue;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byCallers = new Map<string, number>();
  let all = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    all += us;
    add(byFunction, label(node), us);
    add(byFile, where(node.callFrame.url) || node.callFrame.functionName, us);
    if (opts.callers && node.callFrame.functionName.includes(opts.callers)) {
      const chain: string[] = [];
      for (let p = parent.get(id); p !== undefined && chain.length < 3; p = parent.get(p)) chain.push(label(byId.get(p)!));
      add(byCallers, `${node.callFrame.functionName} < ${chain.join(' < ')}`, us);
    }
  }
  console.log(`== ${file}`);
  table('self time by function', byFunction, all);
  table('self time by file', byFile, all);
  if (opts.callers) table(`self time of *${opts.callers}* by callers`, byCallers, all);
}
