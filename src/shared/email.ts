import { domainToASCII } from 'node:url';

const MAX_LENGTH = 254;
// Dot-atom local part (RFC 5322 §3.4.1) — quoted local parts are legal but unused by real people
// and a common vector for header and parser tricks, so they are refused.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Returns the canonical form of an address or null when it is not one we can mail.
 * The whole address is lower-cased: RFC 5321 lets local parts be case-sensitive, but no mailbox
 * provider treats them so, and a list must never hold the same person twice.
 * International domains become punycode.
 */
export function normaliseEmail(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LENGTH * 2) return null;
  const at = trimmed.lastIndexOf('@');
  if (at < 1 || at === trimmed.length - 1) return null;
  const local = trimmed.slice(0, at);
  const domain = domainToASCII(trimmed.slice(at + 1).toLowerCase());
  if (!domain || local.length > 64 || !localPart.test(local)) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => label.test(l)) || /^[0-9]+$/.test(labels.at(-1)!))
    return null;
  const email = `${local.toLowerCase()}@${domain}`;
  return email.length <= MAX_LENGTH ? email : null;
}

/** `ma***@example.com`: enough for a person to recognise their own address, not to harvest it. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const shown = local.slice(0, Math.min(2, Math.max(1, local.length - 1)));
  return `${shown}***${email.slice(at)}`;
}
