import snowball from 'snowball-stemmers';

export const LANGS = ['fi', 'sv', 'en'] as const;
export type Lang = (typeof LANGS)[number];

const STEMMERS = {
  fi: snowball.newStemmer('finnish'),
  sv: snowball.newStemmer('swedish'),
  en: snowball.newStemmer('english'),
};
// Replies repeat the same few hundred words; a full cache is dropped rather than evicted, which
// keeps the cost of a stem a map lookup without letting odd input grow memory.
const STEM_CACHE_MAX = 20_000;
const stemCache = new Map<string, string>();
const foldCache = new Map<string, string>();

export function stem(lang: Lang, folded: string): string {
  const key = `${lang}:${folded}`;
  let s = stemCache.get(key);
  if (s === undefined) {
    if (stemCache.size >= STEM_CACHE_MAX) stemCache.clear();
    s = STEMMERS[lang].stem(folded);
    stemCache.set(key, s);
  }
  return s;
}

/** Lower case without diacritics: people write "enaa" for "enää", and both must read the same. */
export function fold(word: string): string {
  if (/^[a-z0-9'-]*$/.test(word)) return word;
  let folded = foldCache.get(word);
  if (folded === undefined) {
    folded = word.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/ß/g, 'ss');
    if (foldCache.size >= STEM_CACHE_MAX) foldCache.clear();
    foldCache.set(word, folded);
  }
  return folded;
}

export interface Token {
  /** Lower case as written, diacritics kept (Finnish "älkää" and "alkaa" differ only by them). */
  raw: string;
  folded: string;
  /** Index in its sentence, across clause boundaries. */
  at: number;
}

export interface Sentence {
  question: boolean;
  tokens: Token[];
  /** Token runs within which a negation reaches its verb: split at commas and at "but". */
  clauses: Token[][];
}

const CLAUSE_BREAKS = new Set(['but', 'mutta', 'men', 'vaan', 'although', 'though', 'vaikka']);

// English contractions carry the negation inside a word: "don't" must yield "not".
const CONTRACTIONS: [RegExp, string][] = [
  [/\bwon['’]?t\b/g, 'will not'],
  [/\bcan['’]?t\b/g, 'can not'],
  [/\b(do|does|did|is|are|was|were|have|has|had|would|should|could)n['’]?t\b/g, '$1 not'],
];

function words(text: string): string[] {
  return (text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? []).map((w) => w.replace(/['’-]+$/, ''));
}

/**
 * Sentences and clauses of a reply's own text. Addresses and links are dropped first: their
 * words ("unsubscribe" in a pasted link) are nobody's request.
 */
export function sentences(text: string): Sentence[] {
  let t = text.toLowerCase().replace(/\S+@\S+|\b(https?:\/\/|www\.)\S+/g, ' ');
  for (const [re, to] of CONTRACTIONS) t = t.replace(re, to);
  const out: Sentence[] = [];
  for (const m of t.matchAll(/[^.!?\n]+[.!?]*/g)) {
    const part = m[0];
    const tokens: Token[] = [];
    const clauses: Token[][] = [];
    for (const piece of part.split(/[,;:()]/)) {
      let clause: Token[] = [];
      for (const raw of words(piece)) {
        const token = { raw, folded: fold(raw), at: tokens.length };
        if (CLAUSE_BREAKS.has(token.folded) && clause.length > 0) {
          clauses.push(clause);
          clause = [];
        }
        tokens.push(token);
        clause.push(token);
      }
      if (clause.length > 0) clauses.push(clause);
    }
    if (tokens.length > 0) out.push({ question: part.includes('?'), tokens, clauses });
  }
  return out;
}
