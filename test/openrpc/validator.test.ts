import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  createValidator,
  validateParams,
  validateResult,
  assertValidResult,
  getValidator,
  type OpenRpcDocument,
} from "../helpers/openrpc.ts";

const ZERO32 = `0x${"00".repeat(32)}`;
const EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
const EMPTY_TRIE = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
const EMPTY_REQUESTS = "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const BLOOM0 = `0x${"00".repeat(256)}`;
const BLOCK_HASH = "0x9c3e2d3f5e1d1f4d0a8b1a61c1c3d5e2c0a3a4f2b1e6d7c8b9a0f1e2d3c4b5a6";
const TX_HASH = "0x5d2b6f8e0c8b7a9a1f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a";
const FROM = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"; // checksummed: allowed by the spec
const TO = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/** A post-Prague geth-style block (non-hydrated). */
function pragueBlock(): Record<string, unknown> {
  return {
    baseFeePerGas: "0x7",
    blobGasUsed: "0x0",
    difficulty: "0x0",
    excessBlobGas: "0x0",
    extraData: "0x",
    gasLimit: "0x1c9c380",
    gasUsed: "0x5208",
    hash: BLOCK_HASH,
    logsBloom: BLOOM0,
    miner: "0x0000000000000000000000000000000000000000",
    mixHash: ZERO32,
    nonce: "0x0000000000000000",
    number: "0x2a",
    parentBeaconBlockRoot: ZERO32,
    parentHash: "0x1f68ac259155e2f38211ddad0f0a15394d55417b185a93923e2abe71bb7a4d6d",
    receiptsRoot: "0xf78dfb743fbd92ade140711c8bbc542b5e307f0ab7984eff35d751969fe57efa",
    requestsHash: EMPTY_REQUESTS,
    sha3Uncles: EMPTY_UNCLES,
    size: "0x2c6",
    stateRoot: "0x91309efa7e42c1f137f31fe9edbe88ae087e6620d0d59031324da3e2f4f93233",
    timestamp: "0x6745e3a1",
    transactions: [TX_HASH],
    transactionsRoot: "0x4d0c8e91e16bdff538c03211c5c73632ed054d00a7e210c0eb25146c20048126",
    uncles: [],
    withdrawals: [],
    withdrawalsRoot: EMPTY_TRIE,
  };
}

/** EIP-1559 transaction as returned by eth_getTransactionByHash (geth 1.16 style). */
function tx1559(): Record<string, unknown> {
  return {
    blockHash: BLOCK_HASH,
    blockNumber: "0x2a",
    blockTimestamp: "0x6745e3a1",
    from: FROM,
    gas: "0x5208",
    gasPrice: "0x3b9aca07",
    maxFeePerGas: "0x77359400",
    maxPriorityFeePerGas: "0x3b9aca00",
    hash: TX_HASH,
    input: "0x",
    nonce: "0x0",
    to: TO,
    transactionIndex: "0x0",
    value: "0xde0b6b3a7640000",
    type: "0x2",
    accessList: [],
    chainId: "0x539",
    v: "0x1",
    yParity: "0x1",
    // r/s are QUANTITIES in the spec: no leading zero nibbles.
    r: "0x84caf09aefbd5e539295acc67217563438a4efb224879b6855f56857fa2037d3",
    s: "0x5e863be3829812c81439f0ae9d8ecb832b531d651fb234c848d1bf45e62be8b9",
  };
}

function log(): Record<string, unknown> {
  return {
    address: TO,
    topics: [
      "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
      "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      "0x00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8",
    ],
    data: "0x0000000000000000000000000000000000000000000000000de0b6b3a7640000",
    blockNumber: "0x2a",
    blockHash: BLOCK_HASH,
    blockTimestamp: "0x6745e3a1",
    transactionHash: TX_HASH,
    transactionIndex: "0x0",
    logIndex: "0x0",
    removed: false,
  };
}

function receipt(): Record<string, unknown> {
  return {
    blockHash: BLOCK_HASH,
    blockNumber: "0x2a",
    contractAddress: null,
    cumulativeGasUsed: "0xb4a3",
    effectiveGasPrice: "0x3b9aca07",
    from: FROM,
    gasUsed: "0xb4a3",
    logs: [log()],
    logsBloom: BLOOM0,
    status: "0x1",
    to: TO,
    transactionHash: TX_HASH,
    transactionIndex: "0x0",
    type: "0x2",
  };
}

describe("OpenRPC validator: blocks", () => {
  test("a realistic Prague block passes (and null = not found passes)", () => {
    assert.deepEqual(validateResult("eth_getBlockByNumber", pragueBlock()), []);
    assert.deepEqual(validateResult("eth_getBlockByHash", pragueBlock()), []);
    assert.deepEqual(validateResult("eth_getBlockByNumber", pragueBlock(), { strictOneOf: true }), []);
    assert.deepEqual(validateResult("eth_getBlockByNumber", null), []);
    assertValidResult("eth_getBlockByNumber", { ...pragueBlock(), transactions: [] });
  });

  test("a hydrated block with a 1559 transaction passes", () => {
    const block = { ...pragueBlock(), transactions: [tx1559()] };
    assert.deepEqual(validateResult("eth_getBlockByNumber", block), []);
  });

  test("number as a JS number fails and says where", () => {
    const problems = validateResult("eth_getBlockByNumber", { ...pragueBlock(), number: 42 });
    assert.ok(problems.length > 0);
    assert.ok(problems.some((p) => p.startsWith("/number: must be string")), problems.join("\n"));
  });

  test("other typical encoding mistakes fail", () => {
    const bad: Record<string, unknown>[] = [
      { number: "0x02a" }, // leading zero in a quantity
      { hash: BLOCK_HASH.toUpperCase().replace("0X", "0x") }, // hashes must be lower-case
      { nonce: "0x0" }, // block nonce is exactly 8 bytes
      { logsBloom: "0x00" }, // bloom is exactly 256 bytes
      { withdrawals: [{ index: 0, validatorIndex: "0x0", address: TO, amount: "0x0" }] },
      { transactions: [42] },
    ];
    for (const patch of bad) {
      assert.notDeepEqual(validateResult("eth_getBlockByNumber", { ...pragueBlock(), ...patch }), [], JSON.stringify(patch));
    }
    const { mixHash: _dropped, ...missing } = pragueBlock();
    assert.ok(validateResult("eth_getBlockByNumber", missing).some((p) => p.includes("mixHash")));
  });
});

describe("OpenRPC validator: transactions", () => {
  test("good 1559 transaction passes; legacy with EIP-155 v passes", () => {
    assert.deepEqual(validateResult("eth_getTransactionByHash", tx1559()), []);
    const { maxFeePerGas: _a, maxPriorityFeePerGas: _b, accessList: _c, yParity: _d, ...legacy } = tx1559();
    assert.deepEqual(validateResult("eth_getTransactionByHash", { ...legacy, type: "0x0", v: "0xa95" }), []);
  });

  test("errors name the intended union branch, not every transaction type", () => {
    const { yParity: _y, ...noParity } = tx1559();
    const problems = validateResult("eth_getTransactionByHash", noParity);
    assert.ok(problems.some((p) => p.includes("yParity")), problems.join("\n"));
    assert.ok(problems.some((p) => p.includes('"Signed 1559 Transaction"')), problems.join("\n"));
    assert.ok(!problems.some((p) => p.includes("authorizationList")), problems.join("\n"));
  });

  test("blockTimestamp is required on mined transactions", () => {
    const { blockTimestamp: _t, ...old } = tx1559();
    assert.ok(validateResult("eth_getTransactionByHash", old).some((p) => p.includes("blockTimestamp")));
  });
});

describe("OpenRPC validator: receipts and logs", () => {
  test("a good receipt passes", () => {
    assert.deepEqual(validateResult("eth_getTransactionReceipt", receipt()), []);
    const creation = { ...receipt(), to: null, contractAddress: TO, logs: [] };
    assert.deepEqual(validateResult("eth_getTransactionReceipt", creation), []);
    assert.deepEqual(validateResult("eth_getBlockReceipts", [receipt(), creation]), []);
  });

  test("broken receipts fail", () => {
    assert.ok(validateResult("eth_getTransactionReceipt", { ...receipt(), status: 1 }).some((p) => p.startsWith("/status")));
    assert.ok(validateResult("eth_getTransactionReceipt", { ...receipt(), gasUsed: "0x0b4a3" }).some((p) => p.startsWith("/gasUsed")));
    // Receipts (and logs) are closed objects: no extra fields allowed.
    const extra = validateResult("eth_getTransactionReceipt", { ...receipt(), revertReason: "0x" });
    assert.ok(extra.some((p) => p.includes("additional properties") && p.includes("revertReason")), extra.join("\n"));
    const { effectiveGasPrice: _e, ...noPrice } = receipt();
    assert.ok(validateResult("eth_getTransactionReceipt", noPrice).some((p) => p.includes("effectiveGasPrice")));
  });

  test("a good log passes, broken logs fail", () => {
    assert.deepEqual(validateResult("eth_getLogs", [log()]), []);
    assert.deepEqual(validateResult("eth_getFilterLogs", [log()]), []);
    assert.notDeepEqual(validateResult("eth_getLogs", [{ ...log(), logIndex: 0 }]), []);
    assert.notDeepEqual(validateResult("eth_getLogs", [{ ...log(), data: "0xABCD" }]), []);
    assert.notDeepEqual(validateResult("eth_getLogs", [{ ...log(), topics: ["0x1234"] }]), []);
    assert.notDeepEqual(validateResult("eth_getLogs", [{ ...log(), extra: true }]), []);
  });

  test("empty log list: valid by default, a spec ambiguity under strict oneOf", () => {
    assert.deepEqual(validateResult("eth_getLogs", []), []);
    assert.deepEqual(validateResult("eth_getFilterChanges", []), []);
    const strict = validateResult("eth_getLogs", [], { strictOneOf: true });
    assert.ok(strict.some((p) => p.includes("spec ambiguity")), strict.join("\n"));
  });
});

describe("OpenRPC validator: params", () => {
  test("positional params", () => {
    assert.deepEqual(validateParams("eth_getBlockByNumber", ["latest", false]), []);
    assert.deepEqual(validateParams("eth_getBlockByNumber", ["0x2a", true]), []);
    assert.notDeepEqual(validateParams("eth_getBlockByNumber", ["0x02a", true]), []);
    assert.notDeepEqual(validateParams("eth_getBlockByNumber", ["latest"]), []);
    assert.notDeepEqual(validateParams("eth_getBlockByNumber", ["latest", false, 1]), []);
    assert.deepEqual(validateParams("eth_getBalance", [FROM]), []); // block tag optional
    assert.deepEqual(validateParams("eth_getLogs", [{ blockHash: BLOCK_HASH }]), []);
    assert.deepEqual(validateParams("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", address: [TO], topics: [null, [TX_HASH]] }]), []);
  });

  test("eth_call: the spec's transaction object is closed and has `input` but no `data`", () => {
    assert.deepEqual(validateParams("eth_call", [{ to: TO, input: "0x70a08231" }, "latest"]), []);
    // ethers v6 sends `data`; the spec rejects it, so servers must accept more than the spec allows.
    assert.ok(validateParams("eth_call", [{ to: TO, data: "0x70a08231" }, "latest"]).some((p) => p.includes("data")));
  });

  test("by-name params and unknown methods", () => {
    assert.deepEqual(validateParams("eth_getTransactionReceipt", { "Transaction hash": TX_HASH }), []);
    assert.throws(() => validateResult("eth_noSuchMethod", null), /not in the OpenRPC spec/);
  });
});

describe("OpenRPC validator: machinery", () => {
  test("the spec's own examples for the core eth_ methods validate", () => {
    const v = getValidator();
    for (const name of ["eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionReceipt", "eth_getLogs", "eth_chainId", "eth_blockNumber", "eth_getBalance", "eth_call", "eth_estimateGas"]) {
      const m = v.spec.methods.find((x) => x.name === name)!;
      for (const ex of (m.examples ?? []) as { result?: { value: unknown } }[]) {
        if (ex.result) assert.deepEqual(v.validateResult(name, ex.result.value), [], name);
      }
    }
  });

  test("$ref to components.schemas and components.contentDescriptors resolve", () => {
    const spec: OpenRpcDocument = {
      openrpc: "1.2.6",
      components: {
        schemas: {
          uint: { type: "string", pattern: "^0x(0|[1-9a-f][0-9a-f]*)$" },
          Pair: { type: "object", required: ["a"], properties: { a: { $ref: "#/components/schemas/uint" } } },
          MaybePair: { oneOf: [{ type: "null" }, { $ref: "#/components/schemas/Pair" }] },
        },
        contentDescriptors: { Num: { name: "Num", required: true, schema: { $ref: "#/components/schemas/uint" } } },
      },
      methods: [
        {
          name: "x_test",
          params: [{ $ref: "#/components/contentDescriptors/Num" }],
          result: { name: "r", schema: { $ref: "#/components/schemas/MaybePair" } },
        },
      ],
    };
    const v = createValidator(spec);
    assert.deepEqual(v.validateResult("x_test", { a: "0x1" }), []);
    assert.deepEqual(v.validateResult("x_test", null), []);
    assert.notDeepEqual(v.validateResult("x_test", { a: 1 }), []);
    assert.notDeepEqual(v.validateResult("x_test", {}), []);
    assert.deepEqual(v.validateParams("x_test", ["0x10"]), []);
    assert.notDeepEqual(v.validateParams("x_test", ["0x010"]), []);
    assert.notDeepEqual(v.validateParams("x_test", []), []);
  });
});
