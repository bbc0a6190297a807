import { isIPv4, isIPv6 } from 'node:net';

/**
 * The source a request is counted against for failed logins: an IPv4 address, or the
 * /64 network of an IPv6 address (one host usually holds a whole /64, so counting single
 * IPv6 addresses would let it fail without bound). Undefined when the socket has no peer
 * address (closed).
 */
export function clientSource(remoteAddress: string | undefined): string | undefined {
  if (remoteAddress === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return mapped[1];
  if (isIPv4(remoteAddress)) return remoteAddress;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  const address = remoteAddress.split('%')[0]!.toLowerCase();
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...new Array(8 - front.length - back.length).fill('0'), ...back];
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}
