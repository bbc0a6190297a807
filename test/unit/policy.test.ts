/**
 * The policy language: a strict parser whose errors name the bad field and value, audiences
 * evaluated against real ABI-encoded logs, and the POLICY_CHECK precompile's revert data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AbiEvent,
  bytesToHex,
  decodeErrorResult,
  encodeAbiParameters,
  encodeEventTopics,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  toBytes,
  toEventSelector,
} from 'viem';
import { type AudienceContext, type AudienceMember, inAudience, logAudience } from '../../runtime/policy/audience.ts';
import {
  MAX_POLICY_BYTES,
  parsePolicy,
  parsePolicyBytes,
  PolicyError,
  policyHash,
  PUBLIC_POLICY,
} from '../../runtime/policy/Policy.ts';
import { ROLES } from '../../runtime/system/addresses.ts';
import { checkPolicyInput } from '../../runtime/policy/policyCheck.ts';

const ALICE = getAddress('0xa11ce00000000000000000000000000000000a11');
const BOB = getAddress('0xb0b00000000000000000000000000000000000b0');
const CAROL = getAddress('0xca401000000000000000000000000000000ca401');
const AUDITOR = getAddress('0xa0d1700000000000000000000000000000a0d170');

const TRANSFER = {
  type: 'event',
  name: 'Transfer',
  inputs: [
    { name: 'from', type: 'address', indexed: true, internalType: 'address' },
    { name: 'to', type: 'address', indexed: true, internalType: 'address' },
    { name: 'value', type: 'uint256', indexed: false, internalType: 'uint256' },
  ],
  anonymous: false,
} as const satisfies AbiEvent;
const PAID = {
  type: 'event',
  name: 'Paid',
  inputs: [
    { name: 'payer', type: 'address', indexed: true },
    { name: 'memo', type: 'string', indexed: false },
    { name: 'payee', type: 'address', indexed: false },
    { name: 'amount', type: 'uint256', indexed: false },
  ],
} as const satisfies AbiEvent;
const SWAP = {
  type: 'event',
  name: 'Swap',
  inputs: [
    {
      name: 'legs',
      type: 'tuple[]',
      components: [
        { name: 'token', type: 'address' },
        { name: 'amount', type: 'uint256' },
      ],
    },
    { name: 'id', type: 'bytes32', indexed: true },
  ],
} as const satisfies AbiEvent;

const TRANSFER_SIG = 'Transfer(address,address,uint256)';
const PAID_SIG = 'Paid(address,string,address,uint256)';

/** A full policy using every kind of audience; `edit` changes it before it is serialised. */
function policyJson(edit: (p: any) => void = () => {}): string {
  // Cloned, so that an edit never reaches the shared ABI constants.
  const policy: any = structuredClone({
    state: ['everyone'],
    input: ['sender', 'role:auditor', AUDITOR, AUDITOR.toLowerCase()],
    output: ['sender', 'role:auditor', 'role:member'],
    events: {
      [TRANSFER_SIG]: { audience: ['topic:1', 'topic:2', 'role:auditor', 'topic:1'], abi: TRANSFER },
      [PAID_SIG]: { audience: ['arg:payer', 'arg:payee'], abi: PAID },
      'Swap((address,uint256)[],bytes32)': { audience: ['sender'], abi: SWAP },
      'Ping(uint256,address)': { audience: ['public', 'topic:2'] },
    },
    otherEvents: ['sender', 'topic:1'],
  });
  edit(policy);
  return JSON.stringify(policy);
}

function rejects(text: string, message: string | RegExp): void {
  assert.throws(
    () => parsePolicy(text),
    (e: unknown) => {
      assert.ok(e instanceof PolicyError, `expected a PolicyError, got ${e}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('parsePolicy', () => {
  test('a full valid policy parses into compiled audiences', () => {
    const policy = parsePolicy(policyJson());
    assert.deepEqual(policy.state, { public: false, everyone: true, sender: false, roles: 0, addresses: new Set(), topics: [], args: [] });
    assert.equal(policy.input.sender, true);
    assert.equal(policy.input.roles, ROLES.auditor);
    assert.deepEqual(policy.input.addresses, new Set([AUDITOR.toLowerCase()]), 'addresses lowercase, deduplicated');
    assert.equal(policy.output.roles, ROLES.auditor | ROLES.member);
    assert.deepEqual(policy.otherEvents.topics, [1]);

    assert.equal(policy.events.size, 4);
    const transfer = policy.events.get(toEventSelector(TRANSFER_SIG));
    assert.ok(transfer, 'events are keyed by topic 0');
    assert.equal(transfer.signature, TRANSFER_SIG);
    assert.deepEqual(transfer.audience.topics, [1, 2]);
    assert.equal(transfer.audience.roles, ROLES.auditor);
    const paid = policy.events.get(toEventSelector(PAID_SIG));
    assert.deepEqual(paid?.audience.args, ['payer', 'payee']);
    assert.deepEqual(paid?.argSlots.get('payer'), { topic: 1 });
    assert.equal((paid?.argSlots.get('payee') as { data: number }).data, 1);
    assert.ok(policy.events.get(toEventSelector('Swap((address,uint256)[],bytes32)')));
    assert.equal(policy.events.get(toEventSelector('Ping(uint256,address)'))?.abi, undefined);
  });

  test('otherEvents defaults to nobody; empty audiences are allowed', () => {
    const policy = parsePolicy('{"state":[],"input":[],"output":[],"events":{}}');
    for (const audience of [policy.state, policy.otherEvents]) {
      assert.deepEqual(audience, { public: false, everyone: false, sender: false, roles: 0, addresses: new Set(), topics: [], args: [] });
    }
  });

  test('the document must be a JSON object within the size limit', () => {
    rejects('{"state": [', /^policy: not valid JSON \(/);
    rejects('[]', 'policy: must be a policy (a JSON object), got []');
    rejects('null', 'policy: must be a policy (a JSON object), got null');
    const padded = policyJson((p) => (p.state = [...p.state, ...Array(3000).fill('public')]));
    assert.ok(padded.length > MAX_POLICY_BYTES);
    rejects(padded, `policy: ${padded.length} bytes, more than the 16384-byte limit`);
    // The limit counts UTF-8 bytes, not characters.
    const multibyte = `{"state":["public"],"input":[],"output":[],"events":{}, "x":"${'é'.repeat(8200)}"}`;
    assert.ok(multibyte.length < MAX_POLICY_BYTES);
    rejects(multibyte, /^policy: \d+ bytes, more than the 16384-byte limit$/);
  });

  test('unknown and missing fields are named', () => {
    rejects(policyJson((p) => (p.outputs = ['sender'])), 'policy: unknown field "outputs"');
    rejects(policyJson((p) => delete p.state), 'policy: missing field "state"');
    rejects(policyJson((p) => (p.events[TRANSFER_SIG].audiences = [])), `policy.events["${TRANSFER_SIG}"]: unknown field "audiences"`);
    rejects(policyJson((p) => delete p.events[TRANSFER_SIG].audience), `policy.events["${TRANSFER_SIG}"]: missing field "audience"`);
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].abi = { ...TRANSFER, stateMutability: 'view' })),
      `policy.events["${TRANSFER_SIG}"].abi: unknown field "stateMutability"`,
    );
    rejects('{"state":[],"input":[],"output":[],"events":{},"__proto__":[]}', 'policy: unknown field "__proto__"');
  });

  test('every audience entry is checked, naming its path and value', () => {
    rejects(policyJson((p) => (p.state = ['everyone', 5])), 'policy.state[1]: an audience must be a string, got 5');
    rejects(policyJson((p) => (p.input = 'public')), 'policy.input: must be an array of audience strings, got "public"');
    rejects(policyJson((p) => (p.output = ['Public'])), 'policy.output[0]: unknown audience "Public"');
    rejects(policyJson((p) => (p.state = ['role:admin'])), 'policy.state[0]: unknown audience "role:admin" (roles are member, user, auditor)');
    rejects(policyJson((p) => (p.state = ['role:constructor'])), /unknown audience "role:constructor"/);
    rejects(policyJson((p) => (p.state = ['0x1234'])), 'policy.state[0]: unknown audience "0x1234"');
    rejects(policyJson((p) => (p.state = [`${ALICE}00`])), /unknown audience/);
    rejects(policyJson((p) => (p.otherEvents = ['arg:'])), 'policy.otherEvents[0]: unknown audience "arg:"');
  });

  test('topic:N is 1..3, in events only, and an indexed address when the abi is given', () => {
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].audience = ['topic:1', 'topic:4'])),
      `policy.events["${TRANSFER_SIG}"].audience[1]: unknown audience "topic:4" (topic:N takes N from 1 to 3)`,
    );
    rejects(policyJson((p) => (p.otherEvents = ['topic:0'])), /^policy.otherEvents\[0\]: unknown audience "topic:0"/);
    rejects(policyJson((p) => (p.otherEvents = ['topic:01'])), /^policy.otherEvents\[0\]: unknown audience "topic:01"/);
    rejects(policyJson((p) => (p.input = ['topic:1'])), `policy.input[0]: "topic:1" is allowed only in an event's audience`);
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].audience = ['topic:3'])),
      `policy.events["${TRANSFER_SIG}"].audience[0]: "topic:3" but ${TRANSFER_SIG} has 2 indexed inputs`,
    );
    rejects(
      policyJson((p) => (p.events['Swap((address,uint256)[],bytes32)'].audience = ['topic:1'])),
      /audience\[0\]: "topic:1" is the indexed input "id" of type bytes32, not address$/,
    );
    rejects(
      policyJson((p) => (p.events['Ping(uint256,address)'].audience = ['topic:3'])),
      `policy.events["Ping(uint256,address)"].audience[0]: "topic:3" but Ping(uint256,address) has 2 parameters`,
    );
  });

  test('arg:NAME names an address input of the event abi, in listed events only', () => {
    const at = `policy.events["${PAID_SIG}"].audience[0]`;
    rejects(policyJson((p) => (p.events[PAID_SIG].audience = ['arg:missing'])), `${at}: "arg:missing" names no input of ${PAID_SIG}`);
    rejects(policyJson((p) => (p.events[PAID_SIG].audience = ['arg:amount'])), `${at}: "arg:amount" names an input of type uint256, not address`);
    rejects(
      policyJson((p) => delete p.events[PAID_SIG].abi),
      `${at}: "arg:payer" needs the event's "abi" to decode the argument`,
    );
    rejects(policyJson((p) => (p.state = ['arg:payer'])), `policy.state[0]: "arg:payer" is allowed only in an event's audience`);
    rejects(
      policyJson((p) => (p.otherEvents = ['arg:payer'])),
      `policy.otherEvents[0]: "arg:payer" cannot apply to unlisted events: list the event with its "abi"`,
    );
  });

  test('event keys are canonical signatures that match their abi', () => {
    for (const key of ['Transfer(address, address,uint256)', 'Transfer(address,address,uint)', 'Transfer', '1x()', 'A(()', 'A(uint7)', 'A(bytes33)', 'A(uint256[0])']) {
      rejects(
        policyJson((p) => (p.events = { [key]: { audience: [] } })),
        `policy.events[${JSON.stringify(key)}]: not a canonical event signature such as "Transfer(address,address,uint256)"`,
      );
    }
    parsePolicy(policyJson((p) => (p.events = { 'A()': { audience: [] }, 'B(bytes32[2][],(bool,(int8,function))[3])': { audience: [] } })));

    const narrow = { ...TRANSFER, inputs: [TRANSFER.inputs[0], TRANSFER.inputs[1], { name: 'value', type: 'uint128' }] };
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].abi = narrow)),
      `policy.events["${TRANSFER_SIG}"].abi: describes "Transfer(address,address,uint128)", not the event of its key`,
    );
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].abi = { ...TRANSFER, name: 'Transferred' })),
      /abi: describes "Transferred\(address,address,uint256\)", not the event of its key$/,
    );
    rejects(policyJson((p) => (p.events[TRANSFER_SIG].abi = { ...TRANSFER, anonymous: true })), /abi.anonymous: anonymous events have no signature topic/);
    rejects(policyJson((p) => (p.events[TRANSFER_SIG].abi = { ...TRANSFER, type: 'function' })), /abi.type: must be "event"$/);
    rejects(
      policyJson((p) => (p.events[TRANSFER_SIG].abi = { ...TRANSFER, inputs: [{ name: 'from', type: 'uint' }] })),
      `policy.events["${TRANSFER_SIG}"].abi.inputs[0].type: "uint" is not a canonical ABI type`,
    );
    rejects(
      policyJson((p) => (p.events['Swap((address,uint256)[],bytes32)'].abi.inputs[0].components[0].indexed = true)),
      /abi.inputs\[0\].components\[0\].indexed: only event inputs can be indexed$/,
    );
  });

  test('parsePolicyBytes refuses invalid UTF-8 and a byte-order mark', () => {
    assert.throws(() => parsePolicyBytes(new Uint8Array([0x7b, 0xff, 0x7d])), { name: 'PolicyError', message: 'policy: not valid UTF-8' });
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...toBytes(policyJson())]);
    assert.throws(() => parsePolicyBytes(withBom), /^PolicyError: policy: not valid JSON/);
    assert.equal(parsePolicyBytes(toBytes(policyJson())).events.size, 4);
  });

  test('policyHash is keccak256 of the UTF-8 bytes', () => {
    const text = policyJson((p) => (p.otherEvents = ['0x' + 'ab'.repeat(20)]));
    assert.equal(policyHash(text), keccak256(toBytes(text)));
    assert.equal(policyHash(toBytes(text)), keccak256(toBytes(text)));
  });
});

// --- audiences ---------------------------------------------------------------------------

const member = (address: string | undefined, roles: number = ROLES.user, extra: Partial<AudienceMember> = {}): AudienceMember => ({
  address,
  roles,
  authenticated: true,
  registered: roles !== 0,
  ...extra,
});
const anonymous: AudienceMember = { roles: 0, authenticated: false, registered: false };

function transferLog(from: string, to: string, value: bigint): AudienceContext & { topics: Uint8Array[] } {
  const topics = encodeEventTopics({ abi: [TRANSFER], eventName: 'Transfer', args: { from: from as Hex, to: to as Hex } });
  return {
    sender: from,
    topics: topics.map((t) => hexToBytes(t as Hex)),
    data: hexToBytes(encodeAbiParameters([{ type: 'uint256' }], [value])),
  };
}

describe('inAudience', () => {
  const policy = parsePolicy(policyJson());
  const none = {};

  test('public admits anyone, unauthenticated callers match nothing else', () => {
    assert.equal(inAudience(PUBLIC_POLICY.state, anonymous, none, false), true);
    assert.equal(inAudience(PUBLIC_POLICY.otherEvents, anonymous, none, false), true);
    // An unauthenticated caller claiming an address and roles still matches no identity entry.
    const claimed: AudienceMember = { address: ALICE, roles: ROLES.auditor, authenticated: false, registered: true };
    assert.equal(inAudience(policy.state, claimed, none, true), false, 'everyone');
    assert.equal(inAudience(policy.input, claimed, { sender: ALICE }, false), false, 'sender, role, address');
    const log = transferLog(ALICE, BOB, 1n);
    const { audience, event } = logAudience(policy, log.topics);
    assert.equal(inAudience(audience, claimed, { ...log, event }, false), false, 'topic');
  });

  test('everyone: registered identities, or any authenticated caller on the open network', () => {
    assert.equal(inAudience(policy.state, member(ALICE), none, false), true);
    const unregistered = member(CAROL, 0);
    assert.equal(inAudience(policy.state, unregistered, none, false), false);
    assert.equal(inAudience(policy.state, unregistered, none, true), true);
    assert.equal(inAudience(policy.state, anonymous, none, true), false);
  });

  test('sender, role and address entries', () => {
    assert.equal(inAudience(policy.input, member(ALICE.toLowerCase()), { sender: ALICE }, false), true, 'sender, any case');
    assert.equal(inAudience(policy.input, member(BOB), { sender: ALICE }, false), false);
    assert.equal(inAudience(policy.input, member(BOB), none, false), false, 'no sender in context');
    assert.equal(inAudience(policy.input, member(CAROL, ROLES.auditor), none, false), true, 'role:auditor');
    assert.equal(inAudience(policy.input, member(CAROL, ROLES.user | ROLES.member), none, false), false);
    assert.equal(inAudience(policy.output, member(CAROL, ROLES.user | ROLES.member), none, false), true, 'role:member');
    assert.equal(inAudience(policy.input, member(AUDITOR, 0), none, false), true, 'listed address');
    assert.equal(inAudience(policy.input, member(undefined, ROLES.auditor), none, false), true, 'roles need no address');
  });

  test('topic:N matches the address in an indexed topic, only when left-padded with zeros', () => {
    const log = transferLog(ALICE, BOB, 10n);
    const { audience, event } = logAudience(policy, log.topics);
    assert.equal(event?.signature, TRANSFER_SIG);
    const context = { ...log, sender: CAROL, event };
    assert.equal(inAudience(audience, member(ALICE), context, false), true, 'topic:1');
    assert.equal(inAudience(audience, member(BOB), context, false), true, 'topic:2');
    assert.equal(inAudience(audience, member(CAROL), context, false), false, 'the sender is not listed for Transfer');
    assert.equal(inAudience(audience, member(CAROL, ROLES.auditor), context, false), true);

    const dirty = log.topics.map((t) => t.slice());
    dirty[2][0] = 1;
    assert.equal(inAudience(audience, member(BOB), { ...context, topics: dirty }, false), false);
    assert.equal(inAudience(audience, member(BOB), { ...context, topics: log.topics.slice(0, 2) }, false), false, 'missing topic');
  });

  test('arg:NAME decodes the log with the event abi, indexed or not', () => {
    const topics = encodeEventTopics({ abi: [PAID], eventName: 'Paid', args: { payer: ALICE } }).map((t) => hexToBytes(t as Hex));
    const data = hexToBytes(encodeAbiParameters(PAID.inputs.slice(1), ['for the "lunch"', BOB, 12n]));
    const { audience, event } = logAudience(policy, topics);
    assert.equal(event?.signature, PAID_SIG);
    const context: AudienceContext = { sender: CAROL, topics, data, event };
    assert.equal(inAudience(audience, member(ALICE), context, false), true, 'indexed argument');
    assert.equal(inAudience(audience, member(BOB), context, false), true, 'argument in data');
    assert.equal(inAudience(audience, member(BOB), context, false), true, 'again, from the decoded cache');
    assert.equal(inAudience(audience, member(CAROL), context, false), false);
    assert.equal(inAudience(audience, member(CAROL, ROLES.auditor), context, false), false, 'no role listed');

    for (const bad of [data.slice(0, 40), new Uint8Array(0), undefined]) {
      const broken: AudienceContext = { ...context, data: bad };
      assert.equal(inAudience(audience, member(BOB), broken, false), false, 'undecodable data matches nobody');
      assert.equal(inAudience(audience, member(ALICE), broken, false), true, 'the indexed argument needs no data');
    }
    assert.equal(inAudience(audience, member(BOB), { topics, data }, false), false, 'without the event rule');
  });

  test('unlisted and topic-less logs fall under otherEvents', () => {
    const topics = [hexToBytes(toEventSelector('Approval(address,address,uint256)')), hexToBytes(`0x${'00'.repeat(12)}${BOB.slice(2)}`)];
    const unlisted = logAudience(policy, topics);
    assert.equal(unlisted.event, undefined);
    assert.equal(unlisted.audience, policy.otherEvents);
    assert.equal(inAudience(unlisted.audience, member(BOB), { sender: ALICE, topics }, false), true, 'topic:1');
    assert.equal(inAudience(unlisted.audience, member(ALICE), { sender: ALICE, topics }, false), true, 'sender');
    assert.equal(inAudience(unlisted.audience, member(CAROL), { sender: ALICE, topics }, false), false);
    assert.equal(logAudience(policy, []).audience, policy.otherEvents);
    assert.equal(logAudience(parsePolicy('{"state":[],"input":[],"output":[],"events":{}}'), topics).audience.sender, false);
  });
});

describe('checkPolicyInput (POLICY_CHECK)', () => {
  const ERROR_ABI = [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }] as const;
  const reason = (result: ReturnType<typeof checkPolicyInput>) => {
    assert.equal(result.ok, false);
    const { errorName, args } = decodeErrorResult({ abi: ERROR_ABI, data: bytesToHex((result as { revertData: Uint8Array }).revertData) });
    assert.equal(errorName, 'Error');
    return args[0];
  };

  test('a valid policy passes', () => {
    assert.deepEqual(checkPolicyInput(toBytes(policyJson())), { ok: true });
  });

  test('a bad policy reverts with Error(string) naming the field', () => {
    const bad = policyJson((p) => (p.events[TRANSFER_SIG].audience = ['topic:1', 'topic:4']));
    assert.equal(
      reason(checkPolicyInput(toBytes(bad))),
      `policy.events["${TRANSFER_SIG}"].audience[1]: unknown audience "topic:4" (topic:N takes N from 1 to 3)`,
    );
    assert.equal(reason(checkPolicyInput(new Uint8Array([0xc3]))), 'policy: not valid UTF-8');
    assert.equal(reason(checkPolicyInput(new Uint8Array(MAX_POLICY_BYTES + 1).fill(0x20))), 'policy: 16385 bytes, more than the 16384-byte limit');
    assert.match(reason(checkPolicyInput(new Uint8Array(0))), /^policy: not valid JSON/);
  });
});
