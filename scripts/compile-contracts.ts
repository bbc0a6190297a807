/**
 * Compiles every `.sol` file under `contracts/` (subdirectories included; interfaces and abstract
 * contracts produce no artifact) with the solc-js compiler from node_modules
 * (no network, no Hardhat) and writes one Hardhat-shaped artifact per contract, named
 * after the contract alone (names must be unique across directories):
 *
 *   contracts/artifacts/<ContractName>.json =
 *     { _format, contractName, sourceName, abi, bytecode, deployedBytecode,
 *       linkReferences, deployedLinkReferences, metadata }
 *
 * `metadata` is solc's raw metadata JSON string (it records the compiler
 * version and settings, e.g. `settings.evmVersion === "prague"`).
 *
 * It also regenerates runtime/system/systemCode.ts, the runtime bytecode of the system
 * contracts (contracts/system/) that the enclave writes into every genesis state: the
 * runtime does not read the artifacts directory, which is not committed.
 *
 * Settings: evmVersion "prague" (explicit on purpose: solc >= 0.8.30 defaults to
 * osaka, whose bytecode a Prague node rejects), optimizer on, 200 runs.
 *
 * The run is skipped when the manifest (contracts/artifacts/.manifest.json) is
 * newer than every input (sources, this script, the solc and OpenZeppelin
 * package.json files) and was produced with the same compiler + settings, so
 * `npm test` can call it every time. Pass `--force` to recompile regardless.
 *
 * Exit status is 1 with the compiler's formatted messages on any compile error.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import solc from "solc";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..");
const contractsDir = path.join(repoRoot, "contracts");
const artifactsDir = path.join(contractsDir, "artifacts");
const manifestPath = path.join(artifactsDir, ".manifest.json");
const systemCodePath = path.join(repoRoot, "runtime", "system", "systemCode.ts");

/** The constants of runtime/system/systemCode.ts and the system contracts whose runtime bytecode they hold. */
export const SYSTEM_CODE = {
  IDENTITY_REGISTRY_CODE: "IdentityRegistry",
  POLICY_REGISTRY_CODE: "PolicyRegistry",
} as const;

export const COMPILER_SETTINGS = {
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": {
      "*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object", "evm.deployedBytecode.linkReferences", "metadata"],
    },
  },
} as const;

interface Manifest {
  solcVersion: string;
  settings: string;
  sources: string[];
  artifacts: string[];
}

interface SolcError {
  severity: "error" | "warning" | "info";
  type: string;
  formattedMessage?: string;
  message: string;
}

export interface SolcContractOutput {
  abi: unknown[];
  metadata: string;
  evm: {
    bytecode: { object: string; linkReferences: Record<string, unknown> };
    deployedBytecode: { object: string; linkReferences: Record<string, unknown> };
  };
}

export interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, SolcContractOutput>>;
}

/** Repo-relative paths of every .sol under contracts/ (the artifacts directory aside), sorted. */
function listSources(dir = contractsDir): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== artifactsDir && !entry.name.startsWith(".")) found.push(...listSources(full));
    } else if (entry.name.endsWith(".sol")) {
      found.push(path.relative(repoRoot, full).split(path.sep).join("/"));
    }
  }
  return found.sort();
}

function packageJsonOf(pkg: string): string | undefined {
  try {
    return require.resolve(`${pkg}/package.json`, { paths: [repoRoot] });
  } catch {
    return undefined;
  }
}

/** Resolves a Solidity import path to a file on disk (repo-relative first, then node_modules packages). */
function resolveImport(importPath: string): string | undefined {
  const local = path.resolve(repoRoot, importPath);
  if (local.startsWith(repoRoot + path.sep) && fs.existsSync(local)) return local;
  const parts = importPath.split("/");
  const pkgName = importPath.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  const rest = importPath.startsWith("@") ? parts.slice(2) : parts.slice(1);
  const pkgJson = packageJsonOf(pkgName);
  if (!pkgJson) return undefined;
  const file = path.join(path.dirname(pkgJson), ...rest);
  return fs.existsSync(file) ? file : undefined;
}

function findImports(importPath: string): { contents: string } | { error: string } {
  const file = resolveImport(importPath);
  if (!file) return { error: `File not found: ${importPath} (looked in the repo and in node_modules)` };
  return { contents: fs.readFileSync(file, "utf8") };
}

function mtime(file: string | undefined): number {
  if (!file) return 0;
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function upToDate(sources: string[], solcVersion: string): boolean {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as Manifest;
  } catch {
    return false;
  }
  if (manifest.solcVersion !== solcVersion) return false;
  if (manifest.settings !== JSON.stringify(COMPILER_SETTINGS)) return false;
  if (JSON.stringify(manifest.sources) !== JSON.stringify(sources)) return false;
  if (!manifest.artifacts.every((a) => fs.existsSync(path.join(artifactsDir, `${a}.json`)))) return false;
  const built = mtime(manifestPath);
  const inputs = [
    ...sources.map((s) => path.join(repoRoot, s)),
    fileURLToPath(import.meta.url),
    packageJsonOf("solc"),
    packageJsonOf("@openzeppelin/contracts"),
  ];
  return inputs.every((f) => mtime(f) < built);
}

export interface CompileResult {
  skipped: boolean;
  artifacts: string[];
}

/**
 * Compiles `sources` (repo-relative paths, also their source unit names) with
 * COMPILER_SETTINGS, writing nothing. Throws with the compiler's messages on any error.
 */
export function compileSources(sources: string[], opts: { quiet?: boolean } = {}): SolcOutput {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(sources.map((s) => [s, { content: fs.readFileSync(path.join(repoRoot, s), "utf8") }])),
    settings: COMPILER_SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;

  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  const warnings = (output.errors ?? []).filter((e) => e.severity !== "error");
  if (!opts.quiet) for (const w of warnings) process.stderr.write(`${w.formattedMessage ?? w.message}\n`);
  if (errors.length > 0) {
    const text = errors.map((e) => e.formattedMessage ?? `${e.type}: ${e.message}`).join("\n");
    throw new Error(`Solidity compilation failed (solc ${solc.version()}), ${errors.length} error(s):\n${text}`);
  }
  return output;
}

/** The text of runtime/system/systemCode.ts for the given runtime bytecode (0x-prefixed) of each system contract. */
export function renderSystemCode(code: Record<keyof typeof SYSTEM_CODE, string>, solcVersion: string): string {
  const lines = [
    "// GENERATED by scripts/compile-contracts.ts (`npm run compile`) from contracts/system/*.sol",
    `// with solc ${solcVersion}, evmVersion ${COMPILER_SETTINGS.evmVersion}, optimizer ${COMPILER_SETTINGS.optimizer.runs} runs. Do not edit:`,
    "// change the Solidity source and recompile (test/unit/systemContracts.test.ts checks it is current).",
    "",
  ];
  for (const [constant, contract] of Object.entries(SYSTEM_CODE) as [keyof typeof SYSTEM_CODE, string][]) {
    lines.push(`/** Runtime bytecode of contracts/system/${contract}.sol, written into every genesis state. */`);
    lines.push(`export const ${constant} = '${code[constant]}';`, "");
  }
  return lines.join("\n").trimEnd() + "\n";
}

/** Rewrites runtime/system/systemCode.ts from the artifacts, when its content changes. */
function writeSystemCode(solcVersion: string): void {
  const code = Object.fromEntries(
    Object.entries(SYSTEM_CODE).map(([constant, contract]) => {
      const artifact = JSON.parse(fs.readFileSync(path.join(artifactsDir, `${contract}.json`), "utf8")) as { deployedBytecode: string };
      return [constant, artifact.deployedBytecode];
    }),
  ) as Record<keyof typeof SYSTEM_CODE, string>;
  const text = renderSystemCode(code, solcVersion);
  let current: string | undefined;
  try {
    current = fs.readFileSync(systemCodePath, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== text) fs.writeFileSync(systemCodePath, text);
}

export function compileContracts(opts: { force?: boolean; quiet?: boolean } = {}): CompileResult {
  const sources = listSources();
  const solcVersion: string = solc.version();
  if (!opts.force && upToDate(sources, solcVersion)) {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as Manifest;
    writeSystemCode(solcVersion);
    return { skipped: true, artifacts: manifest.artifacts };
  }

  const output = compileSources(sources, opts);

  fs.mkdirSync(artifactsDir, { recursive: true });
  const written: string[] = [];
  const seen = new Map<string, string>();
  for (const sourceName of sources) {
    for (const [contractName, c] of Object.entries(output.contracts?.[sourceName] ?? {})) {
      // Interfaces and abstract contracts have no bytecode: nothing to deploy.
      if (!c.evm.bytecode.object) continue;
      const clash = seen.get(contractName);
      if (clash) throw new Error(`Duplicate contract name ${contractName} in ${clash} and ${sourceName}: artifact names must be unique`);
      seen.set(contractName, sourceName);
      const artifact = {
        _format: "hh-sol-artifact-1",
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        linkReferences: c.evm.bytecode.linkReferences,
        deployedLinkReferences: c.evm.deployedBytecode.linkReferences,
        metadata: c.metadata,
      };
      fs.writeFileSync(path.join(artifactsDir, `${contractName}.json`), JSON.stringify(artifact, null, 2) + "\n");
      written.push(contractName);
    }
  }
  // Drop artifacts of contracts that no longer exist.
  for (const f of fs.readdirSync(artifactsDir)) {
    if (f.endsWith(".json") && !f.startsWith(".") && !seen.has(f.slice(0, -".json".length))) {
      fs.rmSync(path.join(artifactsDir, f));
    }
  }
  const manifest: Manifest = { solcVersion, settings: JSON.stringify(COMPILER_SETTINGS), sources, artifacts: written.sort() };
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  writeSystemCode(solcVersion);
  return { skipped: false, artifacts: manifest.artifacts };
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const force = process.argv.includes("--force");
  try {
    const started = Date.now();
    const res = compileContracts({ force });
    if (res.skipped) {
      console.log(`contracts: up to date (${res.artifacts.join(", ")})`);
    } else {
      console.log(`contracts: compiled ${res.artifacts.join(", ")} with solc ${solc.version()} in ${Date.now() - started} ms -> contracts/artifacts/, runtime/system/systemCode.ts`);
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
