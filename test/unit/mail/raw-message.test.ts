import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import { QuotedPrintablePart } from '../../../src/mail/mime-parts.js';
import {
  addressHeader,
  AlternativeMessage,
  mailDate,
  textHeader,
} from '../../../src/mail/raw-message.js';

describe('raw campaign messages', () => {
  const build = (from: string, subject: string, text: string, html: string) =>
    new AlternativeMessage().build(
      [
        addressHeader('From', from),
        addressHeader('To', 'maija@example.com'),
        textHeader('Subject', subject),
        `Date: ${mailDate(new Date('2026-12-04T10:00:00Z'))}`,
      ],
      new QuotedPrintablePart('text/plain').part(text),
      new QuotedPrintablePart('text/html').part(html),
    );

  it('reads back as written: non-ASCII names and subjects, both alternatives, lines within the limit', async () => {
    const subject = `Hei Äijä, kevään uutuudet ovat täällä — ${'pitkä otsikko '.repeat(6)}😀`;
    const raw = build(
      '"Kauppa Öy, Turku" <news@example.com>',
      subject,
      'Hei Äijä!\n= not a boundary =_kirje_',
      '<p>Hei Äijä!</p>',
    );
    // Encoded words fold as nodemailer folds them: a line may pass 78 by a few, never 998.
    for (const line of raw.split('\r\n')) expect(line.length).to.be.at.most(998);
    expect(raw).to.match(/^[\t\x20-\x7e\r\n]*$/);
    const mail = await simpleParser(Buffer.from(raw));
    expect(mail.subject).to.equal(subject);
    expect(mail.from!.value).to.deep.equal([
      { name: 'Kauppa Öy, Turku', address: 'news@example.com' },
    ]);
    expect(mail.text!.trim()).to.equal('Hei Äijä!\n= not a boundary =_kirje_');
    expect(mail.html).to.include('<p>Hei Äijä!</p>');
    expect(mail.date!.toISOString()).to.equal('2026-12-04T10:00:00.000Z');
  });

  it('writes plain names plain, names with specials quoted, and a bare address bare', () => {
    expect(addressHeader('From', 'Kauppa <news@example.com>')).to.equal(
      'From: Kauppa <news@example.com>',
    );
    expect(addressHeader('From', '"Kauppa Oy, Turku" <news@example.com>')).to.equal(
      'From: "Kauppa Oy, Turku" <news@example.com>',
    );
    expect(addressHeader('To', 'maija@example.com')).to.equal('To: maija@example.com');
    expect(textHeader('Subject', 'a\r\nBcc: x@example.com')).to.equal(
      'Subject: a Bcc: x@example.com',
    );
  });
});
