import { encode, wrap } from 'nodemailer/lib/qp/index.js';

/** Lines remembered per part: the static lines of a campaign body, with room to spare. */
const MAX_CACHED_LINES = 4096;

/**
 * Quoted-printable text parts for mails that differ from each other in a few lines: a campaign's
 * HTML and text are the same for every recipient except where the personalisation lands.
 * Quoted-printable encodes each line on its own (a hard line break is CRLF in the output), so a
 * line already encoded for one recipient is reused for the next; only the personalised lines are
 * encoded again. Encoding is nodemailer's (encode, then soft line breaks at 76 columns), the same
 * as its MailComposer would do to the whole body, and was half the cost of building a mail.
 *
 * One instance per campaign part. The cache fills with the first mails' lines and then stops
 * growing: the static lines come first and stay; a personalised line seen once costs a slot.
 */
export class QuotedPrintablePart {
  private readonly lines = new Map<string, string>();
  private readonly head: string;

  constructor(contentType: 'text/html' | 'text/plain') {
    this.head =
      `Content-Type: ${contentType}; charset=utf-8\r\n` +
      'Content-Transfer-Encoding: quoted-printable\r\n\r\n';
  }

  /** The whole MIME part (headers and body), one alternative of a raw message. */
  part(content: string): string {
    return this.head + this.encode(content);
  }

  encode(content: string): string {
    return content
      .split(/\r\n|\r|\n/)
      .map((line) => this.line(line))
      .join('\r\n');
  }

  private line(line: string): string {
    const hit = this.lines.get(line);
    if (hit !== undefined) return hit;
    const encoded = wrap(encode(line), 76);
    if (this.lines.size < MAX_CACHED_LINES) this.lines.set(line, encoded);
    return encoded;
  }
}
