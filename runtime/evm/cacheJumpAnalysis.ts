type Analysis = { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: unknown[] };
type InterpreterProto = { _getValidJumpDestinations(code: Uint8Array): Analysis };

let installed = false;

/**
 * The ethereumjs interpreter re-analyses a contract's code (jump destinations, push
 * values, opcode table) on every call frame: ~5% of an ERC20 transfer. Code is
 * immutable and our state hands out one Uint8Array per code hash, so the analysis is
 * cached per code object (a WeakMap: it goes when the code does). The analysis is
 * only read by the interpreter, never written.
 *
 * The Interpreter class is internal to @ethereumjs/evm (not in its exports map), so
 * it is reached through the module file that the EVM itself loads.
 */
export async function cacheJumpAnalysis(): Promise<void> {
  if (installed) return;
  installed = true;
  const url = new URL('./interpreter.js', import.meta.resolve('@ethereumjs/evm'));
  const { Interpreter } = (await import(url.href)) as { Interpreter: { prototype: InterpreterProto } };
  const analyse = Interpreter.prototype._getValidJumpDestinations;
  const cache = new WeakMap<Uint8Array, Analysis>();
  Interpreter.prototype._getValidJumpDestinations = function (this: InterpreterProto, code: Uint8Array): Analysis {
    let analysis = cache.get(code);
    if (!analysis) {
      analysis = analyse.call(this, code);
      cache.set(code, analysis);
    }
    return analysis;
  };
}
