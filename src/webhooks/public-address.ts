import { lookup as dnsLookup, promises as dns, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Webhooks go to public addresses only: an endpoint URL is chosen by staff, and one naming
 * loopback, a private network or the cloud metadata address (169.254.169.254) would make Kirje
 * post into the network it runs in (SSRF). Checked when an endpoint is saved and again at every
 * connection, because what a name resolves to can change after it was saved.
 */

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  uniqueLocal: 'a private network address (fc00::/7)',
  linkLocal: 'a link-local address',
  unspecified: 'the unspecified address',
  carrierGradeNat: 'a carrier-grade NAT address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
};

/** Why an IP address is no webhook destination ("a loopback address"), or null for a public one. */
export function nonPublicReason(address: string): string | null {
  // process() reads an IPv4-mapped IPv6 address (::ffff:127.0.0.1) as the IPv4 address it is.
  const range = ipaddr.process(address).range();
  if (range === 'unicast') return null;
  return RANGE_NAMES[range] ?? `a reserved address (${range})`;
}

/** Raised when a webhook destination is not a public address; the message says which and why. */
export class NonPublicDestination extends Error {
  override readonly name = 'NonPublicDestination';
}

const refusal = (host: string, address: string, reason: string) =>
  new NonPublicDestination(
    host === address
      ? `${address} is ${reason}; webhooks go to public addresses only`
      : `${host} resolves to ${address}, ${reason}; webhooks go to public addresses only`,
  );

/** A URL's host as an IP address when it is one (`[::1]` → `::1`), else null. */
function literalAddress(hostname: string): string | null {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(host) ? host : null;
}

/**
 * The refusal of a URL's host that is an IP address outside the public ranges, or null. Node does
 * not call a connection's lookup for such hosts, so the dispatcher checks them before connecting.
 */
export function refuseLiteralHost(url: URL): NonPublicDestination | null {
  const address = literalAddress(url.hostname);
  const reason = address ? nonPublicReason(address) : null;
  return address && reason ? refusal(address, address, reason) : null;
}

/**
 * Why an endpoint URL may not be saved (its host is, or resolves to, a non-public address, or does
 * not resolve), or null when every address it has now is public.
 */
export async function refusedDestination(url: URL): Promise<string | null> {
  const literal = refuseLiteralHost(url);
  if (literal) return literal.message;
  if (literalAddress(url.hostname)) return null;
  let addresses: LookupAddress[];
  try {
    addresses = await dns.lookup(url.hostname, { all: true, verbatim: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return `${url.hostname} does not resolve (${code})`;
  }
  for (const { address } of addresses) {
    const reason = nonPublicReason(address);
    if (reason) return refusal(url.hostname, address, reason).message;
  }
  return null;
}

/**
 * A connection lookup (http.request's `lookup`) that resolves as usual but fails with
 * NonPublicDestination when any address of the name is not public, so a delivery connects only
 * to addresses checked at that moment.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    for (const { address } of addresses) {
      const reason = nonPublicReason(address);
      if (reason) return callback(refusal(hostname, address, reason), '');
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    if (!first)
      return callback(
        Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }),
        '',
      );
    callback(null, first.address, first.family);
  });
};
