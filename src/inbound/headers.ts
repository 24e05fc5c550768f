import { createHash } from 'node:crypto';

/** Header names whose values change between deliveries of the same message (trace fields). */
const TRACE_HEADERS = new Set([
  'received',
  'return-path',
  'delivered-to',
  'x-original-to',
  'authentication-results',
  'received-spf',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
  'x-received',
]);

/** Offset where the body starts (after the first empty line), or -1 when there is no body. */
export function headerEnd(raw: Buffer, limit = raw.length): number {
  const max = Math.min(limit, raw.length);
  for (let i = 0; i < max; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return i + 2;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parses an RFC 5322 header block (also the field blocks of message/delivery-status and
 * message/feedback-report) into lower-cased names and unfolded values, in order.
 */
export function parseHeaderBlock(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let name: string | null = null;
  let value = '';
  const flush = () => {
    if (name === null) return;
    const list = out.get(name) ?? [];
    list.push(value.trim());
    out.set(name, list);
  };
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && name !== null) {
      value += ' ' + line.trim();
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) {
      name = line.slice(0, colon).toLowerCase();
      value = line.slice(colon + 1);
    } else {
      name = null;
    }
  }
  flush();
  return out;
}

/**
 * SHA-256 of the message without its trace fields: a re-delivery of the same message through
 * another relay, or once over SMTP and once from the IMAP mailbox, has the same digest.
 */
export function messageDigest(raw: Buffer): string {
  const end = headerEnd(raw);
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const hash = createHash('sha256');
  let keep = true;
  for (const line of head.split(/\r?\n/)) {
    if (!/^[ \t]/.test(line)) {
      const colon = line.indexOf(':');
      keep = colon <= 0 || !TRACE_HEADERS.has(line.slice(0, colon).trim().toLowerCase());
    }
    if (keep) hash.update(line.trimEnd()).update('\n');
  }
  if (end >= 0) hash.update(raw.subarray(end));
  return hash.digest('hex');
}

/** `<a@b>` ids of a Message-ID / In-Reply-To / References value, without brackets, lower-cased. */
export function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/<([^<>\s]{1,250})>/g)].map((m) => m[1]!.toLowerCase());
}

/** Bare addresses found in a header value such as `Name <a@b>, c@d`. */
export function addressesIn(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/[^\s<>,;:"()]+@[^\s<>,;:"()]+/g)].map((m) =>
    m[0].replace(/^mailto:/i, '').replace(/\?.*$/, ''),
  );
}

/** The raw text of every `name` field of a header block, continuation lines included. */
export function rawFields(headText: string, name: string): string[] {
  const field = new RegExp(`^${name}[ \\t]*:[^\\r\\n]*(?:\\r?\\n[ \\t][^\\r\\n]*)*`, 'gim');
  return [...headText.matchAll(field)].map((m) => m[0]);
}

/**
 * The value of a field that appears once, on one line, in printable ASCII without an encoded
 * word: what a MIME parser decodes it to (nothing to decode), read without one. '' when the field
 * is absent; undefined when only a MIME parser can tell.
 */
export function literalField(headText: string, name: string): string | undefined {
  const fields = rawFields(headText, name);
  if (fields.length === 0) return '';
  const field = fields[0]!;
  if (fields.length > 1 || field.includes('\n')) return undefined;
  const value = field.slice(field.indexOf(':') + 1).trim();
  return /^[\x20-\x7e]*$/.test(value) && !value.includes('=?') ? value : undefined;
}

/**
 * False when no address a MIME parser finds in the `name` fields can contain `text` (a domain):
 * the fields do not name it, even with their white space left out, and hold nothing an address
 * parser could put it together from (comments, quoted pairs, encoded words, non-ASCII IDN text).
 */
export function fieldMayName(headText: string, name: string, text: string): boolean {
  const needle = text.toLowerCase();
  return rawFields(headText, name).some(
    (f) =>
      !/^[\x20-\x7e\r\n\t]*$/.test(f) ||
      /[(\\]|=\?/.test(f) ||
      f.toLowerCase().replace(/\s+/g, '').includes(needle),
  );
}

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;
const BETWEEN_WORDS = /(\?=)\s+(?==\?)/g;

/**
 * A header value with its RFC 2047 encoded words decoded (`=?utf-8?Q?Tilaus_peruttu?=` ->
 * `Tilaus peruttu`); white space between two encoded words goes, as the RFC says. A word in a
 * charset the runtime does not know stays as it was written.
 */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(BETWEEN_WORDS, '$1')
    .replace(ENCODED_WORD, (word, charset: string, enc: string, text: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text
                .replace(/_/g, ' ')
                .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
                  String.fromCharCode(parseInt(hex, 16)),
                ),
              'latin1',
            );
      try {
        return new TextDecoder(charset.toLowerCase()).decode(bytes);
      } catch {
        return word;
      }
    });
}
