import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { compileContracts } from "../../scripts/compile-contracts.ts";
import { loadArtifact, listArtifacts, type AbiItem, type Artifact } from "../../contracts/artifacts.ts";

function find(abi: AbiItem[], type: AbiItem["type"], name: string): AbiItem {
  const item = abi.find((x) => x.type === type && x.name === name);
  assert.ok(item, `ABI has no ${type} ${name}`);
  return item;
}

function signature(item: AbiItem): string {
  return `${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`;
}

describe("contract artifacts", () => {
  before(() => {
    // No-op when artifacts are fresh (npm test already ran `npm run compile`).
    compileContracts({ quiet: true });
  });

  test("every contract has a Hardhat-shaped artifact with non-empty bytecode", () => {
    assert.deepEqual(
      ["Canary", "ConclaveToken", "Registry"].filter((n) => !listArtifacts().includes(n)),
      [],
    );
    for (const name of ["ConclaveToken", "Registry", "Canary"]) {
      const a: Artifact = loadArtifact(name);
      assert.equal(a.contractName, name);
      assert.equal(a.sourceName, `contracts/${name}.sol`);
      assert.match(a.bytecode, /^0x([0-9a-f]{2})+$/);
      assert.match(a.deployedBytecode, /^0x([0-9a-f]{2})+$/);
      assert.ok(a.bytecode.length > a.deployedBytecode.length, "creation code wraps the runtime code");
      assert.ok(Array.isArray(a.abi) && a.abi.length > 0);
    }
  });

  test("metadata: evmVersion prague, optimizer 200 runs, solc 0.8.x", () => {
    for (const name of ["ConclaveToken", "Registry", "Canary"]) {
      const meta = JSON.parse(loadArtifact(name).metadata) as {
        compiler: { version: string };
        settings: { evmVersion: string; optimizer: { enabled: boolean; runs: number } };
      };
      assert.equal(meta.settings.evmVersion, "prague", `${name} must target prague (solc defaults to osaka)`);
      assert.deepEqual(meta.settings.optimizer, { enabled: true, runs: 200 });
      assert.match(meta.compiler.version, /^0\.8\.\d+\+commit\./);
    }
  });

  test("Registry ABI has its custom errors, events, view and payable functions", () => {
    const { abi } = loadArtifact("Registry");
    assert.equal(signature(find(abi, "error", "NotOwner")), "NotOwner(address)");
    assert.equal(signature(find(abi, "error", "EmptyName")), "EmptyName()");
    assert.equal(signature(find(abi, "error", "InsufficientDeposit")), "InsufficientDeposit(uint256,uint256)");
    const registered = find(abi, "event", "Registered");
    assert.equal(signature(registered), "Registered(address,bytes32,string,uint256)");
    assert.deepEqual(registered.inputs!.map((i) => i.indexed), [true, true, false, false]);
    const removed = find(abi, "event", "Removed");
    assert.equal(signature(removed), "Removed(bytes32)");
    assert.deepEqual(removed.inputs!.map((i) => i.indexed), [true]);
    assert.equal(find(abi, "function", "register").stateMutability, "payable");
    assert.equal(find(abi, "function", "get").stateMutability, "view");
    assert.equal(find(abi, "function", "isRegistered").stateMutability, "view");
  });

  test("ConclaveToken is an ERC20 with a (name, symbol, initialSupply) constructor", () => {
    const { abi } = loadArtifact("ConclaveToken");
    assert.deepEqual(abi.find((x) => x.type === "constructor")!.inputs!.map((i) => i.type), ["string", "string", "uint256"]);
    for (const fn of ["transfer", "transferFrom", "approve", "balanceOf", "allowance", "totalSupply", "decimals", "name", "symbol"]) {
      find(abi, "function", fn);
    }
    assert.equal(signature(find(abi, "event", "Transfer")), "Transfer(address,address,uint256)");
    assert.equal(signature(find(abi, "error", "ERC20InsufficientBalance")), "ERC20InsufficientBalance(address,uint256,uint256)");
  });

  test("Canary stores a string and a number and forwards payments", () => {
    const { abi } = loadArtifact("Canary");
    assert.deepEqual(abi.find((x) => x.type === "constructor")!.inputs!.map((i) => i.type), ["string", "uint256"]);
    assert.equal(signature(find(abi, "function", "store")), "store(string,uint256)");
    const pay = find(abi, "function", "pay");
    assert.equal(signature(pay), "pay(address)");
    assert.equal(pay.stateMutability, "payable");
  });
});
