/**
 * The system contracts (contracts/system/) and the example confidential token on the real
 * @ethereumjs/vm over the enclave's own state layer: the committed runtime bytecode
 * (runtime/system/systemCode.ts) is what the sources compile to, storage seeded with
 * runtime/system/layout.ts reads back through the contracts' views, and storage the
 * contracts write reads back through layout.ts. POLICY_CHECK is the real precompile body
 * (runtime/policy/policyCheck.ts), except where a test needs bodies no valid policy has
 * (shorter than 32 bytes) to exercise Solidity's short `bytes` form.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EVMError, type ExecResult, type PrecompileInput } from '@ethereumjs/evm';
import { createVM, type VM } from '@ethereumjs/vm';
import { bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from '@ethereumjs/util';
import { AbiCoder, Interface, keccak256, toUtf8Bytes, toUtf8String } from 'ethers';
import { listArtifacts, loadArtifact } from '../../contracts/artifacts.ts';
import { COMPILER_SETTINGS, compileContracts, compileSources, SYSTEM_CODE, type SolcOutput } from '../../scripts/compile-contracts.ts';
import { createChainCommon } from '../../runtime/chain/common.ts';
import { genesisAccounts } from '../../runtime/chain/genesisAccounts.ts';
import { MULTICALL3_ADDRESS } from '../../runtime/chain/multicall3.ts';
import { parsePolicy } from '../../runtime/policy/Policy.ts';
import { checkPolicyInput } from '../../runtime/policy/policyCheck.ts';
import { JournaledStateManager } from '../../runtime/state/JournaledStateManager.ts';
import { WorldState } from '../../runtime/state/WorldState.ts';
import { IDENTITY_REGISTRY, POLICY_CHECK, POLICY_REGISTRY, ROLES } from '../../runtime/system/addresses.ts';
import {
  bodySlot,
  DEFAULT_POLICY_SLOT,
  deployerSlot,
  encodeBytes,
  encodeDefaultPolicy,
  encodeIdentities,
  identityListSlot,
  identitySlot,
  IDENTITY_LIST_SLOT,
  pendingSlot,
  policyHashSlot,
  readBytes,
  readIdentity,
  readPolicyBody,
  readWord,
  type StorageReader,
  type StorageWrite,
} from '../../runtime/system/layout.ts';
import * as systemCode from '../../runtime/system/systemCode.ts';

const SOURCES = {
  IdentityRegistry: 'contracts/system/IdentityRegistry.sol',
  PolicyRegistry: 'contracts/system/PolicyRegistry.sol',
  ConfidentialERC20: 'contracts/examples/ConfidentialERC20.sol',
} as const;
type Name = keyof typeof SOURCES;

const MEMBER = '0x' + '11'.repeat(20);
const USER = '0x' + '22'.repeat(20);
const AUDITOR = '0x' + '33'.repeat(20);
const OUTSIDER = '0x' + '44'.repeat(20);
const DEPLOYER = '0x' + '55'.repeat(20);
const MEMBER_KEY = '0x' + 'ab'.repeat(32);
/** A contract of DEPLOYER's, with code. */
const DEPLOYED = '0x' + 'd0'.repeat(20);
/** An address nobody has created yet. */
const UNBORN = '0x' + 'e0'.repeat(20);

const POLICY_TEXT = fs.readFileSync(new URL('../../examples/confidential-erc20.policy.json', import.meta.url), 'utf8');
const coder = AbiCoder.defaultAbiCoder();
const bytes = (hex: string): Uint8Array => hexToBytes(hex as `0x${string}`);
const word = (hex: string): Uint8Array => setLengthLeft(bytes(hex), 32);
/** An address as an indexed topic. */
const topic = (address: string): string => bytesToHex(word(address));
const errorData = (message: string): string => '0x08c379a0' + coder.encode(['string'], [message]).slice(2);

let compiled: SolcOutput;
const abi = (name: Name): Interface => new Interface(compiled.contracts![SOURCES[name]]![name]!.abi as never);

/** POLICY_CHECK's behaviour for the current test: the real validation unless a test swaps it. */
let validate: (data: Uint8Array) => { ok: true } | { ok: false; revertData: Uint8Array } = checkPolicyInput;
/** Accepts anything that starts with "{", so that bodies of any length can be stored. */
const acceptBraces = (data: Uint8Array) => (data[0] === 0x7b ? { ok: true as const } : { ok: false as const, revertData: bytes(errorData('bad policy')) });

function policyCheck(input: PrecompileInput): ExecResult {
  const verdict = validate(input.data);
  if (verdict.ok) return { executionGasUsed: 0n, returnValue: new Uint8Array() };
  return { executionGasUsed: 0n, returnValue: verdict.revertData, exceptionError: new EVMError(EVMError.errorMessages.REVERT) };
}

let world: WorldState;
let vm: VM;

/** A storage reader of `address` in the world state, as the enclave builds one. */
const readerOf = (address: string): StorageReader => (slot) => world.storage(address, bytesToHex(slot));

async function seed(address: string, writes: StorageWrite[]): Promise<void> {
  for (const [slot, value] of writes) await vm.stateManager.putStorage(createAddressFromString(address), slot, value);
}

interface Outcome {
  ok: boolean;
  data: string;
  logs: { address: string; topics: string[]; data: string }[];
  created?: string;
}

async function run(from: string, to: string | undefined, data: string): Promise<Outcome> {
  const { execResult, createdAddress } = await vm.evm.runCall({
    caller: createAddressFromString(from),
    to: to === undefined ? undefined : createAddressFromString(to),
    data: bytes(data),
    gasLimit: 10_000_000n,
  });
  const error = execResult.exceptionError;
  assert.ok(error === undefined || error.error === EVMError.errorMessages.REVERT, `unexpected EVM error ${error?.error}`);
  return {
    ok: error === undefined,
    data: bytesToHex(execResult.returnValue),
    logs: (execResult.logs ?? []).map(([address, topics, logData]) => ({
      address: bytesToHex(address),
      topics: topics.map((t) => bytesToHex(t)),
      data: bytesToHex(logData),
    })),
    created: createdAddress?.toString(),
  };
}

/** Calls `fn` of the contract `name` at `to` from `from`; returns the decoded result, or throws with the revert data. */
async function view(name: Name, to: string, from: string, fn: string, args: unknown[] = []): Promise<unknown> {
  const iface = abi(name);
  const out = await run(from, to, iface.encodeFunctionData(fn, args));
  if (!out.ok) throw Object.assign(new Error(`${fn} reverted`), { data: out.data });
  const result = iface.decodeFunctionResult(fn, out.data);
  return result.length === 1 ? result[0] : result.toArray();
}

async function send(name: Name, to: string, from: string, fn: string, args: unknown[]): Promise<Outcome> {
  return run(from, to, abi(name).encodeFunctionData(fn, args));
}

function revertData(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => assert.fail('expected a revert'),
    (e: { data?: string }) => {
      assert.ok(e.data !== undefined, String(e));
      return e.data;
    },
  );
}

before(async () => {
  compiled = compileSources(Object.values(SOURCES), { quiet: true });
  world = new WorldState();
  vm = await createVM({
    common: createChainCommon(1337n),
    stateManager: new JournaledStateManager(world),
    evmOpts: { customPrecompiles: [{ address: POLICY_CHECK, function: policyCheck }] },
  });
  await vm.stateManager.putCode(createAddressFromString(IDENTITY_REGISTRY), bytes(systemCode.IDENTITY_REGISTRY_CODE));
  await vm.stateManager.putCode(createAddressFromString(POLICY_REGISTRY), bytes(systemCode.POLICY_REGISTRY_CODE));
  await vm.stateManager.putCode(createAddressFromString(DEPLOYED), bytes('0x00'));
  await seed(
    IDENTITY_REGISTRY,
    encodeIdentities([
      { address: bytes(MEMBER), roles: ROLES.member, x25519: bytes(MEMBER_KEY) },
      { address: bytes(USER), roles: ROLES.user },
      { address: bytes(AUDITOR), roles: ROLES.auditor | ROLES.member },
    ]),
  );
  await seed(POLICY_REGISTRY, [[deployerSlot(bytes(DEPLOYED)), word(DEPLOYER)]]);
});

describe('system contract code', () => {
  test('runtime/system/systemCode.ts holds what the sources compile to (run `npm run compile` after changing them)', () => {
    for (const [constant, name] of Object.entries(SYSTEM_CODE)) {
      const fresh = compiled.contracts![SOURCES[name]]![name]!.evm.deployedBytecode;
      assert.deepEqual(fresh.linkReferences, {}, `${name} links no library`);
      assert.equal(systemCode[constant as keyof typeof SYSTEM_CODE], `0x${fresh.object}`, `${constant} is stale`);
      const meta = JSON.parse(compiled.contracts![SOURCES[name]]![name]!.metadata) as { settings: { evmVersion: string } };
      assert.equal(meta.settings.evmVersion, COMPILER_SETTINGS.evmVersion);
    }
    assert.match(fs.readFileSync(new URL('../../runtime/system/systemCode.ts', import.meta.url), 'utf8'), /^\/\/ GENERATED by scripts\/compile-contracts\.ts/);
  });

  test('the compile script finds contracts in subdirectories and keeps flat artifact names; interfaces have none', () => {
    compileContracts({ quiet: true });
    const names = listArtifacts();
    for (const [name, source] of Object.entries(SOURCES)) {
      assert.ok(names.includes(name), `artifact ${name}`);
      assert.equal(loadArtifact(name).sourceName, source);
    }
    assert.ok(!names.includes('IIdentityRegistry') && !names.includes('IPolicyRegistry'));
    assert.equal(loadArtifact('ConclaveToken').sourceName, 'contracts/ConclaveToken.sol');
  });

  test('the example policy is a valid policy', () => {
    const policy = parsePolicy(POLICY_TEXT);
    assert.equal(policy.events.size, 3);
    assert.equal(policy.otherEvents.roles, ROLES.auditor);
  });
});

describe('IdentityRegistry over storage seeded by layout.ts', () => {
  test('rolesOf, isRegistered, hasRole, x25519KeyOf', async () => {
    const ask = (fn: string, args: unknown[]) => view('IdentityRegistry', IDENTITY_REGISTRY, OUTSIDER, fn, args);
    assert.equal(await ask('rolesOf', [MEMBER]), 1n);
    assert.equal(await ask('rolesOf', [AUDITOR]), 5n);
    assert.equal(await ask('rolesOf', [OUTSIDER]), 0n);
    assert.equal(await ask('isRegistered', [USER]), true);
    assert.equal(await ask('isRegistered', [OUTSIDER]), false);
    assert.equal(await ask('hasRole', [AUDITOR, ROLES.auditor]), true);
    assert.equal(await ask('hasRole', [AUDITOR, ROLES.auditor | ROLES.member]), true);
    assert.equal(await ask('hasRole', [AUDITOR, ROLES.auditor | ROLES.user]), false);
    assert.equal(await ask('hasRole', [USER, ROLES.auditor]), false);
    assert.equal(await ask('hasRole', [USER, 0]), false);
    assert.equal(await ask('x25519KeyOf', [MEMBER]), MEMBER_KEY);
    assert.equal(await ask('x25519KeyOf', [USER]), '0x' + '00'.repeat(32));
  });

  test('count and identityAt enumerate in the given order; past the end is Panic(0x32)', async () => {
    const ask = (fn: string, args: unknown[] = []) => view('IdentityRegistry', IDENTITY_REGISTRY, OUTSIDER, fn, args);
    assert.equal(await ask('count'), 3n);
    assert.deepEqual(
      [await ask('identityAt', [0]), await ask('identityAt', [1]), await ask('identityAt', [2])].map((a) => String(a).toLowerCase()),
      [MEMBER, USER, AUDITOR],
    );
    assert.equal(await revertData(ask('identityAt', [3])), '0x4e487b71' + coder.encode(['uint256'], [0x32]).slice(2));
  });

  test('readIdentity reads what the contract answers', () => {
    const read = readerOf(IDENTITY_REGISTRY);
    assert.deepEqual(readIdentity(read, bytes(MEMBER)), { roles: 1, x25519: bytes(MEMBER_KEY) });
    assert.deepEqual(readIdentity(read, bytes(USER)), { roles: 2 });
    assert.deepEqual(readIdentity(read, bytes(OUTSIDER)), { roles: 0 });
    assert.equal(bytesToHex(readWord(read, IDENTITY_LIST_SLOT)), bytesToHex(word('0x03')));
    assert.equal(bytesToHex(readWord(read, identityListSlot(2))), bytesToHex(word(AUDITOR)));
    // The mapping slot is Solidity's: keccak256(abi.encode(account, 0)).
    assert.equal(bytesToHex(identitySlot(bytes(USER))), keccak256(coder.encode(['address', 'uint256'], [USER, 0])));
  });

  test('encodeIdentities refuses duplicates and roles outside 1..255', () => {
    assert.throws(() => encodeIdentities([{ address: bytes(USER), roles: 2 }, { address: bytes(USER), roles: 1 }]), /listed twice/);
    assert.throws(() => encodeIdentities([{ address: bytes(USER), roles: 0 }]), /non-zero uint8/);
    assert.throws(() => encodeIdentities([{ address: bytes(USER), roles: 256 }]), /non-zero uint8/);
  });
});

describe('PolicyRegistry', () => {
  const registry = readerOf(POLICY_REGISTRY);
  const ask = (fn: string, args: unknown[] = []) => view('PolicyRegistry', POLICY_REGISTRY, OUTSIDER, fn, args);

  test('the deployer sets a policy: policyHashOf, policyOf, policyBody and PolicySet', async () => {
    const hash = keccak256(toUtf8Bytes(POLICY_TEXT));
    const out = await send('PolicyRegistry', POLICY_REGISTRY, DEPLOYER, 'setPolicy', [DEPLOYED, POLICY_TEXT]);
    assert.ok(out.ok, out.data);
    assert.deepEqual(out.logs, [
      {
        address: POLICY_REGISTRY,
        topics: [abi('PolicyRegistry').getEvent('PolicySet')!.topicHash, topic(DEPLOYED), hash, topic(DEPLOYER)],
        data: '0x',
      },
    ]);
    assert.equal(await ask('policyHashOf', [DEPLOYED]), hash);
    assert.equal(await ask('policyOf', [DEPLOYED]), POLICY_TEXT);
    assert.equal(await ask('policyBody', [hash]), POLICY_TEXT);
    assert.equal(bytesToHex(readWord(registry, policyHashSlot(bytes(DEPLOYED)))), hash);
    assert.equal(toUtf8String(readPolicyBody(registry, bytes(DEPLOYED))!), POLICY_TEXT);
  });

  test('bodies in the short (< 32 bytes) and long forms read back with readBytes, as encodeBytes writes them', async (t) => {
    validate = acceptBraces;
    t.after(() => (validate = checkPolicyInput));
    for (const length of [1, 2, 31, 32, 33, 63, 64, 65, 300]) {
      const body = '{' + 'x'.repeat(length - 1);
      const hash = keccak256(toUtf8Bytes(body));
      const out = await send('PolicyRegistry', POLICY_REGISTRY, DEPLOYER, 'setPolicy', [DEPLOYED, body]);
      assert.ok(out.ok, `length ${length}: ${out.data}`);
      assert.equal(await ask('policyOf', [DEPLOYED]), body);
      const slot = bodySlot(bytes(hash));
      assert.equal(toUtf8String(readBytes(registry, slot)), body, `length ${length}`);
      for (const [s, w] of encodeBytes(slot, toUtf8Bytes(body))) {
        assert.equal(bytesToHex(readWord(registry, s)), bytesToHex(w), `length ${length}: word at ${bytesToHex(s)}`);
      }
    }
    assert.deepEqual(readBytes(registry, bodySlot(bytes('0x' + '99'.repeat(32)))), new Uint8Array());
  });

  test('readBytes refuses encodings Solidity never writes and lengths over its limit', () => {
    const slot = new Uint8Array(32);
    assert.throws(() => readBytes(() => word('0x40'), slot), /short form with length 32/);
    assert.throws(() => readBytes(() => word('0x3f'), slot), /long form with length 31/);
    assert.throws(() => readBytes(() => word('0x' + 'ff'.repeat(32)), slot), /exceed the limit/);
    assert.throws(() => readBytes(() => word('0x81'), slot, 63), /of 64 bytes exceed the limit of 63/);
  });

  test('for an address without code, the policy is registered in advance: pendingOf[sender][target]', async () => {
    const hash = keccak256(toUtf8Bytes(POLICY_TEXT));
    const out = await send('PolicyRegistry', POLICY_REGISTRY, DEPLOYER, 'setPolicy', [UNBORN, POLICY_TEXT]);
    assert.ok(out.ok, out.data);
    assert.deepEqual(out.logs[0]!.topics, [abi('PolicyRegistry').getEvent('PolicyRegistered')!.topicHash, topic(UNBORN), hash, topic(DEPLOYER)]);
    assert.equal(await ask('pendingOf', [DEPLOYER, UNBORN]), hash);
    assert.equal(await ask('pendingOf', [OUTSIDER, UNBORN]), '0x' + '00'.repeat(32));
    assert.equal(await ask('policyHashOf', [UNBORN]), '0x' + '00'.repeat(32));
    assert.equal(bytesToHex(readWord(registry, pendingSlot(bytes(DEPLOYER), bytes(UNBORN)))), hash);
  });

  test('anyone but the deployer is refused with NotDeployer, also on code nobody deployed here', async () => {
    const iface = abi('PolicyRegistry');
    let out = await send('PolicyRegistry', POLICY_REGISTRY, OUTSIDER, 'setPolicy', [DEPLOYED, POLICY_TEXT]);
    assert.equal(out.ok, false);
    assert.equal(out.data, iface.encodeErrorResult('NotDeployer', [DEPLOYED, OUTSIDER]));
    out = await send('PolicyRegistry', POLICY_REGISTRY, OUTSIDER, 'setPolicy', [IDENTITY_REGISTRY, POLICY_TEXT]);
    assert.equal(out.data, iface.encodeErrorResult('NotDeployer', [IDENTITY_REGISTRY, OUTSIDER]));
  });

  test("a rejected policy reverts with POLICY_CHECK's revert data, unchanged, and stores nothing", async () => {
    const before = await ask('policyHashOf', [DEPLOYED]);
    const bad = POLICY_TEXT.replace('"output"', '"outputs"');
    const expected = checkPolicyInput(toUtf8Bytes(bad));
    assert.equal(expected.ok, false);
    const out = await send('PolicyRegistry', POLICY_REGISTRY, DEPLOYER, 'setPolicy', [DEPLOYED, bad]);
    assert.equal(out.ok, false);
    assert.equal(out.data, bytesToHex((expected as { revertData: Uint8Array }).revertData));
    assert.match(String(coder.decode(['string'], '0x' + out.data.slice(10))[0]), /unknown field "outputs"/);
    assert.equal(await ask('policyHashOf', [DEPLOYED]), before);
    assert.equal(await ask('policyBody', [keccak256(toUtf8Bytes(bad))]), '');
  });

  test('policyOf falls back to the default policy, then to ""', async () => {
    const other = '0x' + 'f0'.repeat(20);
    assert.equal(await ask('policyOf', [other]), '');
    assert.equal(readPolicyBody(registry, bytes(other)), undefined);
    await seed(POLICY_REGISTRY, encodeDefaultPolicy(toUtf8Bytes(POLICY_TEXT)));
    assert.equal(await ask('defaultPolicyHash'), keccak256(toUtf8Bytes(POLICY_TEXT)));
    assert.equal(await ask('policyOf', [other]), POLICY_TEXT);
    assert.equal(toUtf8String(readPolicyBody(registry, bytes(other))!), POLICY_TEXT);
    await seed(POLICY_REGISTRY, [[DEFAULT_POLICY_SLOT, new Uint8Array(32)]]);
  });
});

describe('ConfidentialERC20', () => {
  const SUPPLY = 1_000_000n;
  let token: string;
  const erc20 = (from: string, fn: string, args: unknown[] = []) => view('ConfidentialERC20', token, from, fn, args);
  const unauthorized = (caller: string) => abi('ConfidentialERC20').encodeErrorResult('UnauthorizedReader', [caller]);

  before(async () => {
    const { evm } = compiled.contracts![SOURCES.ConfidentialERC20]!.ConfidentialERC20!;
    const args = coder.encode(['string', 'string', 'uint256'], ['Confidential', 'CONF', SUPPLY]).slice(2);
    const out = await run(USER, undefined, `0x${evm.bytecode.object}${args}`);
    assert.ok(out.ok && out.created !== undefined, out.data);
    token = out.created!;
  });

  test('name, symbol, decimals and totalSupply are public', async () => {
    assert.equal(await erc20(OUTSIDER, 'name'), 'Confidential');
    assert.equal(await erc20(OUTSIDER, 'symbol'), 'CONF');
    assert.equal(await erc20(OUTSIDER, 'decimals'), 18n);
    assert.equal(await erc20(OUTSIDER, 'totalSupply'), SUPPLY);
  });

  test('balanceOf: the holder and auditors read it, anyone else (a member too) is refused', async () => {
    assert.equal(await erc20(USER, 'balanceOf', [USER]), SUPPLY);
    assert.equal(await erc20(AUDITOR, 'balanceOf', [USER]), SUPPLY);
    assert.equal(await revertData(erc20(OUTSIDER, 'balanceOf', [USER])), unauthorized(OUTSIDER));
    assert.equal(await revertData(erc20(MEMBER, 'balanceOf', [USER])), unauthorized(MEMBER));
  });

  test('transfer moves tokens; the recipient reads its own balance, not the sender\u2019s', async () => {
    const out = await send('ConfidentialERC20', token, USER, 'transfer', [MEMBER, 10n]);
    assert.ok(out.ok, out.data);
    assert.deepEqual(out.logs[0]!.topics.slice(1), [topic(USER), topic(MEMBER)]);
    assert.equal(await erc20(MEMBER, 'balanceOf', [MEMBER]), 10n);
    assert.equal(await erc20(AUDITOR, 'balanceOf', [MEMBER]), 10n);
    assert.equal(await revertData(erc20(USER, 'balanceOf', [MEMBER])), unauthorized(USER));
    assert.equal(await revertData(erc20(MEMBER, 'balanceOf', [USER])), unauthorized(MEMBER));
  });

  test('allowance: owner, spender and auditors read it; transferFrom spends it', async () => {
    assert.ok((await send('ConfidentialERC20', token, USER, 'approve', [MEMBER, 5n])).ok);
    assert.equal(await erc20(USER, 'allowance', [USER, MEMBER]), 5n);
    assert.equal(await erc20(MEMBER, 'allowance', [USER, MEMBER]), 5n);
    assert.equal(await erc20(AUDITOR, 'allowance', [USER, MEMBER]), 5n);
    assert.equal(await revertData(erc20(OUTSIDER, 'allowance', [USER, MEMBER])), unauthorized(OUTSIDER));
    const out = await send('ConfidentialERC20', token, MEMBER, 'transferFrom', [USER, OUTSIDER, 3n]);
    assert.ok(out.ok, out.data);
    assert.equal(await erc20(MEMBER, 'allowance', [USER, MEMBER]), 2n);
    assert.equal(await erc20(OUTSIDER, 'balanceOf', [OUTSIDER]), 3n);
  });
});

describe('genesis accounts', () => {
  test('the dev network has Multicall3 at its canonical address with its canonical code; a consortium network does not', () => {
    const dev = genesisAccounts([]).get(MULTICALL3_ADDRESS);
    assert.ok(dev?.code);
    assert.equal(dev.code.length, 3808);
    assert.equal(keccak256(dev.code), '0xd5c15df687b16f2ff992fc8d767b4216323184a2bbc6ee2f9c398c318e770891');
    assert.equal(genesisAccounts([], { chainId: 1n, identities: [], alloc: [] } as never).has(MULTICALL3_ADDRESS), false);
  });
});
