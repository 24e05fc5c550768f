import { convert, type HtmlToTextOptions } from 'html-to-text';

/**
 * The writer's own new words of a reply: what is left after quoted text, forwarded or replied-to
 * originals and signatures are cut away. Quoted text is never read as a request (contract:
 * "Inbound mail"), so everything here errs on the side of cutting too much.
 */

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    { selector: 'blockquote', format: 'skip' },
    { selector: 'div.gmail_quote', format: 'skip' },
    { selector: 'div.gmail_signature', format: 'skip' },
    { selector: 'div.moz-cite-prefix', format: 'skip' },
    { selector: 'div.moz-signature', format: 'skip' },
    { selector: 'div#divRplyFwdMsg', format: 'skip' },
    { selector: 'div#appendonsend', format: 'skip' },
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
];

export function ownText(text: string | undefined, html: string | undefined): string {
  const source = text && text.trim() ? text : html ? convert(html, HTML_OPTIONS) : '';
  const lines = source.split(/\r?\n/);
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trim();
    if (t.startsWith('>')) continue;
    if (CUT_LINES.some((re) => re.test(t))) break;
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

export type Intent = 'unsubscribe' | 'privacy' | 'ambiguous' | null;

const PRIVACY = [
  /\bpoista(kaa)? (kaikki |minun |henkilö)?tietoni\b/,
  /\bpoista(kaa)? (kaikki )?(minun )?henkilötiedot\b/,
  /\btietojeni poista/,
  /\b(delete|erase|remove) (all )?(of )?my (personal )?(data|information|details|info)\b/,
  /\bright to (be forgotten|erasure)\b/,
  /\b(radera|ta bort) (alla )?mina (person)?uppgifter\b/,
];

const UNSUBSCRIBE = [
  // English
  /\bunsubscribe\b/,
  /\bstop (sending|emailing|mailing)\b/,
  /\bremove me\b/,
  /\btake me off\b/,
  /\bopt(-| )?out\b/,
  /\bno more (e-?mails|newsletters|messages)\b/,
  /\b(don't|do not|please don't) (e-?mail|mail|contact) me\b/,
  // Finnish
  /\bperu(n|tan)? (uutiskirje\w*|tilaus|tilaukseni|tilauksen|tilaamani)\b/,
  /\bperuutan tilauksen\b/,
  /\bperu(uta|utan|a|n)? .{0,30}uutiskirje/,
  /\ben halua (enää |mitään )?(uutiskirje|viest|sähköpost|postia|markkinointi|mainos|tiedot(teit|e))/,
  /\bei kiitos (enää )?(uutiskirje|sähköpost|viest)/,
  /\bpoista(kaa)? minut\b/,
  /\bpoista(kaa)? (osoitteeni|sähköpostiosoitteeni|sähköpostini)\b/,
  /\blopet(a|takaa|takaa) (viestien |sähköpostien |uutiskirjeiden |postien )?lähettäminen\b/,
  /\bälkää (enää )?lähettäkö\b/,
  /\buutiskirjee?n? tilauksen peru/,
  // Swedish
  /\bavsluta (min |mitt )?prenumeration/,
  /\bavregistrera\b/,
  /\bavprenumerera\b/,
  /\bsäg(er)? upp (min )?prenumeration/,
  /\bta bort mig\b/,
  /\bsluta skicka\b/,
  /\bvill inte (längre )?(ha|få) (ert |era |några |fler |mer )?(nyhetsbrev|mejl|mail|e-post|utskick|reklam)/,
];

// "Peruuta tilaus" alone also means "cancel my order": a person, not a rule, decides.
const AMBIGUOUS = [/\bperuu(ta|tan|tkaa)? (tilaus|tilaukseni|tilauksen|tilaukset)\b/];

const NEGATED =
  /\b(don't|do not|not|never|älä|en halua) (want to |halua )?(unsubscribe|perua|peruuttaa)\b/;

/** The request of a reply's own text; privacy beats unsubscribe because erasure includes it. */
export function detectIntent(own: string): Intent {
  const text = own.toLowerCase().replace(/\s+/g, ' ').replace(/[’`]/g, "'").slice(0, 4000);
  if (!text) return null;
  if (PRIVACY.some((re) => re.test(text))) return 'privacy';
  if (NEGATED.test(text)) return 'ambiguous';
  if (UNSUBSCRIBE.some((re) => re.test(text))) return 'unsubscribe';
  if (AMBIGUOUS.some((re) => re.test(text))) return 'ambiguous';
  return null;
}
