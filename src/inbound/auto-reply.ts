/**
 * RFC 3834 and the de-facto markers of vacation and other automatic replies. Subjects are the
 * ones real clients put in front of the original subject (Outlook, Gmail, Exchange, Apple Mail)
 * in English, Finnish and Swedish.
 */
const AUTO_SUBJECTS = [
  /^(auto(matic)?[ -]?reply|autoreply|auto[ -]?response)\b/i,
  /^out of (the )?office\b/i,
  /\bout of office\b/i,
  /^(i am|i'm) (currently )?(away|out of the office|on (vacation|holiday|leave))\b/i,
  /^vacation( reply)?\b/i,
  /^automaattinen vastaus\b/i,
  /^poissa\b/i,
  /^(olen )?lomalla\b/i,
  /^poissaoloviesti\b/i,
  /^autosvar\b/i,
  /^automatiskt svar\b/i,
  /^fr[åa]nvaro\b/i,
  /^semester\b/i,
  /^borta\b/i,
];

export interface HeaderView {
  get(name: string): string | undefined;
}

export type AutoReplyKind = 'auto-replied' | 'auto-generated' | null;

/**
 * What the header fields alone say: `auto-generated` only for Auto-Submitted: auto-generated (a
 * machine wrote it, e.g. a mailbox provider's one-click mailto unsubscribe), `auto-replied` for
 * everything that answers mail; null when only the subject can still tell (autoReplySubject).
 */
export function autoReplyMarker(h: HeaderView): AutoReplyKind {
  const submitted = h.get('auto-submitted')?.trim().toLowerCase();
  if (submitted && !submitted.startsWith('no')) {
    return submitted.startsWith('auto-generated') ? 'auto-generated' : 'auto-replied';
  }
  const precedence = h.get('precedence')?.trim().toLowerCase();
  if (precedence && /^(bulk|junk|list|auto_reply)\b/.test(precedence)) return 'auto-replied';
  if (h.get('x-autoreply') !== undefined || h.get('x-autorespond') !== undefined)
    return 'auto-replied';
  const suppress = h.get('x-auto-response-suppress')?.toLowerCase();
  // Exchange marks its own automatic answers with this and an X-MS-Exchange auto-reply flag.
  if (h.get('x-ms-exchange-inbox-rules-loop') !== undefined && suppress?.includes('all'))
    return 'auto-replied';
  return null;
}

/** A (decoded) subject that automatic replies put in front of the original one. */
export function autoReplySubject(subject: string): boolean {
  const cleaned = subject.replace(/^\s*((re|vs|sv|aw|fw|fwd|vl)\s*:\s*)*/i, '').trim();
  return AUTO_SUBJECTS.some((re) => re.test(cleaned));
}
