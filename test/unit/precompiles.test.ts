/**
 * The chain's precompiles (mcl for BLS12-381, rustbn for BN254, our MODEXP and BLAKE2F)
 * answer exactly as ethereumjs's defaults, on valid and invalid inputs; in calls, a loop of
 * expensive invocations ends at its deadline without holding the node, and one invocation
 * over its cap is refused with a clear error, while a block runs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Common, Hardfork, Mainnet } from '@ethereumjs/common';
import { createEVM, type EVM } from '@ethereumjs/evm';
import { bytesToHex } from '@ethereumjs/util';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bn254 } from '@noble/curves/bn254.js';
import { Wallet } from 'ethers';
import { CALL_PRECOMPILE_GAS_CAPS, createChainEvm, PrecompileCapExceeded } from '../../runtime/evm/precompiles.ts';
import { DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

// --- inputs -----------------------------------------------------------------------------

/** A seeded generator (xorshift64*), so every run tries the same inputs. */
function random(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & 0xffffffffffffffffn;
    s ^= s >> 27n;
    return (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
}
const next = random(0x9e3779b97f4a7c15n);
const randomBig = (bits: number) => {
  let n = 0n;
  for (let i = 0; i < bits; i += 64) n = (n << 64n) | next();
  return n & ((1n << BigInt(bits)) - 1n);
};
const randomBytes = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(next() & 0xffn);
  return out;
};
function be(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0 && n > 0n; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
const hex = (b: Uint8Array) => bytesToHex(b).slice(2);

const BLS = { Fp: bls12_381.fields.Fp, Fp2: bls12_381.fields.Fp2, r: bls12_381.fields.Fr.ORDER };
const blsG1 = (k: bigint) => {
  const p = bls12_381.G1.Point.BASE.multiply(k).toAffine();
  return cat(be(p.x, 64), be(p.y, 64));
};
const blsG2 = (k: bigint) => {
  const p = bls12_381.G2.Point.BASE.multiply(k).toAffine();
  return cat(be(p.x.c0, 64), be(p.x.c1, 64), be(p.y.c0, 64), be(p.y.c1, 64));
};
/** A point on the curve y^2 = x^3 + 4 outside the prime-order subgroup. */
function blsG1OutsideSubgroup(): Uint8Array {
  for (let x = 1n; ; x++) {
    try {
      const y = BLS.Fp.sqrt(BLS.Fp.add(BLS.Fp.pow(x, 3n), 4n));
      return cat(be(x, 64), be(y, 64));
    } catch {
      // x^3 + 4 is not a square: try the next x.
    }
  }
}
/** A point on the twist y^2 = x^3 + 4(1 + i) outside the prime-order subgroup. */
function blsG2OutsideSubgroup(): Uint8Array {
  const { Fp2 } = BLS;
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let k = 1n; ; k++) {
    const x = Fp2.create({ c0: k, c1: 1n });
    try {
      const y = Fp2.sqrt(Fp2.add(Fp2.pow(x, 3n), b));
      return cat(be(x.c0, 64), be(x.c1, 64), be(y.c0, 64), be(y.c1, 64));
    } catch {
      // Not a square: try the next x.
    }
  }
}
const blsScalar = () => be(randomBig(256), 32);
const BN_R = bn254.fields.Fr.ORDER;
const bnG1 = (k: bigint) => {
  const p = bn254.G1.Point.BASE.multiply(k).toAffine();
  return cat(be(p.x, 32), be(p.y, 32));
};
const bnG2 = (k: bigint) => {
  const p = bn254.G2.Point.BASE.multiply(k).toAffine();
  return cat(be(p.x.c1, 32), be(p.x.c0, 32), be(p.y.c1, 32), be(p.y.c0, 32));
};
/** A point on BN254's twist outside the prime-order subgroup (Fp2 elements encoded imaginary part first). */
function bnG2OutsideSubgroup(): Uint8Array {
  const Fp2 = bn254.fields.Fp2;
  const { b } = bn254.G2.Point.CURVE();
  for (let k = 1n; ; k++) {
    const x = Fp2.create({ c0: k, c1: 1n });
    try {
      const y = Fp2.sqrt(Fp2.add(Fp2.pow(x, 3n), b));
      return cat(be(x.c1, 32), be(x.c0, 32), be(y.c1, 32), be(y.c0, 32));
    } catch {
      // Not a square: try the next x.
    }
  }
}
/** Variations that every point-based precompile must refuse the same way. */
function corrupt(input: Uint8Array, at: number): Uint8Array[] {
  const flipped = input.slice();
  flipped[at + 63]! ^= 1; // off the curve
  const padded = input.slice();
  padded[at] = 1; // a non-zero byte in a field element's 16-byte padding
  return [flipped, padded, input.subarray(0, input.length - 1), cat(input, new Uint8Array(1))];
}
function modexpInput(bLen: number, eLen: number, mLen: number, body: Uint8Array = randomBytes(bLen + eLen + mLen)): Uint8Array {
  return cat(be(BigInt(bLen), 32), be(BigInt(eLen), 32), be(BigInt(mLen), 32), body);
}
function blake2fInput(rounds: number, last = 1): Uint8Array {
  const d = randomBytes(213);
  new DataView(d.buffer).setUint32(0, rounds);
  d[212] = last;
  return d;
}

/** [precompile, input, gas limit] triples: valid inputs, invalid ones, and too little gas. */
function vectors(): [number, Uint8Array, bigint][] {
  const out: [number, Uint8Array, bigint][] = [];
  const add = (address: number, input: Uint8Array, gasLimit = 10_000_000n) => out.push([address, input, gasLimit]);
  const fp = (v: bigint) => be(v, 64);
  // BLS12-381 (EIP-2537)
  const g1a = blsG1(randomBig(255) % BLS.r);
  const g1b = blsG1(randomBig(255) % BLS.r);
  const g2a = blsG2(randomBig(255) % BLS.r);
  const g2b = blsG2(randomBig(255) % BLS.r);
  const g1x = blsG1OutsideSubgroup();
  const g2x = blsG2OutsideSubgroup();
  for (const input of [cat(g1a, g1b), cat(g1a, new Uint8Array(128)), cat(g1a, g1a), cat(g1x, g1a), cat(fp(BLS.Fp.ORDER), g1a.subarray(64), g1b), new Uint8Array(0), ...corrupt(cat(g1a, g1b), 128)]) add(0x0b, input);
  for (const input of [cat(g2a, g2b), cat(g2a, new Uint8Array(256)), cat(g2x, g2a), new Uint8Array(0), ...corrupt(cat(g2a, g2b), 256)]) add(0x0d, input);
  for (const n of [1, 2, 3]) {
    const g1msm = cat(...Array.from({ length: n }, () => cat(blsG1(randomBig(255) % BLS.r), blsScalar())));
    const g2msm = cat(...Array.from({ length: n }, () => cat(blsG2(randomBig(255) % BLS.r), blsScalar())));
    for (const input of [g1msm, ...corrupt(g1msm, 0)]) add(0x0c, input);
    for (const input of [g2msm, ...corrupt(g2msm, 0)]) add(0x0e, input);
  }
  add(0x0c, cat(g1x, blsScalar())); // outside the subgroup: MSM must refuse it
  add(0x0e, cat(g2x, blsScalar()));
  add(0x0c, cat(g1a, blsScalar()), 11_999n);
  const pairingTrue = cat(blsG1(5n), blsG2(7n), blsG1(BLS.r - 35n), blsG2(1n));
  for (const input of [pairingTrue, cat(g1a, g2a), cat(new Uint8Array(128), g2a), cat(g1x, g2a), cat(g1a, g2x), new Uint8Array(0), ...corrupt(pairingTrue, 384)]) add(0x0f, input);
  add(0x0f, pairingTrue, 102_899n);
  for (const input of [fp(randomBig(380)), fp(0n), fp(BLS.Fp.ORDER), fp(BLS.Fp.ORDER - 1n), new Uint8Array(63)]) add(0x10, input);
  for (const input of [cat(fp(randomBig(380)), fp(randomBig(380))), cat(fp(1n), fp(BLS.Fp.ORDER)), new Uint8Array(127)]) add(0x11, input);
  // BN254 (EIP-196, EIP-197)
  const bp = bnG1(randomBig(250) % BN_R);
  const bq = bnG2(randomBig(250) % BN_R);
  for (const input of [cat(bp, bnG1(3n)), cat(bp, new Uint8Array(64)), cat(bp, bp), new Uint8Array(0), bp, cat(be(1n, 32), be(3n, 32), bp)]) add(0x06, input);
  for (const input of [cat(bp, blsScalar()), cat(bp, be(BN_R, 32)), cat(be(1n, 32), be(3n, 32), blsScalar()), bp.subarray(0, 40)]) add(0x07, input);
  const bnTrue = cat(bnG1(5n), bnG2(7n), bnG1(BN_R - 35n), bnG2(1n));
  const bnFlipped = bnTrue.slice();
  bnFlipped[100]! ^= 1; // a G2 coordinate off the twist
  const bnP = bn254.fields.Fp.ORDER;
  const bnG2x = bnG2OutsideSubgroup();
  const bnG2BigCoordinate = cat(be(bnP, 32), bq.subarray(32));
  for (const input of [bnTrue, cat(bp, bq), new Uint8Array(0), bnFlipped, bnTrue.subarray(0, 191), cat(bp, bnG2x), cat(bp, bnG2BigCoordinate), cat(be(bnP, 32), bp.subarray(32), bq), cat(bnFlipped.subarray(0, 64), bnG2BigCoordinate)]) {
    add(0x08, input);
  }
  add(0x08, bnTrue, 112_999n);
  // MODEXP (EIP-198, EIP-2565): shapes, truncated inputs, zero moduli, huge declared lengths
  for (const [b, e, m] of [[32, 32, 32], [1, 1, 1], [8, 40, 8], [64, 3, 64], [0, 0, 0], [0, 4, 16], [16, 0, 16], [3, 5, 0], [33, 33, 33], [256, 256, 256]] as const) {
    add(0x05, modexpInput(b, e, m));
  }
  add(0x05, modexpInput(16, 64, 16, cat(randomBytes(16), new Uint8Array(40), randomBytes(40)))); // leading zeros in the exponent
  add(0x05, modexpInput(32, 32, 32).subarray(0, 150)); // truncated: reads zeros
  add(0x05, modexpInput(32, 32, 32), 199n);
  add(0x05, cat(be(2n ** 255n, 32), new Uint8Array(64)));
  add(0x05, cat(be(1n, 32), be(2n ** 40n, 32), be(1n, 32), new Uint8Array([2, 3])));
  // BLAKE2F (EIP-152)
  for (const input of [blake2fInput(12), blake2fInput(0), blake2fInput(1, 0), blake2fInput(100), blake2fInput(12, 2), blake2fInput(12).subarray(0, 212)]) add(0x09, input);
  add(0x09, blake2fInput(1000), 999n);
  return out;
}

async function answers(evm: EVM, inputs: [number, Uint8Array, bigint][]): Promise<string[]> {
  const out: string[] = [];
  for (const [address, input, gasLimit] of inputs) {
    const fn = evm.getPrecompile(`0x${address.toString(16).padStart(40, '0')}`)!;
    try {
      const r = await fn({ data: input, gasLimit, common: evm.common, _EVM: evm });
      out.push(`0x${address.toString(16).padStart(2, '0')} ${r.exceptionError?.error ?? 'ok'} gas=${r.executionGasUsed} ${hex(r.returnValue)}`);
    } catch (err) {
      if (!(err instanceof PrecompileCapExceeded)) throw err;
      out.push(err.message);
    }
  }
  return out;
}

describe('precompiles', () => {
  test("the chain's backends give ethereumjs's results and gas, on valid and invalid inputs", async () => {
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague });
    const inputs = vectors();
    const reference = await createEVM({ common });
    const expected = await answers(reference, inputs);
    // Precompiles touch no state: the reference EVM's (empty) state manager serves all.
    const evm = (use: 'block' | 'call') => createChainEvm({ common, stateManager: reference.stateManager, blockchain: undefined }, use);
    assert.deepEqual(await answers(await evm('block'), inputs), expected);
    // A call's EVM answers the same, but for the one invocation over its cap (256-byte MODEXP operands).
    const refusal = 'precompile 0x05: 698709 gas in one invocation exceeds the cap for calls (200000)';
    assert.deepEqual(await answers(await evm('call'), inputs), expected.map((e) => (e.startsWith('0x05 ok gas=698709 ') ? refusal : e)));
    // The inputs reach successes, refusals and out-of-gas alike (so the comparison is not vacuous).
    const outcomes = new Set(expected.map((e) => e.slice(e.indexOf(' ') + 1, e.indexOf(' gas='))));
    for (const outcome of ['ok', 'out of gas', 'revert', 'point not on curve', 'invalid input length', 'fp point not in field', 'value out of range']) {
      assert.ok(outcomes.has(outcome), `${outcome} in ${[...outcomes].join(', ')}`);
    }
    assert.ok(expected.includes(`0x0f ok gas=102900 ${'0'.repeat(63)}1`), 'a true BLS pairing');
    assert.ok(expected.includes(`0x08 ok gas=113000 ${'0'.repeat(63)}1`), 'a true BN254 pairing');
  });
});

// --- calls and blocks on a real node --------------------------------------------------------

/** One BLS12-381 pair (G1 and G2 generators): 70,300 gas of pairing check. */
const PAIR = cat(blsG1(1n), blsG2(1n));
const push2 = (n: number) => `61${n.toString(16).padStart(4, '0')}`;

/**
 * Creation code that copies `input` into memory and calls the BLS pairing precompile with
 * it: `loop` repeats the call forever, ignoring its result; otherwise the code returns the
 * precompile's output, or reverts if the call failed.
 */
function pairingCaller(input: Uint8Array, loop: boolean): string {
  const len = push2(input.length);
  // 0: CODECOPY(0, dataOffset, len); 9: JUMPDEST; STATICCALL(gas, 0x0f, 0, len, len, 32)
  const call = (dataOffset: number) => `${len}${push2(dataOffset)}600039` + `5b6020${len}${len}6000600f5afa`;
  // 24: POP, JUMP to 9
  const repeat = '50600956';
  // 24: ISZERO, JUMPI to 34; RETURN(len, 32); 34: JUMPDEST, REVERT(0, 0)
  const answer = `15602257` + `6020${len}f3` + `5b60006000fd`;
  const tail = loop ? repeat : answer;
  return `0x${call(24 + tail.length / 2)}${tail}${hex(input)}`;
}

describe('precompiles in calls and blocks', () => {
  let node: TestNode;
  before(async () => {
    // A gas cap high enough that a loop of pairings runs into the (shortened) wall-clock limit.
    node = await startTestNode({ limits: { rpcGasCap: 10n ** 12n, callTimeoutMs: 1_500 } });
  });
  after(() => node.stop());

  test('a pairing through the chain backend answers as the EIP says', async () => {
    const pairingTrue = cat(blsG1(5n), blsG2(7n), blsG1(BLS.r - 35n), blsG2(1n));
    const r = await rpc(node.url, 'eth_call', [{ data: pairingCaller(pairingTrue, false) }, 'latest']);
    assert.equal(r.result, `0x${'0'.repeat(63)}1`, JSON.stringify(r.error));
  });

  test('a looping eth_call of BLS pairings ends at its deadline while eth_blockNumber keeps answering', async () => {
    const started = performance.now();
    let done = false;
    const looping = rpc(node.url, 'eth_call', [{ data: pairingCaller(PAIR, true), gas: '0xfffffffffffffffe' }, 'latest']).then((r) => {
      done = true;
      return { r, ms: performance.now() - started };
    });
    const latencies: number[] = [];
    while (!done) {
      const t = performance.now();
      const r = await rpc(node.url, 'eth_blockNumber');
      latencies.push(performance.now() - t);
      assert.ok(r.result, JSON.stringify(r.error));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { r, ms } = await looping;
    assert.equal(r.error?.code, -32000);
    assert.equal(r.error?.message, 'execution aborted (timeout = 1500ms)');
    assert.ok(ms < 2_500, `the call ended after ${ms.toFixed(0)} ms`);
    // Without a budget check per invocation, answers wait for ~340 pairings (~1.7 s) at a time;
    // the bounds leave room for a loaded machine (typically ~40 ms median, ~150 ms at most).
    assert.ok(latencies.length >= 5, `${latencies.length} answers meanwhile`);
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    assert.ok(median < 100 && latencies.at(-1)! < 500, `eth_blockNumber took ${median.toFixed(0)} ms (median), up to ${latencies.at(-1)!.toFixed(0)} ms`);
  });

  test('an invocation over the cap for calls gets a clear error; a block runs it', async () => {
    const cap = CALL_PRECOMPILE_GAS_CAPS['0f']!;
    const pairs = Number((cap - 37_700n) / 32_600n) + 1;
    const gas = 37_700n + BigInt(pairs) * 32_600n;
    const input = cat(...Array.from({ length: pairs }, () => PAIR));
    const message = `precompile 0x0f: ${gas} gas in one invocation exceeds the cap for calls (${cap})`;
    // Called from code and called directly.
    const fromCode = await rpc(node.url, 'eth_call', [{ data: pairingCaller(input, false) }, 'latest']);
    assert.deepEqual(fromCode.error && { code: fromCode.error.code, message: fromCode.error.message }, { code: -32000, message });
    const direct = await rpc(node.url, 'eth_call', [{ to: `0x${'0'.repeat(38)}0f`, data: bytesToHex(input) }, 'latest']);
    assert.deepEqual(direct.error && { code: direct.error.code, message: direct.error.message }, { code: -32000, message });
    const estimate = await rpc(node.url, 'eth_estimateGas', [{ to: `0x${'0'.repeat(38)}0f`, data: bytesToHex(input) }, 'latest']);
    assert.equal(estimate.error?.message, message);
    // Below the cap, the same call answers; the node still serves.
    const small = await rpc(node.url, 'eth_call', [{ to: `0x${'0'.repeat(38)}0f`, data: bytesToHex(PAIR) }, 'latest']);
    assert.equal(small.result, `0x${'0'.repeat(64)}`, JSON.stringify(small.error));
    // Blocks have no cap: the same invocation as a transaction succeeds.
    const wallet = new Wallet(DEV_KEY_1);
    const raw = await wallet.signTransaction({
      to: `0x${'0'.repeat(38)}0f`, data: bytesToHex(input), nonce: 0, gasLimit: 2_000_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, chainId: 31337n,
    });
    const sent = await rpc(node.url, 'eth_sendRawTransaction', [raw]);
    assert.ok(sent.result, JSON.stringify(sent.error));
    for (;;) {
      const receipt = await rpc(node.url, 'eth_getTransactionReceipt', [sent.result]);
      if (receipt.result) {
        assert.equal(receipt.result.status, '0x1');
        assert.ok(BigInt(receipt.result.gasUsed) > gas);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});
