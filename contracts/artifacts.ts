/**
 * Runtime access to the artifacts written by `npm run compile`
 * (scripts/compile-contracts.ts) into contracts/artifacts/<Name>.json.
 *
 *   import { loadArtifact } from "../contracts/artifacts.ts";
 *   const token = loadArtifact("ConclaveToken");
 *   new ethers.ContractFactory(token.abi, token.bytecode, signer);
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ARTIFACTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "artifacts");

export type Hex = `0x${string}`;

export interface AbiParameter {
  name: string;
  type: string;
  internalType?: string;
  indexed?: boolean;
  components?: AbiParameter[];
}

export interface AbiItem {
  type: "function" | "constructor" | "event" | "error" | "fallback" | "receive";
  name?: string;
  inputs?: AbiParameter[];
  outputs?: AbiParameter[];
  stateMutability?: "pure" | "view" | "nonpayable" | "payable";
  anonymous?: boolean;
}

/** Same shape as a Hardhat artifact (plus solc's `metadata` JSON string). */
export interface Artifact {
  _format: "hh-sol-artifact-1";
  contractName: string;
  sourceName: string;
  abi: AbiItem[];
  /** Creation bytecode, 0x-prefixed. */
  bytecode: Hex;
  /** Runtime bytecode, 0x-prefixed. */
  deployedBytecode: Hex;
  linkReferences: Record<string, unknown>;
  deployedLinkReferences: Record<string, unknown>;
  /** solc metadata JSON (compiler version, settings incl. evmVersion, source hashes). */
  metadata: string;
}

/** Names of the contracts in this repo that have artifacts. */
export type ContractName = "ConclaveToken" | "Registry" | "Canary" | (string & {});

const cache = new Map<string, Artifact>();

export function artifactPath(name: ContractName): string {
  return path.join(ARTIFACTS_DIR, `${name}.json`);
}

/** Reads contracts/artifacts/<name>.json (cached). Throws a helpful error if it was never compiled. */
export function loadArtifact(name: ContractName): Artifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const file = artifactPath(name);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`No artifact for contract "${name}" at ${file}; run \`npm run compile\` first`);
  }
  const artifact = JSON.parse(text) as Artifact;
  if (artifact.contractName !== name || !artifact.bytecode?.startsWith("0x") || !Array.isArray(artifact.abi)) {
    throw new Error(`Malformed artifact ${file}`);
  }
  cache.set(name, artifact);
  return artifact;
}

/** All compiled contract names (from the artifacts directory). */
export function listArtifacts(): string[] {
  if (!fs.existsSync(ARTIFACTS_DIR)) return [];
  return fs
    .readdirSync(ARTIFACTS_DIR)
    .filter((f) => f.endsWith(".json") && !f.startsWith("."))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}
