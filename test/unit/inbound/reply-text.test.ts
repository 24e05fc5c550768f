import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { classifyReply } from '../../../src/inbound/reply-intent/classify.js';
import { OWN_TEXT_PARSE_OPTIONS, ownText } from '../../../src/inbound/reply-text.js';

const replies = path.resolve('test/fixtures/replies/eml');
const emails = path.resolve('test/fixtures/emails');

/**
 * Every quoted original, forwarded original and signature in these fixtures asks to be
 * unsubscribed, in Finnish, Swedish and English; the writer's own words do not. Read as the
 * writer's words, any of them would unsubscribe the person.
 */
const QUOTED_REQUESTS = [
  'Etkö halua enää uutiskirjettä? Vastaa: poistakaa minut listalta.',
  "Don't want these emails? Reply: please unsubscribe me.",
  "Don't want our emails? Reply: please unsubscribe me.",
  'Etkö halua enää viestejämme? Vastaa: poistakaa minut listalta.',
  'Vill du inte ha fler mejl? Svara: ta bort mig från listan.',
];
const QUOTED_WORDS = /poistakaa minut|unsubscribe|ta bort mig|peru tilaus|avsluta/i;

const layouts: [file: string, own: string][] = [
  ['gmail-en.eml', 'Do you ship to Åland?'],
  ['gmail-fi.eml', 'Onko Genelec 8030 vielä saatavilla?'],
  ['gmail-sv.eml', 'Har ni fler färger?'],
  ['outlook-en.eml', 'Hi,\ndo you ship to Åland?'],
  ['outlook-fi-html-only.eml', 'Hei,\nonko Genelec 8030 vielä saatavilla?'],
  ['outlook-sv-html-only.eml', 'Hej!\nHar ni fler färger?'],
  ['outlook-desktop-en-original-message.eml', 'Do you ship to Åland?'],
  ['outlook-desktop-fi-text.eml', 'Onko Genelec 8030 vielä saatavilla?'],
  ['outlook-mobile-fi.eml', 'Onko Genelec 8030 vielä saatavilla?'],
  ['apple-en.eml', 'Do you ship to Åland?'],
  ['apple-fi-text.eml', 'Onko Genelec 8030 vielä saatavilla?'],
  ['apple-sv-html-only.eml', 'Har ni fler färger?'],
  ['gmail-fi-forwarded.eml', 'Katsokaa tätä tarjousta!'],
  ['apple-en-forwarded.eml', 'Look at this offer!'],
  ['outlook-sv-forwarded-html-only.eml', 'Kolla det här erbjudandet!'],
  ['signature-dashes-en.eml', 'Do you ship to Åland?'],
  ['signature-closing-fi.eml', 'Hei,\n\nonko Genelec 8030 vielä saatavilla?'],
  ['signature-closing-sv.eml', 'Hej,\nhar ni fler färger?'],
  ['signature-gmail.eml', 'Do you ship to Åland?'],
  ['signature-outlook-html-only.eml', 'Do you ship to Åland?'],
];

async function parse(file: string) {
  const parsed = await simpleParser(readFileSync(file), {
    ...OWN_TEXT_PARSE_OPTIONS,
    skipTextToHtml: true,
  });
  return { text: parsed.text, html: typeof parsed.html === 'string' ? parsed.html : undefined };
}

describe("a reply's own words", () => {
  it('the quoted requests would be acted on if they were read', () => {
    for (const text of QUOTED_REQUESTS)
      expect(classifyReply(text).intent, text).to.equal('unsubscribe');
  });

  for (const [file, own] of layouts) {
    it(`${file}: only the writer's words are read`, async () => {
      const { text, html } = await parse(path.join(replies, file));
      const read = ownText(text, html);
      expect(read).to.equal(own);
      expect(read).to.not.match(QUOTED_WORDS);
      expect(classifyReply(read).intent).to.equal('other');
      // The HTML alternative, read on its own, cuts the same: some clients send only HTML.
      if (html) expect(ownText(undefined, html)).to.equal(own);
    });
  }

  it('an HTML-only message is read from its HTML, not from mailparser’s text of it', async () => {
    const { text, html } = await parse(path.join(replies, 'signature-outlook-html-only.eml'));
    expect(text ?? '').to.equal('');
    expect(html).to.contain('please unsubscribe me');
  });

  for (const [file, own, intent] of [
    ['reply-outlook-en-html-only-stop-sending.eml', 'Stop sending me these emails.', 'unsubscribe'],
    ['reply-gmail-fi-wrapped-attribution.eml', 'Peru tilaus kiitos.', 'unsubscribe'],
    ['reply-apple-sv-avsluta.eml', 'Avsluta min prenumeration tack.', 'unsubscribe'],
    ['reply-outlook-sv-ta-bort-mig.eml', 'Hej,\nta bort mig från listan.', 'unsubscribe'],
    ['reply-outlook-fi-peru-tilaukseni.eml', 'Hei,\n\nperu tilaukseni, kiitos.', 'unsubscribe'],
    [
      'reply-outlook-fi-question-quoted-unsubscribe.eml',
      'Onko Genelec 8030 vielä saatavilla?',
      'other',
    ],
  ] as const) {
    it(`${file}: the writer's own request is read, and only it`, async () => {
      const { text, html } = await parse(path.join(emails, file));
      const read = ownText(text, html);
      expect(read).to.equal(own);
      expect(classifyReply(read).intent).to.equal(intent);
    });
  }

  it('keeps a first line of thanks: it opens the request, it does not close the mail', () => {
    expect(ownText('Kiitos!\nPoistakaa minut listalta.\n\nTerveisin\nMatti', undefined)).to.equal(
      'Kiitos!\nPoistakaa minut listalta.',
    );
    expect(ownText('Thanks,\n\nplease remove me.', undefined)).to.equal(
      'Thanks,\n\nplease remove me.',
    );
  });
});
