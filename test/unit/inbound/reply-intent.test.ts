import { expect } from 'chai';
import { classifyReply } from '../../../src/inbound/reply-intent/classify.js';
import { evaluate, loadCorpus } from '../../../scripts/eval-replies.js';

type Expected = 'unsubscribe' | 'privacy' | 'ambiguous' | 'other' | 'review';

// Replies written for these tests, apart from the corpus: traps where stop, remove, send or
// cancel mean something else, and requests in forms the corpus lacks. `review`: anything that is
// not acted on (ambiguous or other) is right.
const cases: [Expected, string][] = [
  ['other', 'Voisitteko lähettää uutiskirjeen myös puolisolleni?'],
  ['other', 'Lopettakaa jo nämä hinnankorotukset.'],
  ['other', 'Miksi lopetitte uutiskirjeen? Se oli hyvä.'],
  ['other', 'Uutiskirje ei enää tule minulle, onko jotain vikaa?'],
  ['other', 'I do not get your newsletter anymore, is something broken?'],
  ['other', 'You never send me the newsletter on time.'],
  ['other', 'Please stop by our booth at the fair!'],
  ['other', 'Can you cancel order 11234? I found it cheaper elsewhere.'],
  ['other', 'Avbryt min beställning 5521 tack.'],
  ['other', 'Jag får inte längre ert nyhetsbrev, varför?'],
  ['other', 'Kiitos, uutiskirje on aina odotettu!'],
  ['other', 'The unsubscribe link in your footer is in Finnish, is there an English page?'],
  ['other', 'Remove the scratched cable from my order please.'],
  ['other', 'Poistakaa tilauksestani toinen kaapeli.'],
  ['other', 'Ta bort den ena kabeln från min order.'],
  ['other', 'I will be out of office until Monday with no access to email.'],
  ['other', 'Hyvä tarjous! En kuitenkaan tarvitse uutta mikseriä juuri nyt.'],
  ['other', 'Stop the presses, this deal is amazing!'],
  ['other', 'I removed the old speakers and installed the new ones, works great.'],
  ['other', 'Jag slutade spela trummor i fjol men läser gärna nyhetsbrevet.'],
  ['other', 'Can I get my order delivered to a different address?'],
  ['unsubscribe', 'älkää enää lähettäkö uutiskirjeitänne'],
  ['unsubscribe', 'Kindly stop mailing me.'],
  ['unsubscribe', 'I do not want to receive any more of your emails'],
  ['unsubscribe', 'poistakaa mut teidän postituslistalta'],
  ['unsubscribe', 'Sluta skicka era nyhetsbrev till mig.'],
  ['unsubscribe', 'Jag vill inte ha några fler utskick.'],
  ['unsubscribe', 'en halua enää saada uutiskirjettänne tähän osoitteeseen'],
  ['unsubscribe', 'Ei kiitos, en halua enempää mainoksia.'],
  ['unsubscribe', 'Lopettakaa heti tämä postitus!'],

  ['review', 'Voitteko poistaa vanhan osoitteeni ja käyttää tätä uutta? Uutiskirje on kiva.'],
  ['other', 'Lähettäkää lasku sähköpostiin, ei paperilla.'],
  ['other', 'Ei kiitos tällä kertaa, mutta ensi kuussa ehkä tilaan.'],
  ['other', 'En ole saanut tilaamiani kaiuttimia, missä viipyy?'],
  ['other', 'Poistitteko tuotteen valikoimasta? En löydä sitä enää.'],
  ['other', 'Why did my order get cancelled? I did not cancel it.'],
  ['other', 'No thanks for now, maybe next month.'],
  ['other', 'I do not want the extended warranty, just the speakers.'],
  ['other', 'Tack, men jag behöver inte någon ny förstärkare just nu.'],
  ['other', 'Kan ni skicka fakturan igen? Jag hittar den inte.'],
  ['other', "Don't send the package before Friday, I am away."],
  ['other', 'Älkää lähettäkö pakettia ennen perjantaita, olen matkoilla.'],
  ['other', 'Skicka inte paketet förrän på fredag.'],
  ['other', 'Lopetatteko Genelecin myynnin kokonaan?'],
  ['other', 'Hur tar jag bort ett kort från mitt konto i webbutiken?'],
  ['other', 'How do I remove an item from my cart?'],
  ['review', 'Stop! This is the best newsletter ever.'],
  ['other', 'Onko tämä uutiskirje lopetettu? Edellinen tuli kauan sitten.'],
  ['other', 'Miten poistan tuotteen ostoskorista?'],
  ['unsubscribe', 'I would like to be removed from your mailing list.'],
  ['unsubscribe', 'Haluaisin, että poistatte minut listaltanne.'],
  ['unsubscribe', 'Vänligen avsluta mina utskick.'],
  ['unsubscribe', 'no more marketing thx'],
  ['unsubscribe', 'Älä enää laita mitään uutiskirjeitä.'],

  ['other', 'I unsubscribed by accident, can you add me back?'],
  ['other', 'Peruin vahingossa tilauksen, voitteko lisätä minut takaisin?'],
  ['other', 'Miksi poistitte minut listalta?'],
  ['review', 'Stop sending me paper catalogues, the emails are fine.'],
  ['review', 'Lopettakaa paperiluettelon lähettäminen, sähköposti riittää.'],
  ['unsubscribe', 'en todellakaan halua enää ikinä saada mitään teidän typeriä mainoksianne'],
  ['unsubscribe', 'I really do not ever want to get any of your silly emails again'],
  ['unsubscribe', 'Älkää ikinä enää lähettäkö mitään'],
  ['unsubscribe', 'Jag vill absolut inte få fler mejl'],
  ['unsubscribe', 'en missään nimessä halua teidän uutiskirjettänne'],
  ['unsubscribe', 'Poistakaa minut heti postituslistaltanne tai teen valituksen.'],
  ['unsubscribe', 'tätä roskapostia en halua'],
  [
    'review',
    'Kiitos, mutta en ole kiinnostunut tästä tarjouksesta. Onko teillä Genelecin kaiuttimia?',
  ],
  ['review', 'Ei kiitos, tarjous ei kiinnosta.'],
  ['review', 'No thanks, not interested in the offer.'],
  ['review', 'Nej tack, jag är inte intresserad av erbjudandet.'],
  ['review', 'Kiitos uutiskirjeestä. Lopettakaa se ärsyttävä musiikki videoilla.'],
  ['other', 'Please stop the order, I changed my mind.'],
  ['other', 'Could you remove the VAT from the invoice? We are a company.'],
  ['other', 'Just wanted to say thanks, no need to reply.'],
  ['other', 'No need to send the catalogue, I have it.'],
  ['other', 'Please do not reply to this automated message.'],
  ['review', "Please don't send me the invoice by mail, email is fine."],
  ['review', "Please don't email me on weekends."],
  ['review', 'Älkää lähettäkö enää paperilaskua.'],
  ['other', 'En halua tilata mitään juuri nyt.'],
  ['other', 'En halua enää ostaa teiltä mitään, palvelu oli surkeaa.'],
  ['other', 'Miksi uutiskirje lopetettiin?'],
  ['other', 'Perukaa varaukseni.'],
  ['review', 'Peru tilaus nro 4412'],
  ['review', 'Haluaisin perua tilauksen, jonka tein eilen.'],
  ['review', 'Avsluta inte min order!'],
  ['review', 'Sluta ringa mig!'],
  ['other', 'Kan ni sluta skicka påminnelser om fakturan?'],
  ['other', 'Ta bort varan från kundvagnen.'],
  ['other', 'Jag har tagit bort appen.'],
  ['other', 'I am on leave until September and will not read email.'],
  ['review', 'Please remove my old address and use anna@example.com instead.'],
  ['other', "Why didn't I get the newsletter this month?"],
  ['other', 'Varför fick jag inget nyhetsbrev den här månaden?'],
  ['other', 'Ettekö enää myy Genelecin kaiuttimia?'],
  ['other', 'Lähettäkää uutiskirje jatkossa työosoitteeseeni, vanha poistuu käytöstä.'],
  ['other', 'Please remove the cable I added yesterday, the basket is wrong.'],
  ['other', 'Uutiskirjeen perusteella tilasin kaiuttimet, kiitos vinkistä!'],
  ['other', 'Avslutningsvis vill jag tacka för nyhetsbrevet.'],
  ['other', 'Det står i nyhetsbrevet att man kan avbryta köpet inom 14 dagar, stämmer det?'],
  ['review', 'The newsletter says you can unsubscribe any time.'],
  ['unsubscribe', 'Can you unsubscribe me?'],
  ['unsubscribe', 'Kan ni avsluta min prenumeration?'],
  ['unsubscribe', 'Please do not ever email me again.'],
  ['ambiguous', 'Älkää lopettako uutiskirjettä!'],
  ['ambiguous', 'If the prices go up again I will unsubscribe.'],
  ['ambiguous', 'Peruutan tilauksen 77812.'],
  ['ambiguous', 'Remove my husband from the list please.'],
  ['ambiguous', 'Ta inte bort mig från listan.'],
];

describe('reply intent classifier', () => {
  describe('on the corpus', () => {
    const corpus = loadCorpus();
    const heldOut = corpus.filter((i) => i.split === 'test');

    it('has at least 300 replies in Finnish, Swedish and English with a held-out third', () => {
      expect(corpus.length).to.be.at.least(300);
      for (const lang of ['fi', 'sv', 'en'])
        expect(corpus.some((i) => i.lang === lang)).to.equal(true);
      expect(heldOut.length / corpus.length).to.be.within(0.3, 0.37);
      expect(new Set(corpus.map((i) => i.id)).size).to.equal(corpus.length);
      // A held-out reply that is also a training reply would measure nothing.
      const train = new Set(
        corpus.filter((i) => i.split === 'train').map((i) => i.text.toLowerCase()),
      );
      expect(heldOut.filter((i) => train.has(i.text.toLowerCase()))).to.deep.equal([]);
    });

    it('keeps the split rule: every third reply of a language and label is held out', () => {
      const seen = new Map<string, number>();
      for (const item of corpus) {
        const k = seen.get(`${item.lang}:${item.label}`) ?? 0;
        seen.set(`${item.lang}:${item.label}`, k + 1);
        expect(item.split, item.id).to.equal(k % 3 === 2 ? 'test' : 'train');
      }
    });

    it('unsubscribes with precision ≥ 0.99 and recall ≥ 0.95 on the held-out part', () => {
      const e = evaluate(heldOut);
      expect(e.precision, 'precision').to.be.at.least(0.99);
      expect(e.recall, 'recall').to.be.at.least(0.95);
    });

    it('acts on no reply labelled ambiguous, held-out or not', () => {
      expect(evaluate(corpus).ambiguousActedOn).to.equal(0);
    });
  });

  describe('on replies outside the corpus', () => {
    for (const [expected, text] of cases) {
      it(`${expected}: ${JSON.stringify(text)}`, () => {
        const v = classifyReply(text);
        if (expected === 'review') expect(v.intent, v.reason).to.be.oneOf(['ambiguous', 'other']);
        else expect(v.intent, v.reason).to.equal(expected);
      });
    }
  });

  it('gives the same verdict and reason every time, naming the words that decided', () => {
    const text = 'Hei, en halua enää saada teidän uutiskirjeitänne. Terveisin Pirjo';
    const first = classifyReply(text);
    expect(first).to.deep.equal({
      intent: 'unsubscribe',
      reason: 'does not want the mail: "en … halua … uutiskirjeitänne"',
    });
    expect(classifyReply(text)).to.deep.equal(first);
    expect(classifyReply('Peruuta tilaus 48213, tuli väärä koko.')).to.deep.equal({
      intent: 'ambiguous',
      reason: '"tilaus" may be an order: "peruuta … tilaus … 48213"',
    });
  });

  it('reads folded diacritics and inflections as the same words', () => {
    for (const text of [
      'En halua enää uutiskirjeitä',
      'en halua enaa uutiskirjeita',
      'EN HALUA ENÄÄ UUTISKIRJEITÄNNE',
      'en halua enää teidän uutiskirjettänne',
    ])
      expect(classifyReply(text).intent, text).to.equal('unsubscribe');
  });

  it('tells erasure from access among privacy requests', () => {
    expect(classifyReply('Poistakaa kaikki tietoni.')).to.include({
      intent: 'privacy',
      privacy: 'erasure',
    });
    expect(classifyReply('Vilka uppgifter har ni om mig?')).to.include({
      intent: 'privacy',
      privacy: 'access',
    });
  });

  it("ignores addresses and links, whose words are nobody's request", () => {
    expect(classifyReply('Kiitos! https://news.example.com/unsubscribe/stop').intent).to.equal(
      'other',
    );
    expect(classifyReply('Kiitos! unsubscribe@example.com').intent).to.equal('other');
  });

  it('reads no more than the first 4000 characters', () => {
    expect(classifyReply(`${'Kiitos. '.repeat(600)}Unsubscribe me.`).intent).to.equal('other');
  });
});
