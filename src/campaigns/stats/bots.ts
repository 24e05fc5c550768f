/** What a click or open request shows about who sent it. */
export interface RequestSignals {
  method: string;
  header(name: string): string | undefined;
}

// Mail security gateways and link scanners that follow every link of a mail on arrival, and the
// HTTP libraries such tools are written with.
const SCANNER_AGENTS =
  /bot\b|crawler|spider|scanner|preview|barracuda|mimecast|proofpoint|urldefense|safelinks|microsoft office protocol|symantec|messagelabs|trend ?micro|forcepoint|fireeye|trellix|sophos|ironport|cisco|zscaler|checkpoint|paloalto|fortinet|avanan|abnormal|agari|vade|hornetsecurity|python-|curl\/|wget\/|go-http-client|java\/|okhttp|node-fetch|axios|libwww|httpclient|headlesschrome|phantomjs/i;
const PREFETCH = /prefetch|prerender|preview/i;

/**
 * Why a request is taken for a machine rather than a person, or null. Always: HEAD (a person's
 * browser sends GET), a prefetch or preview request, a known scanner's or library's user agent,
 * no user agent. While the campaign is being delivered (and shortly after), when scanners follow
 * links within seconds of each delivery, a client that does not present itself as a browser
 * (`Mozilla/…`) too.
 */
export function automatedReason(req: RequestSignals, duringDelivery: boolean): string | null {
  if (req.method === 'HEAD') return 'head';
  const purposes = ['purpose', 'sec-purpose', 'x-purpose', 'x-moz'].map((h) => req.header(h));
  if (purposes.some((p) => p && PREFETCH.test(p))) return 'prefetch';
  const agent = req.header('user-agent')?.trim() ?? '';
  if (!agent) return 'no user agent';
  if (SCANNER_AGENTS.test(agent)) return 'scanner';
  if (duringDelivery && !agent.startsWith('Mozilla/')) return 'not a browser during delivery';
  return null;
}
