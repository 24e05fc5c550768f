import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import { QuotedPrintablePart } from '../../../src/mail/mime-parts.js';

/** What a mail reader gets back from a part. */
async function decoded(part: string): Promise<string> {
  const mail = await simpleParser(Buffer.from(`Subject: t\r\nMIME-Version: 1.0\r\n${part}`));
  return mail.text ?? '';
}

const crlf = (s: string) => s.replace(/\r\n|\r|\n/g, '\r\n');

describe('QuotedPrintablePart', () => {
  const samples = [
    'Hei Äijä! Tämä on rivi, jossa on ääkkösiä ja €-merkki.',
    `${'x'.repeat(200)}\n${'ö'.repeat(90)}\n`,
    'trailing space \ntrailing tab\t\r\n= sign at start and =3D literal',
    `emoji 😀 across the wrap ${'a'.repeat(70)}😀😀😀 end`,
    'long words ' + 'https://shop.example.com/spring?utm_campaign=spring&x=1 '.repeat(6),
    '',
    '\n\n\nblank lines\n\n',
  ];

  for (const [i, sample] of samples.entries()) {
    it(`decodes to the same text, lines within 76 columns (sample ${i})`, async () => {
      const part = new QuotedPrintablePart('text/plain');
      const first = part.part(sample);
      // The second time comes from the line cache and must be identical.
      expect(part.part(sample)).to.equal(first);
      const body = first.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      for (const line of body.split('\r\n')) expect(line.length).to.be.at.most(76);
      expect(body).to.match(/^[\t\x20-\x7e\r\n]*$/);
      const text = await decoded(first);
      // mailparser drops one trailing line break of a text body.
      expect(text.replace(/\n$/, '')).to.equal(
        crlf(sample).replace(/\r\n/g, '\n').replace(/\n$/, ''),
      );
    });
  }

  it('names the type and encoding of the part', () => {
    const html = new QuotedPrintablePart('text/html').part('<p>x</p>');
    expect(html).to.match(
      /^Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>x<\/p>$/,
    );
  });

  it('keeps encoding correctly once its cache is full', async () => {
    const part = new QuotedPrintablePart('text/plain');
    for (let i = 0; i < 5000; i++) part.encode(`line ${i} ä`);
    expect(await decoded(part.part('line 4999 ä\nnew line ö'))).to.equal('line 4999 ä\nnew line ö');
  });
});
