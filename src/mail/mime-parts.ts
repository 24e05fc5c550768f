/** Lines remembered per part: the static lines of a campaign body, with room to spare. */
const MAX_CACHED_LINES = 4096;

/**
 * Quoted-printable text parts for mails that differ from each other in a few lines: a campaign's
 * HTML and text are the same for every recipient except where the personalisation lands.
 * Quoted-printable encodes each line on its own (a hard line break is CRLF in the output), so a
 * line already encoded for one recipient is reused for the next; only the personalised lines are
 * encoded again, by encodeLine below: a byte table and soft line breaks at 76 columns in one pass
 * (nodemailer's encoder, a regular expression and a second pass to wrap, cost twice as much).
 *
 * One instance per campaign part. The cache fills with the first mails' lines and then stops
 * growing: the static lines come first and stay; a personalised line seen once costs a slot.
 */
export class QuotedPrintablePart {
  private readonly lines = new Map<string, string>();
  /** The previous content's lines and their encodings, compared by position first. */
  private previous: { lines: string[]; encoded: string[] } = { lines: [], encoded: [] };
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
    // Rendered templates break lines with LF alone; a CR is rare and made a plain break first.
    const text = content.includes('\r') ? content.replace(/\r\n?/g, '\n') : content;
    const lines = text.split('\n');
    const before = this.previous;
    // Consecutive mails of one campaign share most lines at the same places: comparing with the
    // line at the same place costs less than looking each line up by its text.
    const encoded = lines.map((line, i) =>
      before.lines[i] === line ? before.encoded[i]! : this.line(line),
    );
    this.previous = { lines, encoded };
    return encoded.join('\r\n');
  }

  private line(line: string): string {
    const hit = this.lines.get(line);
    if (hit !== undefined) return hit;
    const encoded = encodeLine(line);
    if (this.lines.size < MAX_CACHED_LINES) this.lines.set(line, encoded);
    return encoded;
  }
}

/** Bytes quoted-printable leaves as they are: printable ASCII but `=`, space and tab. */
const LITERAL = Uint8Array.from({ length: 256 }, (_, b) =>
  (b >= 33 && b <= 126 && b !== 61) || b === 32 || b === 9 ? 1 : 0,
);
const HEX_DIGITS = Buffer.from('0123456789ABCDEF');
const EQUALS = 61;
const LINE_LENGTH = 76;

/**
 * One line of text as quoted-printable (RFC 2045 §6.7): UTF-8 bytes outside printable ASCII and
 * `=` escaped, a space or tab at the end of the line escaped, and soft line breaks (`=` CRLF) so
 * that no line is longer than 76 characters, never inside an escape. Written byte by byte into
 * one buffer: building the string a character at a time cost several times more.
 */
export function encodeLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  // At most three characters per byte, and a soft break per 25 escapes.
  const out = Buffer.allocUnsafe(bytes.length * 4 + 3);
  let length = 0;
  let column = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const last = i === bytes.length - 1;
    const escaped = !LITERAL[b] || (last && (b === 32 || b === 9));
    const width = escaped ? 3 : 1;
    // The last character may reach column 76; any other leaves room for the soft break's `=`.
    if (column + width > (last ? LINE_LENGTH : LINE_LENGTH - 1)) {
      out[length++] = EQUALS;
      out[length++] = 13;
      out[length++] = 10;
      column = 0;
    }
    if (escaped) {
      out[length++] = EQUALS;
      out[length++] = HEX_DIGITS[b >> 4]!;
      out[length++] = HEX_DIGITS[b & 15]!;
    } else {
      out[length++] = b;
    }
    column += width;
  }
  return out.toString('latin1', 0, length);
}
