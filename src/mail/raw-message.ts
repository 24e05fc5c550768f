import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import mimeFuncs from 'nodemailer/lib/mime-funcs/index.js';

/**
 * A whole MIME message written as text, for nodemailer's `raw` option: building each campaign
 * mail through nodemailer's MailComposer (a tree of MIME nodes, header normalisation, streams)
 * cost more CPU than everything else a mail needs. Header values are encoded with nodemailer's
 * own functions, so the result reads as nodemailer's would.
 */

/** A header field with free text: encoded words where it is not ASCII, folded at 76 columns. */
export function textHeader(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  return mimeFuncs.foldLines(
    `${name}: ${mimeFuncs.isPlainText(clean) ? clean : mimeFuncs.encodeWords(clean, 'Q', 52)}`,
    76,
  );
}

/** A header field of addresses (From, To), display names quoted or encoded as needed. */
export function addressHeader(name: string, value: string): string {
  const formatted = addressparser(value, { flatten: true })
    .map((a) => (a.name ? `${displayName(a.name)} <${a.address}>` : a.address))
    .join(', ');
  return mimeFuncs.foldLines(`${name}: ${formatted}`, 76);
}

function displayName(name: string): string {
  if (!mimeFuncs.isPlainText(name)) return mimeFuncs.encodeWord(name, 'Q', 52);
  return /^[\w ]*$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/** The Date header's value, as RFC 5322 writes it. */
export const mailDate = (at: Date) => at.toUTCString().replace(/GMT/, '+0000');

/**
 * Text and HTML alternatives under the given header lines. The boundary holds `=_`, which a
 * quoted-printable body can never contain (it writes `=` as `=3D`), so no body can end a part.
 */
export class AlternativeMessage {
  private readonly boundary = `=_kirje_${randomBytes(12).toString('hex')}`;

  build(headerLines: string[], textPart: string, htmlPart: string): string {
    const b = this.boundary;
    return (
      `${headerLines.join('\r\n')}\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n` +
      `--${b}\r\n${textPart}\r\n--${b}\r\n${htmlPart}\r\n--${b}--\r\n`
    );
  }
}
