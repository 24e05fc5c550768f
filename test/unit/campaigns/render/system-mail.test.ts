import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mjml2html from 'mjml';
import type { MjmlCompile } from '../../../../src/campaigns/render/mail-compiler.js';
import { SystemMailRenderer } from '../../../../src/campaigns/render/system-mail.js';
import { templatesDir } from '../../../../src/shared/paths.js';

const org = { name: 'Testikauppa Oy', address: 'Testikatu 1, 00100 Helsinki' };
const confirmUrl = 'https://news.example.com/subscribe/confirm/tok-789';

/** Every key path of a nested strings object, to compare locales. */
function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

describe('SystemMailRenderer', () => {
  const mails = new SystemMailRenderer(org);

  it('renders the double opt-in mail in Finnish', () => {
    const m = mails.renderSystemMail('subscribe-confirm', 'fi', {
      confirmUrl,
      listName: 'Uutiset <b>',
      name: 'Matti',
    });
    expect(m.subject).to.equal('Vahvista tilauksesi: Uutiset <b>');
    expect(m.html).to.include(`href="${confirmUrl}"`).and.include('Vahvista tilaus');
    expect(m.html).to.include('Uutiset &lt;b&gt;').and.not.include('Uutiset <b>');
    expect(m.html).to.include('lang="fi"').and.include(org.name).and.include(org.address);
    expect(m.text).to.include(`Vahvista tilaus [${confirmUrl}]`).and.include('Hei Matti,');
    expect(m.text).to.include('Uutiset <b>').and.include(org.address);
  });

  it('renders the double opt-in mail in English', () => {
    const m = mails.renderSystemMail('subscribe-confirm', 'en', { confirmUrl, listName: 'News' });
    expect(m.subject).to.equal('Please confirm your subscription: News');
    expect(m.html).to.include(`href="${confirmUrl}"`).and.include('lang="en"');
    expect(m.text).to.include(`Confirm subscription [${confirmUrl}]`).and.include('Hello,');
    expect(m.text).to.include(org.name);
  });

  it('renders the unsubscribe confirmation in both locales, for one list or for all', () => {
    const fi = mails.renderSystemMail('unsubscribe-confirm', 'fi', { listName: 'Uutiset' });
    expect(fi.subject).to.equal('Tilaus peruttu');
    expect(fi.text).to.include('tilauksesi listalle Uutiset on peruttu').and.include(org.name);
    const en = mails.renderSystemMail('unsubscribe-confirm', 'en', {
      preferencesUrl: 'https://news.example.com/u/pref',
    });
    expect(en.subject).to.equal('You have been unsubscribed');
    expect(en.text).to.include('unsubscribed from all our marketing mail');
    expect(en.html).to.include('href="https://news.example.com/u/pref"');
  });

  it('compiles each kind and locale once and keeps it', () => {
    let calls = 0;
    const counting: MjmlCompile = (mjml, opts) => {
      calls += 1;
      return (mjml2html as unknown as MjmlCompile)(mjml, opts);
    };
    const fresh = new SystemMailRenderer(org, { compileMjml: counting });
    for (let i = 0; i < 50; i++) {
      fresh.renderSystemMail('subscribe-confirm', 'fi', { confirmUrl, listName: `L${i}` });
      fresh.renderSystemMail('subscribe-confirm', 'en', { confirmUrl, listName: `L${i}` });
    }
    expect(calls).to.equal(2);
    expect(fresh.compileCount).to.equal(2);
  });

  it('passes only declared variables to the template', () => {
    const m = mails.renderSystemMail('subscribe-confirm', 'en', {
      confirmUrl,
      listName: 'News',
      // A caller handing over more than declared must not change the mail.
      ...({ org: { name: 'Spoofed' } } as object),
    });
    expect(m.html).to.include(org.name).and.not.include('Spoofed');
  });

  it('has the same footer and system keys in fi and en', () => {
    const read = (l: string) =>
      JSON.parse(
        readFileSync(path.join(templatesDir, 'i18n', `mail.${l}.json`), 'utf8'),
      ) as unknown;
    expect(keys(read('fi')).sort()).to.deep.equal(keys(read('en')).sort());
  });
});
