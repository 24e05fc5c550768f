import { convert, type HtmlToTextOptions } from 'html-to-text';

/**
 * The writer's own new words of a reply: what is left after quoted text, forwarded or replied-to
 * originals and signatures are cut away. Quoted text is never read as a request (contract:
 * "Inbound mail"), so everything here errs on the side of cutting too much.
 */

// Where a client starts the original it replies to, everything after is the original: the mark
// becomes a line of its own that ownText stops at.
const ORIGINAL_STARTS = '\u0000original';

/**
 * For mailparser: a message with only an HTML part must reach ownText as HTML, since mailparser's
 * own conversion to text drops the marks of quotes and signatures (blockquote, gmail_quote,
 * Outlook's divRplyFwdMsg and Signature) that say which words are the writer's.
 */
export const OWN_TEXT_PARSE_OPTIONS = { skipHtmlToText: true } as const;

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: {
    originalStarts: (_elem, _walk, builder) => {
      builder.openBlock();
      builder.addInline(ORIGINAL_STARTS);
      builder.closeBlock();
    },
  },
  selectors: [
    { selector: 'blockquote', format: 'skip' },
    { selector: 'div.gmail_quote', format: 'skip' },
    { selector: 'div.gmail_signature', format: 'skip' },
    { selector: 'div.moz-cite-prefix', format: 'skip' },
    { selector: 'div.moz-signature', format: 'skip' },
    // Outlook puts the original's header block here and the original after it, outside the div.
    { selector: 'div#divRplyFwdMsg', format: 'originalStarts' },
    { selector: 'div#x_divRplyFwdMsg', format: 'originalStarts' },
    { selector: 'div#appendonsend', format: 'originalStarts' },
    { selector: 'div.OutlookMessageHeader', format: 'originalStarts' },
    { selector: 'div#Signature', format: 'skip' },
    { selector: 'div.yahoo_quoted', format: 'skip' },
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
  ],
};

const HEADER_NAMES =
  '(from|sent|date|to|cc|subject|lähettäjä|lähetetty|päivämäärä|vastaanottaja|kopio|aihe|från|skickat|datum|till|kopia|ämne)';
const fromLine = /^\*?(from|lähettäjä|från|von)\*?:\s*\S/i;
const headerLine = new RegExp(`^\\*?${HEADER_NAMES}\\*?:`, 'i');

/** A line that opens an attribution of quoted text ("On … wrote:" and its translations). */
function isAttribution(line: string): boolean {
  const l = line.trim();
  if (l.length > 400) return false;
  return (
    /^(on|am)\b.*\b(wrote|schrieb)\s*:?$/i.test(l) ||
    /\bkirjoitti\s*:?$/i.test(l) ||
    // Apple Mail in Finnish: "Name <addr> kirjoitti 15.1.2026 kello 10.00:".
    /<[^>\s]+@[^>\s]+>\s*kirjoitti\b.*:$/i.test(l) ||
    /\bskrev\b.*:$/i.test(l) ||
    /\bskrev\s*:?$/i.test(l) ||
    /\bwrote\s*:$/i.test(l)
  );
}

const CUT_LINES = [
  /^-{2,}\s*(original message|alkuperäinen viesti|ursprungligt meddelande|forwarded message|välitetty viesti|vidarebefordrat meddelande|begin forwarded message)/i,
  /^(begin forwarded message|välitetty viesti alkaa|vidarebefordrat brev)\s*:?/i,
  /^_{8,}\s*$/,
  /^-- ?$/,
  /^(sent from my|get outlook for|lähetetty (iphonesta|ipadista|android)|skickat från min)/i,
  /^(hanki outlook|skaffa outlook)/i,
];

/**
 * A closing formula on a line of its own, perhaps with a name ("Ystävällisin terveisin", "t.
 * Maija", "Best regards,"): after the writer's words it starts the signature, which may carry
 * anything (a company footer about unsubscribing, too).
 */
const CLOSING =
  /^(((ystävällisin|parhain|lämpimin|yst\.?) )?terv(eisin|\.)|t\.|t:|terkuin|mvh|(med )?(vänliga|bästa) hälsningar|hälsningar|(best|kind|warm) regards|regards|best wishes|cheers|br|sincerely|yours( sincerely| truly)?|thanks|thank you|kiitos|tack)(?![a-zåäö])[,.!]?/i;

function isClosing(line: string): boolean {
  const m = CLOSING.exec(line);
  if (!m) return false;
  const rest = line.slice(m[0].length).trim();
  // "Thanks" alone may begin a sentence ("Kiitos! Poistakaa…" is on one line); "Thanks," ends.
  if (/^(thanks|thank you|kiitos|tack)/i.test(m[0]) && !/,$/.test(m[0])) return false;
  const name = rest.split(/\s+/);
  return rest === '' || (name.length <= 3 && !/[?!]/.test(rest) && /^\p{Lu}/u.test(rest));
}

export function ownText(text: string | undefined, html: string | undefined): string {
  const source = text && text.trim() ? text : html ? convert(html, HTML_OPTIONS) : '';
  const lines = source.split(/\r?\n/);
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trim();
    if (t.startsWith('>')) continue;
    if (t === ORIGINAL_STARTS || CUT_LINES.some((re) => re.test(t))) break;
    if (isClosing(t) && kept.some((k) => k.trim() !== '')) break;
    // Gmail wraps a long attribution over two lines: "On …, Name <" / "addr> wrote:".
    const wrapped = i + 1 < lines.length && isAttribution(`${t} ${lines[i + 1]!.trim()}`);
    if (isAttribution(t) || wrapped) {
      // Bottom-posting (Thunderbird, mailing-list habit): a `>` quote follows and the writer's
      // words come after it, so only the quote is dropped. Otherwise all that follows is quoted.
      const next = lines.slice(i + (wrapped ? 2 : 1)).find((l) => l.trim() !== '');
      if (next?.trim().startsWith('>')) {
        if (wrapped) i += 1;
        continue;
      }
      break;
    }
    if (fromLine.test(t)) {
      const next = lines.slice(i + 1, i + 5).map((l) => l.trim());
      if (next.some((l) => headerLine.test(l))) break;
    }
    kept.push(line);
  }
  return kept.join('\n').trim();
}
