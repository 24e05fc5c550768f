import { expect } from 'chai';
import { trackLinks } from '../../../../src/campaigns/render/links.js';
import { MjmlCampaignRenderer } from '../../../../src/campaigns/render/mjml-renderer.js';
import type { RenderVars } from '../../../../src/campaigns/render/types.js';

const clickUrl = (i: number) => `https://news.example.com/r/T${i}`;
const off = () => null;

describe('trackLinks', () => {
  it('wraps each distinct http(s) link by its index, decoding entities once', () => {
    const html =
      '<a href="https://a.example.com/x?p=1&amp;q=2">A</a> <a class="b" href=\'http://b.example.com/\'>B</a> <a href="https://a.example.com/x?p=1&amp;q=2">A again</a>';
    const out = trackLinks(html, { clickUrl, openUrl: null });
    expect(out.links).to.deep.equal(['https://a.example.com/x?p=1&q=2', 'http://b.example.com/']);
    expect(out.html).to.equal(
      '<a href="https://news.example.com/r/T0">A</a> <a class="b" href="https://news.example.com/r/T1">B</a> <a href="https://news.example.com/r/T0">A again</a>',
    );
  });

  it('never wraps a per-person link, mailto, anchors or other schemes', () => {
    const html =
      '<a href="{{unsubscribeUrl}}">U</a><a href="https://shop.example.com/?c={{subscriber.attributes.city}}">C</a><a href="mailto:x@example.com">M</a><a href="#top">T</a><a href="javascript:alert(1)">J</a>';
    const out = trackLinks(html, { clickUrl, openUrl: null });
    expect(out.links).to.deep.equal([]);
    expect(out.html).to.equal(html);
  });

  it('lists links without wrapping when click tracking is off; adds the pixel before </body>', () => {
    const html = '<html><body><a href="https://a.example.com/">A</a></body></html>';
    const out = trackLinks(html, { clickUrl: off, openUrl: 'https://news.example.com/o/P' });
    expect(out.links).to.deep.equal(['https://a.example.com/']);
    expect(out.html).to.match(
      /^<html><body><a href="https:\/\/a\.example\.com\/">A<\/a><img src="https:\/\/news\.example\.com\/o\/P" width="1" height="1" alt=""[^>]*\/><\/body><\/html>$/,
    );
  });
});

describe('MjmlCampaignRenderer with tracking', () => {
  const vars: RenderVars = {
    subscriber: { name: 'Matti', attributes: {} },
    unsubscribeUrl: 'https://news.example.com/u/tok-123',
    preferencesUrl: 'https://news.example.com/u/pref-456',
    org: { name: 'Testikauppa Oy', address: 'Testikatu 1' },
    campaign: { subject: 'Kevät' },
    locale: 'fi',
  };
  const mjml =
    '<mj-section><mj-column><mj-button href="https://shop.example.com/sale">Osta</mj-button></mj-column></mj-section>';

  it('wraps the HTML part only; footer links stay the person’s own; the text keeps the URL', () => {
    const compiled = new MjmlCampaignRenderer().compile({
      subject: 'S',
      mjml,
      tracking: { clickUrl, openUrl: null },
    });
    expect(compiled.links).to.deep.equal(['https://shop.example.com/sale']);
    const mail = compiled.render(vars);
    expect(mail.html).to.include('href="https://news.example.com/r/T0"');
    expect(mail.html).to.not.include('https://shop.example.com/sale');
    expect(mail.html).to.include('https://news.example.com/u/tok-123');
    expect(mail.text).to.include('https://shop.example.com/sale');
  });
});
