import { classesOf, type WordClass } from './lexicon.js';
import { sentences, type Token } from './text.js';

export type ReplyIntent = 'unsubscribe' | 'privacy' | 'ambiguous' | 'other';

export interface ReplyVerdict {
  intent: ReplyIntent;
  /** For `privacy`: erasure ("delete my data") or access ("what do you hold about me"). */
  privacy?: 'erasure' | 'access';
  /**
   * Why, in words staff can check against the text: the role and the few words that decided it,
   * never whole sentences (staff lists show it without the audit that reading a message takes).
   */
  reason: string;
}

interface Word extends Token {
  cls: Set<WordClass>;
}

/** What one clause says about stopping the mail. */
interface ClauseReading {
  wish?: string;
  doubt?: string;
  /** A stop verb with nothing to stop ("I want to stop"): a doubt unless the sentence asks. */
  stopWithoutObject?: string;
  /** "Stop!" alone: a request when the reply says nothing else. */
  bareStop?: string;
}

const MAX_CHARS = 4000;
const CANCEL = /^(peru|lope|irtisan|lakkaut)/;
const NEGATION_REACH = 3;
const PERSONAL_REACH = 6;
// Swedish puts the negation after the finite verb ("skicka inte", "vill absolut inte ha").
const AFTER_VERB_NEGATIONS = new Set(['inte', 'ej', 'inga', 'aldrig']);
const ASKED = new Set(['you', 'i', 'we', 'ni', 'du', 'jag', 'vi']);
const IMPERATIVE_NEGATIONS = new Set(['not', 'ala', 'alkaa', 'inte', 'ej', 'inga', 'icke']);

const quote = (...ws: (Word | undefined)[]) =>
  `"${ws
    .filter((w): w is Word => w !== undefined)
    .sort((a, b) => a.at - b.at)
    .map((w) => w.raw)
    .join(' … ')}"`;

const has = (w: Word | undefined, c: WordClass) => w?.cls.has(c) ?? false;

/** The first word of each class among `words`: one pass instead of a search per class. */
function firstOfEach(words: Word[]): Map<WordClass, Word> {
  const first = new Map<WordClass, Word>();
  for (const w of words) for (const c of w.cls) if (!first.has(c)) first.set(c, w);
  return first;
}

/** "Opt out", "opt me out" and "säg upp" are one verb written as two words. */
function isStop(clause: Word[], i: number): boolean {
  const w = clause[i]!;
  if (w.cls.has('lookalike')) return false;
  if (w.cls.has('stop') || w.cls.has('optOut') || w.cls.has('away')) return true;
  if (w.folded === 'opt') return clause.slice(i + 1, i + 3).some((x) => x.folded === 'out');
  if (w.folded === 'upp')
    return clause.slice(Math.max(0, i - 2), i).some((x) => /^sag/.test(x.folded));
  return false;
}

function isOptOut(clause: Word[], i: number): boolean {
  const w = clause[i]!;
  return w.cls.has('optOut') || (w.folded === 'opt' && isStop(clause, i));
}

/** Past forms report what happened ("I deleted the newsletter", "lopetin", "slutade"). */
function isPast(clause: Word[], i: number): boolean {
  const w = clause[i]!.folded;
  // "to be removed" is a passive wish, not a past.
  if (/^(be|being|get)$/.test(clause[i - 1]?.folded ?? '')) return false;
  if (/ed$|(ade|at)$|[^s]in$|[^s]imme$|(nut|nyt|neet|ttu|tty|ttiin)$/.test(w)) return true;
  return clause.slice(Math.max(0, i - NEGATION_REACH), i).some((x) => x.cls.has('pastAux'));
}

/** "No thanks", "ei kiitos", "nej tack": a refusal, not a negation of the verb after it. */
function isRefusal(clause: Word[], j: number): boolean {
  return has(clause[j], 'neg') && has(clause[j + 1], 'thanks');
}

/**
 * Negation reaches a verb a few words after it (English, Finnish: "don't send", "älkää
 * lähettäkö", "en halua enää"), or right after it (Swedish: "skicka inte", "vill inte").
 */
function negator(clause: Word[], i: number): Word | undefined {
  for (let j = Math.max(0, i - NEGATION_REACH); j <= i + 2 && j < clause.length; j++) {
    if (j === i || !has(clause[j], 'neg') || isRefusal(clause, j)) continue;
    if (j > i && !AFTER_VERB_NEGATIONS.has(clause[j]!.folded)) continue;
    return clause[j];
  }
  return undefined;
}

/**
 * A negated "send" is a request only as an imperative ("don't send", "älkää lähettäkö",
 * "skicka inte"), not as a statement ("you never send", "no access to email").
 */
function isNegatedRequest(clause: Word[], neg: Word, verb: Word): boolean {
  if (!IMPERATIVE_NEGATIONS.has(neg.folded)) return false;
  // English asks with "do not" ("don't send"); "will not read email" tells.
  if (neg.folded === 'not' && clause.find((x) => x.at === neg.at - 1)?.folded !== 'do')
    return false;
  if (/ar$/.test(verb.folded) && neg.at > verb.at) return false; // "ni skickar inte"
  const before = clause.filter((x) => x.at < neg.at && x.at >= neg.at - 2);
  return !before.some((x) => ['you', 'they', 'it', 'he', 'she', 'ni', 'de'].includes(x.folded));
}

/** Nothing in the sentence but these words and greetings, thanks or "I want". */
function alone(sentence: Word[], words: Word[]): boolean {
  return sentence.every(
    (x) => words.includes(x) || x.cls.has('filler') || x.cls.has('subject') || x.cls.has('want'),
  );
}

function readClause(clause: Word[], sentence: Word[], mailBefore: boolean): ClauseReading {
  const mail = clause.find((w) => w.cls.has('mail') && !w.cls.has('stop'));
  const first = firstOfEach(clause);
  const order = first.get('order') ?? clause.find((w) => /^\d{3,}$/.test(w.folded));
  const tilaus = first.get('tilaus');
  const receives = first.has('receive');
  const content = first.get('content');
  let reading: ClauseReading = {};

  // A negated stop anywhere in the clause decides it: "en halua perua uutiskirjettä" is about the
  // mail but asks to keep it.
  for (let i = 0; i < clause.length; i++) {
    const neg = negator(clause, i);
    if (neg && isStop(clause, i) && !isPast(clause, i))
      return { doubt: `negated: ${quote(neg, clause[i])}` };
  }

  for (let i = 0; i < clause.length; i++) {
    const w = clause[i]!;
    const neg = negator(clause, i);

    if (isStop(clause, i) && !isPast(clause, i)) {
      if (isOptOut(clause, i)) return { wish: `asks to opt out: ${quote(w)}` };
      const near = clause.slice(Math.max(0, i - 3), i + 4);
      const self = near.find((x) => x !== w && x.cls.has('self'));
      const sending = clause.find((x) => x !== w && x.cls.has('send'));
      // "Cancel it" points back at the mail named earlier; "stop that music" does not.
      const pointer = mailBefore
        ? clause.find(
            (x, j) => x.cls.has('pronoun') && clause.slice(j + 1).every((y) => y.cls.has('filler')),
          )
        : undefined;
      const these = clause.find((x) => x.cls.has('these'));
      const object = mail ?? self ?? sending ?? these ?? pointer;
      if (object) {
        if (!mail && tilaus && (order || /^peruut/.test(w.folded)))
          return { doubt: `"tilaus" may be an order: ${quote(w, tilaus, order)}` };
        if (!mail && !self && order) continue; // an order's cancellation names the order
        return { wish: `asks to stop: ${quote(w, object)}` };
      }
      // Cancelling a "tilaus" is a subscription's end or an order's; removing from one edits an
      // order. Only the newsletter footer's own words, said alone ("peru tilaus, kiitos"), are
      // taken as the subscription.
      if (tilaus && CANCEL.test(w.folded))
        return /^peruut/.test(w.folded) || order || !alone(sentence, [w, tilaus])
          ? { doubt: `"tilaus" may be an order: ${quote(w, tilaus, order)}` }
          : { wish: `cancels the subscription: ${quote(w, tilaus)}` };
      const rest = clause.filter((x) => x !== w);
      if (rest.every((x) => x.cls.has('filler')))
        return { bareStop: `asks to stop, in one word: ${quote(w)}` };
      if (rest.every((x) => x.cls.has('filler') || x.cls.has('subject') || x.cls.has('want')))
        reading = { stopWithoutObject: `a wish to stop without saying what: ${quote(...clause)}` };
      continue;
    }

    if (
      w.cls.has('send') &&
      neg &&
      neg.at < w.at + 2 &&
      isNegatedRequest(clause, neg, w) &&
      // "Don't send the package (the invoice) before Friday" is about an order.
      !clause.some((x) => x.cls.has('order') && x.at > w.at && x.at <= w.at + 3) &&
      (mail || !order)
    )
      return { wish: `asks not to be sent mail: ${quote(neg, w)}` };

    if (w.cls.has('want') && neg) {
      const what = mail ?? clause.find((x) => x.cls.has('these'));
      if (what) return { wish: `does not want the mail: ${quote(neg, w, what)}` };
      if (content)
        reading = { doubt: `declines ${quote(content)}, not the mail: ${quote(neg, w)}` };
    }

    const next = clause[i + 1];
    if (w.cls.has('neg') && !receives && (has(next, 'more') || isRefusal(clause, i))) {
      if (mail) return { wish: `wants no more mail: ${quote(w, next, mail)}` };
      if (content)
        reading = { doubt: `declines ${quote(content)}, not the mail: ${quote(w, next)}` };
    }
  }
  return reading;
}

/** The mail and a negated "want" in one sentence, however far apart. */
function unwanted(words: Word[]): boolean {
  return (
    words.some((w) => w.cls.has('mail')) &&
    words.some((w) => w.cls.has('want')) &&
    words.some((w) => w.cls.has('neg'))
  );
}

/** Erasure or access asked for in one sentence, with the words that show it. */
function privacyIn(words: Word[]): Pick<ReplyVerdict, 'privacy' | 'reason'> | null {
  const forget = words.find((w) => w.cls.has('forget'));
  if (forget)
    return {
      privacy: /tarkast|utdrag/.test(forget.folded) ? 'access' : 'erasure',
      reason: `a privacy request: ${quote(forget)}`,
    };
  for (const data of words.filter((w) => w.cls.has('data'))) {
    const own = data.cls.has('personal')
      ? data
      : words.find((w) => w.cls.has('personal') && Math.abs(w.at - data.at) <= PERSONAL_REACH);
    if (!own) continue;
    const erase = words.find(
      (w, i) => (w.cls.has('stop') || w.cls.has('away')) && !isPast(words, i),
    );
    if (erase)
      return { privacy: 'erasure', reason: `asks to erase personal data: ${quote(erase, data)}` };
    const access = words.find((w) => w.cls.has('access'));
    if (access)
      return { privacy: 'access', reason: `asks about personal data: ${quote(access, data)}` };
  }
  return null;
}

/**
 * The intent of a reply's own words. A reply is `unsubscribe` only when some sentence asks to
 * stop the mail (a stop verb with the mail or the writer as its object, a negated "send" or
 * "want" with the mail, "no more mail") and nothing in the reply casts doubt on it: negation of
 * the stop itself, conditions, doubt, another person, part of the mail, or a Finnish "tilaus"
 * that may be an order. Doubts make it `ambiguous`, for a person to decide. Deterministic: the
 * same text gives the same verdict and reason.
 */
export function classifyReply(text: string): ReplyVerdict {
  const parsed = sentences(text.slice(0, MAX_CHARS)).map((s) => ({
    ...s,
    words: s.tokens.map((t) => ({ ...t, cls: classesOf(t) })),
  }));
  for (const s of parsed) {
    const found = privacyIn(s.words);
    if (found) return { intent: 'privacy', ...found };
  }

  const wishes: string[] = [];
  const doubts: string[] = [];
  const bareStops: string[] = [];
  let saysMore = false;
  let mailBefore = false;
  for (const s of parsed) {
    const byAt = new Map(s.words.map((w) => [w.at, w]));
    const clauses = s.clauses.map((c) => c.map((t) => byAt.get(t.at)!));
    const readings: ClauseReading[] = [];
    for (const clause of clauses) {
      readings.push(readClause(clause, s.words, mailBefore));
      mailBefore ||= clause.some((w) => w.cls.has('mail'));
    }
    const wish = readings.find((r) => r.wish)?.wish;
    const doubt = readings.find((r) => r.doubt)?.doubt;
    const bare = readings.find((r) => r.stopWithoutObject)?.stopWithoutObject;
    const bareStop = readings.find((r) => r.bareStop)?.bareStop;
    const first = firstOfEach(s.words);
    const opening = s.words[0];
    // Swedish "om" is "if" only where it opens the sentence; elsewhere it is "about".
    const hedge = first.get('hedge') ?? (opening?.folded === 'om' ? opening : undefined);
    const asks =
      first.has('modal') ||
      s.words.some((w, i) => w.cls.has('canAsk') && ASKED.has(s.words[i + 1]?.folded ?? ''));
    const reported = first.get('reported');
    const why = first.get('why');
    const person = first.get('person');
    const partial = first.get('partial');
    const replacing = first.get('replace');
    const channel = first.get('channel');
    const stopWord = clauses.flatMap((c) => c.filter((_, i) => isStop(c, i)))[0];

    if (doubt) doubts.push(doubt);
    if (wish) {
      if (why || (s.question && !asks)) continue; // a question about the mail, not a request
      if (hedge) doubts.push(`hedged by ${quote(hedge)}: ${wish}`);
      else if (reported) doubts.push(`reported, not asked (${quote(reported)}): ${wish}`);
      else if (person) doubts.push(`may be about someone else (${quote(person)}): ${wish}`);
      else if (partial) doubts.push(`only part of the mail (${quote(partial)}): ${wish}`);
      else if (replacing) doubts.push(`may be a change of address (${quote(replacing)}): ${wish}`);
      else if (channel) doubts.push(`may be about other mail (${quote(channel)}): ${wish}`);
      else wishes.push(wish);
    } else if (bareStop) {
      bareStops.push(bareStop);
    } else if (hedge && !why && (stopWord || unwanted(s.words))) {
      const what = stopWord ?? s.words.find((w) => w.cls.has('want'));
      doubts.push(`hedged by ${quote(hedge)}: ${quote(what)}`);
    } else if (bare && !s.question) {
      doubts.push(bare);
    } else if (!s.words.every((w) => w.cls.has('filler'))) {
      saysMore = true;
    }
  }
  if (doubts.length > 0) return { intent: 'ambiguous', reason: doubts[0]! };
  if (wishes.length > 0) return { intent: 'unsubscribe', reason: wishes[0]! };
  // "Stop!" asks to stop the mail it answers, unless the rest of the reply is about something else.
  if (bareStops.length > 0)
    return saysMore
      ? { intent: 'ambiguous', reason: `${bareStops[0]!}, among other words` }
      : { intent: 'unsubscribe', reason: bareStops[0]! };
  return { intent: 'other', reason: 'no request to stop the mail' };
}
