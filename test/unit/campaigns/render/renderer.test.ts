import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mjml2html from 'mjml';
import type { MjmlCompile } from '../../../../src/campaigns/render/mail-compiler.js';
import { MjmlCampaignRenderer } from '../../../../src/campaigns/render/mjml-renderer.js';
import type { RenderVars } from '../../../../src/campaigns/render/types.js';
import { AppError } from '../../../../src/shared/errors.js';
import { templatesDir } from '../../../../src/shared/paths.js';

const vars = (over: Partial<RenderVars> = {}): RenderVars => ({
  subscriber: { name: 'Matti', attributes: { city: 'Turku', vip: true } },
  unsubscribeUrl: 'https://news.example.com/u/tok-123',
  preferencesUrl: 'https://news.example.com/u/pref-456',
  org: { name: 'Testikauppa Oy', address: 'Testikatu 1, 00100 Helsinki' },
  campaign: { subject: 'Kevät' },
  locale: 'fi',
  ...over,
});

const section = (inner: string) =>
  `<mj-section>\n  <mj-column>\n    ${inner}\n  </mj-column>\n</mj-section>`;

/** The AppError a call throws; fails the test when it does not throw one. */
function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  expect.fail('expected an AppError');
}

type IssueList = Array<{ line: number; message: string; tagName?: string | null; file?: string }>;
const issues = (err: AppError) => (err.details as { errors: IssueList }).errors;

describe('MjmlCampaignRenderer', () => {
  const renderer = new MjmlCampaignRenderer();

  it('personalises subject, HTML and text; HTML-escapes values only in HTML', () => {
    const c = renderer.compile({
      subject: 'Hei {{subscriber.name}} – {{campaign.subject}}',
      mjml: section(
        '<mj-text><p>Hei {{subscriber.name}} from {{subscriber.attributes.city}}</p>' +
          '{{#if subscriber.attributes.vip}}<p>VIP offer</p>{{/if}}</mj-text>',
      ),
    });
    const evil = '<script>alert(1)</script> & "Bob"';
    const m = c.render(vars({ subscriber: { name: evil, attributes: { city: 'Oulu' } } }));
    expect(m.subject).to.equal(`Hei ${evil} – Kevät`);
    expect(m.html).to.include('Hei &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;');
    expect(m.html).not.to.include('<script>alert(1)');
    expect(m.html).to.include('from Oulu');
    expect(m.html).not.to.include('VIP offer');
    expect(m.text).to.include(`Hei ${evil} from Oulu`);
    expect(c.render(vars()).html).to.include('VIP offer');
  });

  it('keeps {{unsubscribeUrl}} in href attributes of mj-button, mj-image and <a> through MJML', () => {
    const c = renderer.compile({
      subject: 's',
      mjml: section(
        '<mj-button href="{{unsubscribeUrl}}">Stop</mj-button>\n' +
          '<mj-image src="https://cdn.example.com/a.png" href="{{preferencesUrl}}" />\n' +
          '<mj-text><a href="{{unsubscribeUrl}}">own link</a></mj-text>',
      ),
    });
    const html = c.render(vars()).html;
    // Button, own link and footer link.
    expect(html.split('href="https://news.example.com/u/tok-123"')).to.have.length(4);
    expect(html.split('href="https://news.example.com/u/pref-456"')).to.have.length(3);
    expect(html).not.to.include('{{');
  });

  it('escapes URL values inside attributes so they cannot break out', () => {
    const c = renderer.compile({ subject: 's', mjml: section('<mj-text>x</mj-text>') });
    const html = c.render(vars({ unsubscribeUrl: 'https://x.example/u/a"><script>' })).html;
    expect(html).to.include('href="https://x.example/u/a&quot;&gt;&lt;script&gt;"');
  });

  for (const locale of ['fi', 'en'] as const) {
    it(`adds the footer (operator, unsubscribe, preferences) in ${locale} when the template forgets it`, () => {
      const c = renderer.compile({ subject: 's', mjml: section('<mj-text>Only news</mj-text>') });
      const m = c.render(vars({ locale }));
      const [unsub, prefs] =
        locale === 'fi'
          ? ['Peru tilaus', 'Muuta tilausasetuksia']
          : ['Unsubscribe', 'Manage your subscriptions'];
      expect(m.html).to.match(
        new RegExp(`href="https://news.example.com/u/tok-123"[^>]*>${unsub}</a>`),
      );
      expect(m.html).to.match(
        new RegExp(`href="https://news.example.com/u/pref-456"[^>]*>${prefs}</a>`),
      );
      expect(m.html).to.include('Testikauppa Oy').and.to.include('Testikatu 1, 00100 Helsinki');
      expect(m.html).to.include(`lang="${locale}"`);
      expect(m.text).to.include(`${unsub} [https://news.example.com/u/tok-123]`);
      expect(m.text).to.include(`${prefs} [https://news.example.com/u/pref-456]`);
      expect(m.text).to.include('Testikauppa Oy').and.to.include('Testikatu 1, 00100 Helsinki');
    });
  }

  it('injects the footer into a full <mjml> document and keeps its own sections', () => {
    const c = renderer.compile({
      subject: 's',
      mjml: `<mjml>\n<mj-body>\n${section('<mj-text>Full doc {{subscriber.name}}</mj-text>')}\n</mj-body>\n</mjml>`,
    });
    const m = c.render(vars({ locale: 'en' }));
    expect(m.html).to.include('Full doc Matti');
    expect(m.html.indexOf('Full doc')).to.be.lessThan(m.html.indexOf('>Unsubscribe</a>'));
    expect(m.text).to.include('Unsubscribe [https://news.example.com/u/tok-123]');
    expect(m.text).to.include('Testikauppa Oy');
  });

  it('refuses a template whose markup swallows the footer', () => {
    for (const mjml of [
      '<mj-raw><!--</mj-raw>',
      '<mj-raw><div style="display:none"></mj-raw>',
      section('<mj-text><style></mj-text>'),
    ]) {
      const err = refusal(() => renderer.compile({ subject: 's', mjml }));
      expect(err.status).to.equal(400);
      expect(err.message).to.match(/footer/);
    }
  });

  it('renders the personalised unsubscribe URL in the text part, links as "text [url]"', () => {
    const c = renderer.compile({
      subject: 's',
      mjml: section('<mj-text><a href="https://shop.example.com/spring">Spring sale</a></mj-text>'),
    });
    const a = c.render(vars({ unsubscribeUrl: 'https://news.example.com/u/aaa' })).text;
    const b = c.render(vars({ unsubscribeUrl: 'https://news.example.com/u/bbb' })).text;
    expect(a).to.include('Spring sale [https://shop.example.com/spring]');
    expect(a).to.include('[https://news.example.com/u/aaa]').and.not.include('bbb');
    expect(b).to.include('[https://news.example.com/u/bbb]');
  });

  it('renders a missing attribute as empty', () => {
    const c = renderer.compile({
      subject: '{{subscriber.attributes.nope}}x',
      mjml: section('<mj-text>[{{subscriber.attributes.nope}}]</mj-text>'),
    });
    const m = c.render(vars());
    expect(m.subject).to.equal('x');
    expect(m.html).to.include('[]');
  });

  it('keeps the subject on one line: CR/LF in values become spaces, in the source a 400', () => {
    const c = renderer.compile({
      subject: 'Hei {{subscriber.name}}!',
      mjml: section('<mj-text>x</mj-text>'),
    });
    const m = c.render(
      vars({ subscriber: { name: 'A\r\nBcc: victim@example.com', attributes: {} } }),
    );
    expect(m.subject).to.equal('Hei A Bcc: victim@example.com!');
    expect(m.subject).not.to.match(/[\r\n]/);
    const err = refusal(() =>
      renderer.compile({ subject: 'a\r\nBcc: x', mjml: section('<mj-text>x</mj-text>') }),
    );
    expect(err.status).to.equal(400);
  });

  describe('refuses unsafe or unknown template code with a 400', () => {
    const cases: Array<[string, string]> = [
      ['unknown variable', '{{subscriber.email}}'],
      ['unknown top-level variable', '{{password}}'],
      ['constructor', '{{subscriber.constructor}}'],
      ['attribute constructor', '{{subscriber.attributes.constructor}}'],
      ['__proto__', '{{__proto__}}'],
      ['attribute __proto__', '{{subscriber.attributes.__proto__}}'],
      ['lookup helper', '{{lookup subscriber "constructor"}}'],
      ['each helper', '{{#each subscriber}}{{this}}{{/each}}'],
      ['with helper', '{{#with subscriber}}{{name}}{{/with}}'],
      ['log helper', '{{log subscriber}}'],
      ['sub-expression', '{{#if (lookup subscriber "name")}}x{{/if}}'],
      ['partial', '{{> footer}}'],
      ['triple-stash', '{{{subscriber.name}}}'],
      ['ampersand unescape', '{{& subscriber.name}}'],
      ['@root data', '{{@root.subscriber.name}}'],
      ['this', '{{this.unsubscribeUrl}}'],
      ['parent path', '{{#if subscriber.name}}{{../unsubscribeUrl}}{{/if}}'],
      ['footer strings', '{{mail.footer.unsubscribe}}'],
      ['bracket segment', '{{subscriber.[constructor]}}'],
      ['syntax error', '{{#if subscriber.name}}unclosed'],
    ];
    for (const [name, code] of cases) {
      it(name, () => {
        const err = refusal(() =>
          renderer.compile({ subject: 's', mjml: section(`<mj-text>\n${code}\n</mj-text>`) }),
        );
        expect(err.status).to.equal(400);
        expect(err.code).to.equal('validation_failed');
        // The parse error of an unclosed block points where the input ends.
        if (name !== 'syntax error') expect(issues(err)[0]!.line).to.equal(4);
      });
    }

    it('in the subject too', () => {
      const err = refusal(() =>
        renderer.compile({
          subject: '{{subscriber.constructor}}',
          mjml: section('<mj-text>x</mj-text>'),
        }),
      );
      expect(err.status).to.equal(400);
      expect(err.message).to.match(/subject/);
    });
  });

  it('reports invalid MJML with the line numbers of the author source', () => {
    const mjml = [
      '<mj-section>', // 1
      '  <mj-column>', // 2
      '    <mj-text>ok</mj-text>', // 3
      '    <mj-bogus>x</mj-bogus>', // 4
      '    <mj-button href="https://x.example" bogus-attr="1">b</mj-button>', // 5
      '  </mj-column>', // 6
      '</mj-section>', // 7
    ].join('\n');
    const err = refusal(() =>
      renderer.compile({
        subject: 's',
        mjml: '<mj-include path="partials/header.mjml" />\n' + mjml,
      }),
    );
    expect(err.status).to.equal(400);
    const list = issues(err);
    expect(list.map((e) => [e.line, e.tagName, e.file])).to.deep.include.members([
      [5, 'mj-bogus', undefined],
      [6, 'mj-button', undefined],
    ]);
    expect(list.find((e) => e.tagName === 'mj-button')!.message).to.match(/bogus-attr/);
    expect(err.message).to.match(/line 5/);
  });

  it('includes partials from templates/', () => {
    const c = renderer.compile({
      subject: 's',
      mjml:
        '<mj-include path="partials/header.mjml" />\n' + section('<mj-text>Body marker</mj-text>'),
    });
    const html = c.render(vars()).html;
    expect(html.indexOf('Testikauppa Oy')).to.be.lessThan(html.indexOf('Body marker'));
  });

  describe('mj-include reads only inside templates/', () => {
    let dir: string;
    let outside: string;
    let sandboxed: MjmlCampaignRenderer;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'kirje-tpl-'));
      cpSync(templatesDir, path.join(dir, 'templates'), { recursive: true });
      outside = path.join(dir, 'secret.mjml');
      writeFileSync(outside, section('<mj-text>SECRET</mj-text>'));
      symlinkSync(outside, path.join(dir, 'templates', 'partials', 'link-out.mjml'));
      symlinkSync(dir, path.join(dir, 'templates', 'partials', 'dir-out'));
      sandboxed = new MjmlCampaignRenderer({ templatesDir: path.join(dir, 'templates') });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const bad: Array<[string, string]> = [
      ['relative traversal', '../secret.mjml'],
      ['deep traversal', '../../../../../../etc/passwd'],
      ['traversal via partials', 'partials/../../secret.mjml'],
      ['absolute path outside', '/etc/passwd'],
      ['symlinked file pointing out', 'partials/link-out.mjml'],
      ['symlinked directory pointing out', 'partials/dir-out/secret.mjml'],
      ['missing file', 'partials/none.mjml'],
      ['css include', 'partials/head.mjml" type="css'],
      ['entity-encoded path', '&#46;&#46;/secret.mjml'],
    ];
    for (const [name, p] of bad) {
      it(name, () => {
        const err = refusal(() =>
          sandboxed.compile({ subject: 's', mjml: `<mj-include path="${p}" />` }),
        );
        expect(err.status).to.equal(400);
        expect(issues(err)[0]!.tagName).to.equal('mj-include');
      });
    }

    it('an absolute path outside, given as the absolute path of the secret file', () => {
      const err = refusal(() =>
        sandboxed.compile({ subject: 's', mjml: `<mj-include path='${outside}'/>` }),
      );
      expect(err.status).to.equal(400);
    });

    it('a malformed tag', () => {
      const err = refusal(() =>
        sandboxed.compile({ subject: 's', mjml: '<mj-include path="../secret.mjml"' }),
      );
      expect(err.status).to.equal(400);
    });

    it('a cycle', () => {
      writeFileSync(
        path.join(dir, 'templates', 'partials', 'loop.mjml'),
        '<mj-include path="./loop.mjml" />',
      );
      const err = refusal(() =>
        sandboxed.compile({ subject: 's', mjml: '<mj-include path="partials/loop.mjml" />' }),
      );
      expect(err.status).to.equal(400);
    });
  });

  it('compiles MJML once for a campaign rendered to 1,000 recipients', () => {
    let calls = 0;
    const counting: MjmlCompile = (mjml, opts) => {
      calls += 1;
      return (mjml2html as unknown as MjmlCompile)(mjml, opts);
    };
    const r = new MjmlCampaignRenderer({ compileMjml: counting });
    const c = r.compile({
      subject: 'Hei {{subscriber.name}}',
      mjml: section('<mj-text>Hei {{subscriber.name}}</mj-text>'),
    });
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const m = c.render(
        vars({
          subscriber: { name: `Person ${i}`, attributes: {} },
          unsubscribeUrl: `https://news.example.com/u/t${i}`,
        }),
      );
      seen.add(m.html);
      expect(m.text).to.include(`[https://news.example.com/u/t${i}]`);
    }
    expect(seen.size).to.equal(1000);
    expect(calls).to.equal(1);
    expect(r.compileCount).to.equal(1);
  });
});
