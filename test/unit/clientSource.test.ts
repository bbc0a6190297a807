/** Failed logins are counted per IPv4 address, or per IPv6 /64 network. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientSource } from '../../node/rpc/clientSource.ts';

test('IPv4 addresses, mapped or not, count alone; IPv6 addresses count by their /64', () => {
  assert.equal(clientSource('127.0.0.1'), '127.0.0.1');
  assert.equal(clientSource('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(clientSource('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(clientSource('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(clientSource('2001:0db8:0001:0002:0000:0000:0000:0009'), '2001:db8:1:2::/64');
  assert.equal(clientSource('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientSource('::1'), '0:0:0:0::/64');
  assert.equal(clientSource('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientSource(undefined), undefined);
});
