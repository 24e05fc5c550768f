import { LANGS, fold, stem, type Lang, type Token } from './text.js';

/**
 * Word classes the rules in classify.ts reason with, in Finnish, Swedish and English. An entry
 * names a word, not a phrase: `word` matches every inflection the language's Snowball stemmer
 * reduces to the same stem; `^root` a word that begins with root (Finnish verbs, whose endings
 * the noun-minded stemmer leaves); `*root` a word that contains root (compounds:
 * "markkinointilistaltanne", "utskickslistan"); `=word` that exact word; `!word` that word with
 * its diacritics (where folding would make two words one). Words are folded before matching.
 * Short words are exact: English Snowball stems "added" to "ad".
 */
const LEXICON = {
  /** Verbs and nouns of stopping, cancelling, removing. */
  stop: {
    fi: ['^lope', '^poist', '^peru', '^irtisan', '^lakkaut', '=stop'],
    sv: ['^avslut', 'sluta', '^stopp', '=stop', '^radera', '^stryk', '^avbryt'],
    en: ['stop', 'remove', 'cancel', 'quit', 'delete', 'erase'],
  },
  /** Words that begin like a stop verb and are not one ("perusteella", "avslutningsvis"). */
  lookalike: {
    fi: ['^perus', '^peruna', '^perunk'],
    sv: ['^avslutning', '^slutet', '^slutlig', '^slutsats'],
    en: [],
  },
  /** Particles that make a verb one of removal: "ottakaa pois", "take off", "ta bort". */
  away: { fi: ['=pois'], sv: ['=bort'], en: ['=off'] },
  /** Words that are a whole opt-out by themselves: the object is the mail they arrived with. */
  optOut: {
    fi: ['^unsub'],
    sv: ['^avregistr', '^avprenumer', '^avanmal', '^unsub'],
    en: ['^unsub', '^unscub', '^unsusb', '^opt-out', '^optout'],
  },
  send: {
    fi: ['^lahet', '^laitta', '^laita', '^spam', '^pommit'],
    sv: ['^skick', '^mejla', '^maila', '^spam', '^kontakt'],
    en: ['send', 'email', 'e-mail', 'mail', 'contact', 'spam', 'message'],
  },
  want: {
    fi: ['^halu', '^tahdo', '^tahto', '^tarvi', '^kiinnost'],
    sv: ['=vill', '^onsk', '^behov', '^intresser'],
    en: ['want', 'wish', 'like', 'need', 'interested'],
  },
  receive: {
    fi: ['^saa', '^saanut', '^tule', '^tullut', '^saapu', '^vastaanot'],
    sv: ['=far', '=fatt', '=fa', '^komm', '=emot'],
    en: ['get', 'receive', 'come', 'arrive', 'got'],
  },
  neg: {
    fi: ['=en', '=et', '=ei', '=emme', '=ette', '=eivat', '=enka', '=eika', '=ala', '=alkaa'],
    sv: ['=inte', '=ej', '=aldrig', '=inga', '=ingen', '=inget', '=icke', '=nej'],
    en: ['=not', '=no', '=never', '=nothing'],
  },
  more: {
    fi: ['=enaa', '=enempaa'],
    sv: ['=langre', '=mer', '=fler', '=mera'],
    en: ['=more', '=longer', '=anymore'],
  },
  /** The marketing mail itself, or where it comes from. */
  mail: {
    fi: [
      '*uutiskirj',
      '*sahkopost',
      '^posti',
      '*mainospost',
      '*roskapost',
      '*viest',
      '*mainos',
      '*mainok',
      '*mainon',
      '*markkinoin',
      '*list',
      '*jakelu',
      '*tiedott',
      '^tiedote',
      '^spam',
      '^email',
      '^maili',
      '^meili',
    ],
    sv: [
      '*nyhetsbrev',
      '*mejl',
      '*mail',
      '*post',
      '*utskick',
      '*reklam',
      '*list',
      '^prenumer',
      '*meddeland',
      '^spam',
    ],
    en: [
      '*newslett',
      '*email',
      '*e-mail',
      'mail',
      '^mailing',
      'message',
      'list',
      'subscription',
      'spam',
      '=ad',
      '=ads',
      '^advert',
      '^market',
    ],
  },
  /**
   * What the mail carries rather than the mail: "not interested in this offer" declines the
   * offer, so these make a request only together with a word of the mail itself.
   */
  content: {
    fi: ['*tarjou', '*kampanj', '^alennu', '=ale'],
    sv: ['*erbjud', '*kampanj', '=rea', '^rabatt'],
    en: ['^promo', 'offer', 'campaign', 'deal', 'discount', 'sale'],
  },
  /** The writer or their address as the thing to remove. */
  self: {
    fi: ['=minut', '=mut', '=minua', '=mua', '*osoit', '=minun', '=sahkopostini', '=itseni'],
    sv: ['=mig', '=mej', '*adress'],
    en: ['=me', '=myself', '=address'],
  },
  /** "I don't want these": in a reply, the mail replied to. */
  these: { fi: ['=naita', '=noita', '=niita'], sv: ['=dessa'], en: ['=these', '=them'] },
  /** Pronouns that point back to something named earlier ("cancel it"). */
  pronoun: { fi: ['=sen', '=sita', '=se'], sv: ['=det', '=den'], en: ['=it'] },
  /** Finnish "tilaus" is both a subscription and an order. */
  tilaus: { fi: ['^tilau', '^tilaam'], sv: [], en: [] },
  order: {
    fi: [
      '^tilausnum',
      '^toimit',
      '^paket',
      '^lasku',
      '^palaut',
      '^tuote',
      '=koko',
      '=rahat',
      '^hyvit',
      '^ostos',
    ],
    sv: [
      '=order',
      '^bestall',
      '^leverans',
      '^paket',
      '^faktur',
      '^retur',
      '^storlek',
      '^pengar',
      '=kop',
      '=kopet',
    ],
    en: [
      'order',
      'delivery',
      'refund',
      'invoice',
      'item',
      'size',
      'package',
      'return',
      'money',
      'purchase',
    ],
  },
  /** Someone else than the writer. */
  person: {
    fi: [
      '^vaimo',
      '^mieheni',
      '^tyokaver',
      '^kollega',
      '=hanet',
      '=han',
      '^puoliso',
      '^aiti',
      '^poikani',
      '^tyttareni',
    ],
    sv: ['=fru', '=make', '^kollega', '=henne', '=honom', '=son', '=dotter', '^sambo'],
    en: [
      'wife',
      'husband',
      'colleague',
      '=her',
      '=him',
      'son',
      'daughter',
      'partner',
      'mother',
      'father',
    ],
  },
  /** Only part of the mail, or only some of the time: a preference, not an opt-out. */
  partial: {
    fi: ['=vain', '=pelkat', '=ainoastaan', '^viikonlop', '=usein', '^paivittain'],
    sv: ['=bara', '=endast', '^helg', '=ofta', '^dagligen'],
    en: ['=only', 'weekend', '=often', '=frequently', '=daily'],
  },
  /** Conditions, doubt and deliberation: the stop is not asked for yet. */
  hedge: {
    fi: [
      '=jos',
      '=ellei',
      '=muuten',
      '^harkit',
      '=taidan',
      '=ehka',
      '=varma',
      '=kenties',
      '^mieti',
    ],
    sv: ['!säker', '=kanske', '^funder', '=annars', '^overvag'],
    en: [
      '=if',
      '=unless',
      '=otherwise',
      '=maybe',
      '=perhaps',
      '=sure',
      '=might',
      'consider',
      'think',
    ],
  },
  /** A replacement: "remove my old address and use this new one" is a change, not an opt-out. */
  replace: {
    fi: ['=uusi', '=uutta', '=uuteen', '=uudella', '=uuden', '^paivit', '^vaihd', '^vaihto'],
    sv: ['=ny', '=nya', '=nytt', '^uppdater', '^byt'],
    en: ['=new', '=instead', 'update', 'change', 'replace'],
  },
  /** Mail that is not the email replied to: "stop the paper catalogue". */
  channel: {
    fi: ['^paperi', '^luettelo', '^katalog', '^sms', '^tekstivies', '^puhel', '^soit'],
    sv: ['^papper', '^katalog', '^sms', '^telefon', '^ring'],
    en: ['paper', 'catalogue', 'catalog', 'sms', 'text', 'phone', 'call'],
  },
  why: { fi: ['=miksi', '=miksei'], sv: ['=varfor'], en: ['=why'] },
  /** Words that make a question a request ("could you", "how do I"). */
  modal: {
    fi: [
      '^voisit',
      '^voitte',
      '^voisi',
      '=voiko',
      '=miten',
      '=kuinka',
      '^saisin',
      '^voinko',
      '^voisin',
    ],
    sv: ['=kunde', '=skulle', '=hur'],
    en: ['=how', '=please', '=pls', '=kindly'],
  },
  /** Modal verbs that ask only when "you" or "I" follows: "can you", not "one can cancel". */
  canAsk: { fi: [], sv: ['=kan'], en: ['=could', '=can', '=would', '=will'] },
  /** Reported words: "the newsletter says you can unsubscribe" tells, it does not ask. */
  reported: {
    fi: [
      '=sanoo',
      '=sanottiin',
      '=sanotaan',
      '=luki',
      '=lukee',
      '=mukaan',
      '=mainitaan',
      '=kerrotaan',
    ],
    sv: ['!står', '=sags', '=enligt', '!nämns'],
    en: ['=says', '=said', '=according', '=states', '=mentions', '=mentioned'],
  },
  /** Past forms' helpers: "did you stop", "tog bort". */
  pastAux: { fi: [], sv: ['=tog', '=tagit'], en: ['=did'] },
  /** Personal data, and the words that make it the writer's own. */
  data: {
    fi: ['^tietoni', '^tietoj', '^tiedoist', '*henkilotie', '=tiedot', '=tietoja', '=tiedoista'],
    sv: ['*uppgift'],
    en: ['data', 'information', 'info', 'details'],
  },
  personal: {
    fi: [
      '^tietoni',
      '^tietojeni',
      '^tiedoistani',
      '^tietojani',
      '*henkilo',
      '=minusta',
      '=minua',
      '=mun',
      '=minun',
    ],
    sv: ['=mina', '=min', '=mig', '^person'],
    en: ['=my', '=me', '^personal'],
  },
  access: {
    fi: ['=mita', '=mitka', '^kopio', '^nah', '^tieta', '^tarkast', '=gdpr'],
    sv: ['=vilka', '=vad', '^kopia', '=se', '^registerutdrag', '=gdpr'],
    en: ['=what', '=which', 'copy', '=see', '=know', 'access', '=gdpr', 'hold'],
  },
  forget: {
    fi: ['^unohd', '^tarkastusoik'],
    sv: ['=glomd', '=glomas', '^registerutdrag'],
    en: ['=forgotten', '=erasure'],
  },
  /** Words that carry no content in a short request: greetings, thanks, "please". */
  filler: {
    fi: ['=kiitos', '=kiitti', '=hei', '=moi', '=heti', '=nyt', '=jo', '=kiitoksia'],
    sv: ['=tack', '=hej', '=nu', '=genast', '=snalla', '=tacksam'],
    en: [
      '=please',
      '=pls',
      '=thanks',
      '=thank',
      '=you',
      '=now',
      '=hi',
      '=hello',
      '=kindly',
      '=asap',
    ],
  },
  /** Who wants, in a clause with nothing else: "I want to stop". */
  subject: {
    fi: ['=mina', '=ma', '=haluan', '=haluaisin'],
    sv: ['=jag', '=att'],
    en: ['=i', '=to', '=just'],
  },
  /** "No thanks" is a refusal, not a negation of what follows. */
  thanks: { fi: ['=kiitos'], sv: ['=tack'], en: ['=thanks', '=thank'] },
} satisfies Record<string, Record<Lang, string[]>>;

export type WordClass = keyof typeof LEXICON;

interface CompiledClass {
  /** Folded words, and each language's stems, that belong to the class. */
  words: Set<string>;
  stems: Record<Lang, Set<string>>;
  raw: Set<string>;
  /** Roots as one expression: prefixes anchored, contained roots anywhere. */
  roots: RegExp | null;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(byLang: Record<Lang, string[]>): CompiledClass {
  const compiled: CompiledClass = {
    words: new Set(),
    stems: { fi: new Set(), sv: new Set(), en: new Set() },
    raw: new Set(),
    roots: null,
  };
  const roots: string[] = [];
  for (const lang of LANGS)
    for (const entry of byLang[lang]) {
      const rest = entry.slice(1);
      if (entry[0] === '^') roots.push(`^${escape(rest)}`);
      else if (entry[0] === '*') roots.push(escape(rest));
      else if (entry[0] === '=') compiled.words.add(rest);
      else if (entry[0] === '!') compiled.raw.add(rest);
      else compiled.stems[lang].add(stem(lang, fold(entry)));
    }
  if (roots.length > 0) compiled.roots = new RegExp(roots.join('|'));
  return compiled;
}

const CLASSES = Object.entries(LEXICON).map(
  ([cls, byLang]) => [cls as WordClass, compile(byLang)] as const,
);

// A reply's words are mostly the same few hundred; like the stems, the cache is dropped whole
// when full.
const CLASS_CACHE_MAX = 20_000;
const classCache = new Map<string, Set<WordClass>>();

/** The word classes of one token. */
export function classesOf(t: Token): Set<WordClass> {
  const key = `${t.raw}\u0000${t.folded}`;
  const cached = classCache.get(key);
  if (cached) return cached;
  const stems = { fi: stem('fi', t.folded), sv: stem('sv', t.folded), en: stem('en', t.folded) };
  const out = new Set<WordClass>();
  for (const [cls, c] of CLASSES)
    if (
      c.words.has(t.folded) ||
      c.raw.has(t.raw) ||
      LANGS.some((lang) => c.stems[lang].has(stems[lang])) ||
      (c.roots !== null && c.roots.test(t.folded))
    )
      out.add(cls);
  if (classCache.size >= CLASS_CACHE_MAX) classCache.clear();
  classCache.set(key, out);
  return out;
}
