import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { fieldMayName, headerEnd, literalField } from '../../../src/inbound/headers.js';
import { isReport, mayBeReport, parseArf, parseDsn } from '../../../src/inbound/reports.js';

const DOMAIN = 'news.example.com';
const dir = path.resolve('test/fixtures/emails');

const corpus = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => ({
    name: f,
    text: readFileSync(path.join(dir, f), 'utf8').replaceAll('{{INBOUND_DOMAIN}}', DOMAIN),
  }));

// Hand-made messages that try to make the header shortcuts and the MIME parser disagree.
const hostile = [
  ['type in pieces by a comment', 'Content-Type: multipart/re(x)port; boundary="b"\n', '--b--\n'],
  ['encoded top-level type', 'Content-Type: =?us-ascii?Q?multipart/report?=; boundary=b\n', ''],
  ['folded subject', 'Subject: Out of\n office\n', 'x\n'],
  ['encoded subject', 'Subject: =?utf-8?Q?Automaattinen_vastaus?=\n', 'x\n'],
  ['two subjects', 'Subject: Hello\nSubject: Automatic reply\n', 'x\n'],
  ['obsolete field syntax', 'Subject : Automatic reply\nFrom : a@news.example.com\n', 'x\n'],
  ['encoded address', `From: =?utf-8?Q?a=40${DOMAIN}?= <a@example.org>\n`, 'x\n'],
  ['commented domain', 'From: a@news.(c)example.com\n', 'x\n'],
  ['spaced address', 'From: a @ news . example.com\n', 'x\n'],
  ['non-ASCII name', 'From: Mäki <a@example.org>\n', 'x\n'],
].map(([name, head, body]) => ({
  name: name!,
  text: `Message-ID: <h@example.org>\nTo: u@${DOMAIN}\n${head}\n${body}`,
}));

/**
 * The pipeline decides automatic replies and mail to the unsubscribe address from header fields
 * without the MIME parse (src/inbound/pipeline.ts). Each shortcut must agree with mailparser on
 * every fixture and on hand-made attempts to make them disagree.
 */
describe('inbound header shortcuts agree with the MIME parser', () => {
  for (const { name, text } of [...corpus, ...hostile]) {
    it(name, async () => {
      const raw = Buffer.from(text.replace(/\r?\n/g, '\r\n'));
      const end = headerEnd(raw);
      const head = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
      const parsed = await simpleParser(raw, { keepDeliveryStatus: true });

      if (!mayBeReport(raw.toString('latin1'))) {
        expect(isReport(parsed), 'isReport').to.equal(false);
        expect(parseArf(parsed), 'parseArf').to.equal(null);
        expect(parseDsn(parsed), 'parseDsn').to.equal(null);
      }
      const subject = literalField(head, 'subject');
      if (subject !== undefined) expect(subject).to.equal(parsed.subject ?? '');
      if (!fieldMayName(head, 'from', DOMAIN)) {
        for (const a of parsed.from?.value ?? [])
          expect(a.address?.toLowerCase() ?? '').not.to.include(DOMAIN);
      }
    });
  }

  it('the shortcuts are taken where they can be', () => {
    const plain = 'From: A <a@example.org>\r\nSubject: Re: Hello\r\n\r\nx\r\n';
    expect(mayBeReport(plain)).to.equal(false);
    expect(literalField(plain, 'subject')).to.equal('Re: Hello');
    expect(literalField(plain, 'x-none')).to.equal('');
    expect(fieldMayName(plain, 'from', DOMAIN)).to.equal(false);
    expect(fieldMayName(`From: b@${DOMAIN}\r\n`, 'from', DOMAIN)).to.equal(true);
  });
});
