import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { makeList, makePerson } from './fixtures.js';

/** A mail provider's one-click POST asks for no language: the answer is in the subscriber's. */
describe('one-click answer page language', () => {
  let t: TestApp;
  let list: string;
  before(async () => {
    t = await bootApp();
    list = await makeList(t, 'Uutiskirje');
  });
  after(async () => t.close());

  const oneClick = (subscriberId: string, acceptLanguage?: string) => {
    const req = t.http
      .post(`/u/${t.services.tokens.sign('unsubscribe', { subscriberId, listId: list })}`)
      .type('form')
      .send('List-Unsubscribe=One-Click');
    return (acceptLanguage ? req.set('Accept-Language', acceptLanguage) : req).expect(200);
  };

  it('an English subscriber gets English, a Finnish one Finnish, whatever the client sends', async () => {
    const english = await makePerson(t, [list], { locale: 'en' });
    const en = await oneClick(english.id);
    expect(en.text).to.contain('You have been unsubscribed');
    expect(en.text).to.match(/<html lang="en"/);

    const finnish = await makePerson(t, [list], { locale: 'fi' });
    const fi = await oneClick(finnish.id, 'en-GB,en;q=0.9');
    expect(fi.text).to.contain('Tilaus on peruttu');
  });

  it('without a locale of its own (Swedish has no pages yet) the client language decides', async () => {
    const swede = await makePerson(t, [list], { locale: 'sv' });
    const res = await oneClick(swede.id, 'en');
    expect(res.text).to.contain('You have been unsubscribed');
  });
});
