import { decodeHTMLAttribute, escapeAttribute } from 'entities';
import type { LinkTracking } from './types.js';

// An <a> start tag's href, double- or single-quoted (MJML writes every attribute quoted).
const ANCHOR_HREF = /(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')/gi;
const BODY_END = /<\/body\s*>/i;
const TRACKABLE = /^https?:\/\/[^\s]+$/i;

/**
 * The distinct http(s) links of a compiled campaign's HTML and, with tracking, the HTML whose
 * links point at their redirects. A link whose href holds a template expression is left alone:
 * it differs per person (the unsubscribe and preference links always do), and a redirect that
 * stood for it would have to tell people apart.
 */
export function trackLinks(
  html: string,
  tracking: LinkTracking | undefined,
): { html: string; links: string[] } {
  const links: string[] = [];
  const indexOf = new Map<string, number>();
  let out = html.replace(ANCHOR_HREF, (whole, start: string, dq?: string, sq?: string) => {
    const raw = dq ?? sq ?? '';
    const url = decodeHTMLAttribute(raw).trim();
    if (raw.includes('{{') || !TRACKABLE.test(url)) return whole;
    let index = indexOf.get(url);
    if (index === undefined) {
      index = links.push(url) - 1;
      indexOf.set(url, index);
    }
    const redirect = tracking?.clickUrl(index, url);
    return redirect ? `${start}"${escapeAttribute(redirect)}"` : whole;
  });
  if (tracking?.openUrl) {
    const pixel = `<img src="${escapeAttribute(tracking.openUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
    out = BODY_END.test(out) ? out.replace(BODY_END, `${pixel}$&`) : out + pixel;
  }
  return { html: out, links };
}
