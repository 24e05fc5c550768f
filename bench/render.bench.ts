import { performance } from 'node:perf_hooks';
import { MjmlCampaignRenderer } from '../src/campaigns/render/mjml-renderer.js';
import type { RenderVars } from '../src/campaigns/render/types.js';

/** A newsletter of realistic size: header partial, hero, three products, conditional block. */
const product = (n: number) => `
  <mj-section>
    <mj-column width="40%"><mj-image src="https://cdn.example.com/p${n}.jpg" alt="Tuote ${n}" href="https://shop.example.com/p/${n}" /></mj-column>
    <mj-column width="60%">
      <mj-text><h2>Tuote ${n}</h2><p>Kevään uutuus studioon: hiljainen, tarkka ja helppo asentaa. Katso tekniset tiedot ja toimitusajat verkkokaupasta.</p></mj-text>
      <mj-button href="https://shop.example.com/p/${n}?utm_campaign=spring">Katso tuote</mj-button>
    </mj-column>
  </mj-section>`;
const MJML = `<mj-include path="partials/header.mjml" />
<mj-section>
  <mj-column>
    <mj-text><h1>Hei {{subscriber.name}}!</h1>
      <p>Kevään kampanja alkaa nyt{{#if subscriber.attributes.city}} myös myymälässämme ({{subscriber.attributes.city}}){{/if}}.</p>
      {{#if subscriber.attributes.vip}}<p>VIP-asiakkaana saat lisäksi 10 % alennuksen.</p>{{/if}}
    </mj-text>
  </mj-column>
</mj-section>
${[1, 2, 3].map(product).join('\n')}
<mj-section><mj-column><mj-text><p>Etkö halua näitä viestejä? <a href="{{unsubscribeUrl}}">Peru tilaus</a>.</p></mj-text></mj-column></mj-section>`;

export async function run(): Promise<Record<string, number | string>> {
  const renderer = new MjmlCampaignRenderer();
  const source = { subject: '{{subscriber.name}}, kevään uutuudet', mjml: MJML };
  const timed = () => {
    const t0 = performance.now();
    const c = renderer.compile(source);
    return { c, ms: performance.now() - t0 };
  };
  const cold = timed();
  const warm = timed(); // what a campaign start costs once the process has compiled one
  const compiled = warm.c;

  const recipients = 20_000;
  const vars: RenderVars[] = Array.from({ length: recipients }, (_, i) => ({
    subscriber: {
      name: `Asiakas ${i} <Oy>`,
      attributes: (i % 2 ? { city: 'Tampere', vip: i % 10 === 1 } : {}) as Record<
        string,
        string | boolean
      >,
    },
    unsubscribeUrl: `https://news.example.com/u/eyJhbGciOiJIUzI1NiJ9.${i.toString(36)}.sig`,
    preferencesUrl: `https://news.example.com/u/eyJhbGciOiJIUzI1NiJ9.${i.toString(36)}.pref`,
    org: { name: 'Testikauppa Oy', address: 'Testikatu 1, 00100 Helsinki' },
    campaign: { subject: 'Kevät' },
    locale: i % 3 ? 'fi' : 'en',
  }));

  for (let i = 0; i < 500; i++) compiled.render(vars[i]!); // warm-up
  let bytes = 0;
  const start = performance.now();
  for (const v of vars) {
    const m = compiled.render(v);
    bytes += m.html.length + m.text.length;
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    'campaign compile, first in process (ms)': cold.ms,
    'campaign compile, warm (ms)': warm.ms,
    'MJML compilations (two campaigns compiled, 20,000 renders)': renderer.compileCount,
    recipients,
    'renders/s (subject + HTML + text)': recipients / seconds,
    'µs per recipient': (seconds * 1e6) / recipients,
    'average HTML+text size (kB)': bytes / recipients / 1024,
  };
}
