// End-to-end: the developer's test suite in test/hardhat/test (hardhat-network-helpers,
// hardhat-chai-matchers: fixtures, time travel, mine(8201), impersonating a contract,
// setCode, snapshots, custom errors, EIP-2935 block hashes) passes unmodified on a real
// Conclave dev node through `hardhat test --network conclave`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startTestNode, type TestNode } from '../helpers/node.ts';

const run = promisify(execFile);
const HARDHAT = path.join(ROOT, 'node_modules/.bin/hardhat');
const PROJECT = path.join(ROOT, 'test/hardhat');
const SUITE_TIMEOUT_MS = 240_000;

/** Runs a Hardhat task in the project; fails the test with the child's whole output if it exits non-zero. */
async function hardhat(args: string[], env: Record<string, string>, timeout: number): Promise<string> {
  try {
    const { stdout, stderr } = await run(HARDHAT, args, {
      cwd: PROJECT,
      timeout,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', ...env },
    });
    return stdout + stderr;
  } catch (e: any) {
    return assert.fail(`hardhat ${args.join(' ')} exited with ${e.code ?? e.signal}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`);
  }
}

describe('Hardhat project test suite', () => {
  let node: TestNode;

  before(async () => {
    // Compiled once, offline (the project's config uses the solc-js in node_modules).
    await hardhat(['compile', '--quiet'], {}, 120_000);
    node = await startTestNode();
  });

  after(async () => {
    await node?.stop();
  });

  test('hardhat test --network conclave passes', { timeout: SUITE_TIMEOUT_MS + 10_000 }, async () => {
    const output = await hardhat(['test', '--network', 'conclave', '--no-compile'], { CONCLAVE_RPC_URL: node.url }, SUITE_TIMEOUT_MS);
    assert.match(output, /\d+ passing/, output);
    assert.doesNotMatch(output, /\d+ (failing|pending)/, output);
  });
});
