// The README's walkthrough, run as written: examples/consortium-walkthrough.sh against a
// node started from examples/consortium.json (`conclave start --genesis`), with the real
// cast binary and ethers. Each line the README shows is checked here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

const run = promisify(execFile);
const CAST = path.join(ROOT, 'node_modules/.bin/cast');
const SCRIPT = path.join(ROOT, 'examples/consortium-walkthrough.sh');
const skip = existsSync(CAST) ? false : `cast not found at ${CAST}: npm install installs it (@foundry-rs/cast-linux-amd64)`;

const BOB = '15d34aaf54267db7d7c367839aaf71a00a2c6a65';
const CAROL = '9965507d1a55bcc2695c58ba16fb37d819b0a4dc';

let home: ReturnType<typeof tempHome>;
let node: NodeProcess | undefined;
let output = '';

before(async () => {
  if (skip) return;
  home = tempHome('conclave-walkthrough-');
  node = await spawnNode(['--genesis', 'examples/consortium.json', '--data', home.dataDir, '--platform-secret-file', home.secretFile]);
  const { stdout } = await run('bash', [SCRIPT], { cwd: ROOT, timeout: 240_000, env: { ...process.env, RPC: node.url, CAST, NO_COLOR: '1' } });
  output = stdout;
});

after(async () => {
  await node?.kill();
  home?.cleanup();
});

/** The value the script printed after `label: ` (the first line with that label). */
function shown(label: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`${label}: `));
  assert.ok(line !== undefined, `the walkthrough printed no "${label}: …" line:\n${output}`);
  return line.slice(label.length + 2);
}

test('the walkthrough signs in, deploys under a policy registered in advance, and transfers', { skip }, () => {
  assert.match(shown('token'), /^0x[0-9a-fA-F]{40}$/);
  assert.match(shown('its policy hash (policies are public)'), /^0x[0-9a-f]{64}$/);
  assert.match(shown('transfer'), /^0x[0-9a-f]{64}, status true$/);
  assert.match(shown("Alice's balance, as Alice"), /^999750\b/);
});

test('the recipient, signed in with ethers, sees its balance and the transfer event, not the input', { skip }, () => {
  assert.match(output, /^signed in as 0x15d34aaf54267db7d7c367839aaf71a00a2c6a65 until /m);
  assert.equal(shown('balanceOf(0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65)'), '250');
  assert.equal(shown("the transfer's receipt"), 'status 1, 1 log(s) visible');
  assert.equal(shown("the transfer's input"), '0x');
});

test('a third user is refused the balance by the contract and sees no log and no input', { skip }, () => {
  // UnauthorizedReader(Carol): the contract's own msg.sender check; Carol sees the revert data of her own call.
  const refused = shown('balanceOf(Bob), as Carol');
  assert.match(refused, /error code 3: execution reverted/);
  assert.ok(refused.includes(CAROL), refused);
  assert.equal(shown("the transfer's logs, as Carol"), '[]');
  assert.equal(shown("the transfer's input, as Carol"), '0x');
});

test('the auditor sees the balance, the event and the input', { skip }, () => {
  assert.equal(shown('balanceOf(Bob), as the auditor'), '250');
  assert.ok(shown("the transfer's logs, as the auditor").includes('"topics":["0xddf252ad'), 'the Transfer log');
  assert.equal(shown("the transfer's input, as the auditor"), `0xa9059cbb${BOB.padStart(64, '0')}${(250).toString(16).padStart(64, '0')}`);
});

test('an anonymous caller is not permitted, sees no log, and sees the public status; a logged-out token is refused', { skip }, () => {
  assert.match(shown('balanceOf(Bob), anonymous'), /error code -32010: not permitted/);
  assert.equal(shown("the transfer's logs, anonymous"), '[]');
  assert.equal(shown("the transfer's status, to anyone"), 'true');
  assert.match(shown("a read with Carol's old token"), /error code 4100: unauthorized: session expired or unknown/);
});

test('neither the walkthrough nor the node prints a session token', { skip }, () => {
  const tokens = [...output.matchAll(/\/s\/([A-Za-z0-9_-]{43})/g)];
  assert.equal(tokens.length, 0, 'the walkthrough prints no token');
  assert.doesNotMatch(node!.output(), /\/s\/[A-Za-z0-9_-]{43}/);
});
