// End-to-end: a stock Hardhat 2 project (test/hardhat) deploys and calls a contract on a
// real Conclave node through `hardhat run --network conclave`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEV_ADDRESS_0, ROOT, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const run = promisify(execFile);
const HARDHAT = path.join(ROOT, 'node_modules/.bin/hardhat');
const PROJECT = path.join(ROOT, 'test/hardhat');

describe('Hardhat', () => {
  let node: TestNode;

  before(async () => {
    node = await startTestNode();
  });

  after(async () => {
    await node?.stop();
  });

  test('hardhat run scripts/deploy.cjs --network conclave', { timeout: 150_000 }, async () => {
    const nonceBefore = BigInt((await rpc(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])).result);
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await run(HARDHAT, ['run', 'scripts/deploy.cjs', '--network', 'conclave'], {
        cwd: PROJECT,
        timeout: 140_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          ...process.env,
          HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
          CONCLAVE_RPC_URL: node.url,
        },
      }));
    } catch (e: any) {
      assert.fail(`hardhat exited with ${e.code ?? e.signal}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`);
    }
    const line = stdout
      .split('\n')
      .map((l) => l.trim())
      .reverse()
      .find((l) => l.startsWith('{'));
    assert.ok(line, `no JSON line in output:\n${stdout}\n${stderr}`);
    const out = JSON.parse(line) as { address: string; count: number };
    assert.equal(out.count, 1);
    assert.match(out.address, /^0x[0-9a-fA-F]{40}$/);

    // The deployment is really on this node: code at the address, a receipt for each
    // transaction (deploy + increment) from the first dev account.
    const code = (await rpc(node.url, 'eth_getCode', [out.address, 'latest'])).result as string;
    assert.ok(code.length > 2, 'contract code on chain');
    const nonceAfter = BigInt((await rpc(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])).result);
    assert.equal(nonceAfter, nonceBefore + 2n);
    // count() read straight from the node: selector 0x06661abd.
    const count = (await rpc(node.url, 'eth_call', [{ to: out.address, data: '0x06661abd' }, 'latest'])).result as string;
    assert.equal(BigInt(count), 1n);
  });
});
