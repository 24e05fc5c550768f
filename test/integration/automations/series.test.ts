import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { confirmLink, makeList } from '../subscribe/helpers.js';

const section = (text: string) =>
  `<mj-section><mj-column><mj-text>${text} {{subscriber.name}}</mj-text></mj-column></mj-section>`;

/**
 * Automations in the real app on FerretDB, mailing a real SMTP sink; time is the injected clock,
 * and the runner is driven by its own tick(), as the service's loop would.
 */
describe('automations: series of mails', function () {
  let t: TestApp;
  let sink: SmtpSink;
  const bearer = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({ smtpUrl: sink.url });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });
  beforeEach(() => {
    sink.messages.length = 0;
  });
  // Each test's automations stop with it, so they do not answer the next test's events.
  afterEach(async () => {
    const { items } = (await t.http.get('/api/v1/automations').set(bearer()).expect(200)).body as {
      items: Array<{ id: string; status: string }>;
    };
    for (const a of items.filter((a) => a.status === 'active'))
      await t.http.post(`/api/v1/automations/${a.id}/pause`).set(bearer()).send({}).expect(200);
  });

  const template = async (name: string, subject: string) =>
    (
      await t.http
        .post('/api/v1/templates')
        .set(bearer())
        .send({ name: `${name}-${Math.random()}`, subject, mjml: section(subject) })
        .expect(201)
    ).body as { id: string };

  const automation = async (body: Record<string, unknown>) => {
    const res = await t.http.post('/api/v1/automations').set(bearer()).send(body);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const id = (res.body as { id: string }).id;
    await t.http.post(`/api/v1/automations/${id}/activate`).set(bearer()).send({}).expect(200);
    return id;
  };

  /** Runs the runner until it has nothing left to do now. */
  const settle = async () => {
    for (let round = 0; round < 20 && (await t.services.automationRunner.tick()); round++);
  };

  const welcomeSeries = async () => {
    const list = await createList(t);
    const welcome = await template('welcome', 'Tervetuloa');
    const second = await template('second', 'Toinen kirje');
    const id = await automation({
      name: 'Welcome',
      trigger: { type: 'list_joined', list: list.id },
      steps: [
        { type: 'send', templateId: welcome.id },
        { type: 'wait', duration: 'P2D' },
        { type: 'send', templateId: second.id },
      ],
    });
    return { list, id };
  };

  it('sends the welcome mail on joining, step two after the wait, and each once', async () => {
    const { list, id } = await welcomeSeries();
    const person = await createSubscriber(t, { name: 'Aino', lists: [list.id] });
    await settle();
    const [welcome] = await sink.waitFor(1);
    expect(welcome!.rcptTo).to.deep.equal([person.email]);
    expect(welcome!.parsed.subject).to.equal('Tervetuloa');
    // The same headers, links and tokens as campaign mail.
    const header = (name: string) =>
      welcome!.parsed.headerLines.find((h) => h.key === name)?.line ?? '';
    expect(header('list-unsubscribe-post')).to.match(/: List-Unsubscribe=One-Click$/);
    const unsubscribe = header('list-unsubscribe');
    expect(unsubscribe).to.match(/<https:\/\/news\.example\.com\/u\/[^>]+>/);
    expect(unsubscribe).to.match(/<mailto:unsubscribe\+[a-z2-7]{52}@news\.example\.com/);
    expect(header('list-id')).to.contain(`<${list.slug}.news.example.com>`);
    expect(welcome!.mailFrom).to.match(/^bounces\+[a-z2-7]{52}@news\.example\.com$/);
    expect(welcome!.parsed.text).to.contain('https://news.example.com/u/');
    expect(welcome!.raw.toString()).not.to.contain(encodeURIComponent(person.email));

    // Nothing more before the wait is over.
    t.clock.advance(47 * 3600_000);
    await settle();
    expect(sink.messages).to.have.length(1);
    t.clock.advance(2 * 3600_000);
    await settle();
    const messages = await sink.waitFor(2);
    expect(messages[1]!.parsed.subject).to.equal('Toinen kirje');
    expect(messages[1]!.parsed.messageId).not.to.equal(welcome!.parsed.messageId);

    t.clock.advanceDays(30);
    await settle();
    expect(sink.messages).to.have.length(2);
    const stats = (await t.http.get(`/api/v1/automations/${id}/stats`).set(bearer()).expect(200))
      .body as {
      enrolments: Record<string, number>;
      steps: Array<{ counts: Record<string, number> }>;
    };
    expect(stats.enrolments).to.deep.equal({ active: 0, completed: 1, exited: 0 });
    expect(stats.steps.map((s) => s.counts)).to.deep.equal([
      { sent: 1 },
      { waited: 1 },
      { sent: 1 },
    ]);
  });

  it('stops the series when the person unsubscribes between the mails', async () => {
    const { list, id } = await welcomeSeries();
    const person = await createSubscriber(t, { lists: [list.id] });
    await settle();
    const [welcome] = await sink.waitFor(1);
    // The person's own one-click unsubscribe from the welcome mail's header.
    const line = welcome!.parsed.headerLines.find((h) => h.key === 'list-unsubscribe')!.line;
    const url = new URL(/<(https:[^>]+)>/.exec(line)![1]!);
    await t.http.post(url.pathname).type('form').send('List-Unsubscribe=One-Click').expect(200);
    t.clock.advanceDays(3);
    await settle();
    expect(sink.to(person.email)).to.have.length(1);
    const stats = (await t.http.get(`/api/v1/automations/${id}/stats`).set(bearer()).expect(200))
      .body as { enrolments: Record<string, number>; exits: Record<string, number> };
    expect(stats.enrolments.exited).to.equal(1);
    expect(stats.exits).to.deep.equal({ unsubscribed: 1 });
  });

  it('mails nobody erased between the steps, and keeps no trace of them in the automation', async () => {
    const { list, id } = await welcomeSeries();
    const person = await createSubscriber(t, { lists: [list.id] });
    await settle();
    await sink.waitFor(1);
    await t.http
      .post('/api/v1/privacy/subjects/erase')
      .set(bearer())
      .send({ email: person.email })
      .expect(200);
    t.clock.advanceDays(3);
    await settle();
    expect(sink.to(person.email)).to.have.length(1);
    const stats = (await t.http.get(`/api/v1/automations/${id}/stats`).set(bearer()).expect(200))
      .body as { enrolments: Record<string, number>; steps: Array<{ counts: object }> };
    expect(stats.enrolments).to.deep.equal({ active: 0, completed: 0, exited: 0 });
    expect(stats.steps.map((s) => s.counts)).to.deep.equal([{}, {}, {}]);
  });

  it('sends the first-order mail once even when the shop posts the order twice', async () => {
    const thanks = await template('thanks', 'Kiitos tilauksesta');
    await automation({
      name: 'First order',
      trigger: { type: 'first_order' },
      steps: [{ type: 'send', templateId: thanks.id }],
    });
    const person = await createSubscriber(t);
    const order = {
      externalId: `order-${Math.random()}`,
      email: person.email,
      orderedAt: t.clock.now().toISOString(),
      total: '19.90',
      currency: 'EUR',
      categories: ['shoes'],
    };
    await t.http.post('/api/v1/orders').set(bearer()).send(order).expect(200);
    await t.http.post('/api/v1/orders').set(bearer()).send(order).expect(200);
    await settle();
    await t.http.post('/api/v1/orders').set(bearer()).send(order).expect(200);
    await settle();
    await sink.waitFor(1);
    // A second, later order is no first order.
    await t.http
      .post('/api/v1/orders')
      .set(bearer())
      .send({ ...order, externalId: `order-${Math.random()}` })
      .expect(200);
    await settle();
    expect(sink.to(person.email).map((m) => m.parsed.subject)).to.deep.equal([
      'Kiitos tilauksesta',
    ]);
  });

  /**
   * A double opt-in list welcoming each confirmed person with `subject`, and a sign-up by its form:
   * the address and the confirmation mail it got.
   */
  const signUpToWelcomingList = async (name: string, subject: string) => {
    const list = await makeList(t, { doubleOptIn: true });
    const welcome = await template(name, subject);
    await automation({
      name: `Welcome: ${name}`,
      trigger: { type: 'list_joined', list: list.id },
      steps: [{ type: 'send', templateId: welcome.id }],
    });
    const address = `${name}-${Math.random().toString(36).slice(2)}@example.com`;
    await t.http
      .post('/subscribe')
      .type('form')
      .send({ email: address, list: list.slug, consent: 'yes' })
      .expect(200);
    await t.services.subscribe.drain();
    await settle();
    return { address, confirmation: sink.to(address)[0] };
  };

  it('on a double opt-in list, welcomes only after the person confirms', async () => {
    const { address, confirmation } = await signUpToWelcomingList(
      'welcome-doi',
      'Vahvistettu, tervetuloa',
    );
    expect(sink.to(address)).to.have.length(1);
    expect(confirmation!.parsed.subject).not.to.equal('Vahvistettu, tervetuloa');
    await t.http.post(confirmLink(confirmation!).path).type('form').send('').expect(200);
    await settle();
    expect(sink.to(address).map((m) => m.parsed.subject)).to.deep.equal([
      confirmation!.parsed.subject,
      'Vahvistettu, tervetuloa',
    ]);
  });

  it('welcomes a person whose confirmation was stored but whose event a crash lost, when the confirm is posted again', async () => {
    const { address, confirmation } = await signUpToWelcomingList(
      'welcome-again',
      'Tervetuloa, vihdoin',
    );
    // The confirm is stored, then the process dies before the event: as if it were never written.
    const person = await t.db.models.Subscriber.findOne({ email: address }).lean();
    await t.http.post(confirmLink(confirmation!).path).type('form').send('').expect(200);
    await t.db.models.DomainEvent.deleteMany({
      subscriberId: person!._id,
      type: 'subscriber.joined_list',
    });
    // The person presses the button again (the page says it can be done safely).
    await t.http.post(confirmLink(confirmation!).path).type('form').send('').expect(200);
    await t.http.post(confirmLink(confirmation!).path).type('form').send('').expect(200);
    await settle();
    expect(
      sink.to(address).filter((m) => m.parsed.subject === 'Tervetuloa, vihdoin'),
    ).to.have.length(1);
    expect(
      await t.db.models.DomainEvent.countDocuments({
        subscriberId: person!._id,
        type: 'subscriber.joined_list',
      }),
    ).to.equal(1);
  });

  it('starts date triggers on the day: 180 days without an order, and a birthday each year', async () => {
    const quiet = await template('quiet', 'Ikävä sinua');
    const birthday = await template('birthday', 'Hyvää syntymäpäivää');
    await automation({
      name: 'Win-back',
      reentry: true,
      trigger: { type: 'order_date_passed', order: 'last', days: 180 },
      steps: [{ type: 'send', templateId: quiet.id }],
    });
    await automation({
      name: 'Birthday',
      reentry: true,
      trigger: { type: 'date_attribute', attribute: 'birthday' },
      steps: [{ type: 'send', templateId: birthday.id }],
    });
    const today = t.clock.now();
    const inTwoDays = new Date(today.getTime() + 2 * 86_400_000).toISOString().slice(5, 10);
    const buyer = await createSubscriber(t);
    const loyal = await createSubscriber(t);
    const born = await createSubscriber(t, { attributes: { birthday: `1990-${inTwoDays}` } });
    const order = (email: string, at: Date) =>
      t.http
        .post('/api/v1/orders')
        .set(bearer())
        .send({
          externalId: `order-${Math.random()}`,
          email,
          orderedAt: at.toISOString(),
          total: 10,
          currency: 'EUR',
        })
        .expect(200);
    await order(buyer.email, today);
    await order(loyal.email, today);
    await settle();
    t.clock.advanceDays(2);
    await settle();
    expect(sink.to(born.email).map((m) => m.parsed.subject)).to.deep.equal(['Hyvää syntymäpäivää']);
    // 102 days in, `loyal` orders again; `buyer` does not.
    t.clock.advanceDays(100);
    await order(loyal.email, t.clock.now());
    for (let day = 0; day < 80; day += 5) {
      t.clock.advanceDays(5);
      await settle();
    }
    expect(sink.to(buyer.email).map((m) => m.parsed.subject)).to.deep.equal(['Ikävä sinua']);
    expect(sink.to(loyal.email)).to.have.length(0);
    // A year on, the birthday again (once more, not once per scan).
    t.clock.advanceDays(365 - 180);
    await settle();
    t.clock.advance(5 * 3600_000);
    await settle();
    expect(sink.to(born.email)).to.have.length(2);
  });

  it('branches on a segment rule and leaves when the exit rule matches', async () => {
    const list = await createList(t);
    const gold = await template('gold', 'Kultaa');
    const plain = await template('plain', 'Tavallinen');
    const id = await automation({
      name: 'Branch',
      trigger: { type: 'list_joined', list: list.id },
      steps: [
        { type: 'branch', rule: { attribute: 'tier', op: 'eq', value: 'gold' }, then: 1, else: 2 },
        { type: 'send', templateId: gold.id },
        { type: 'wait', duration: 'PT1H' },
        { type: 'send', templateId: plain.id },
      ],
      exit: { rule: { orders: 'count', op: 'gte', value: 1 } },
    });
    const goldie = await createSubscriber(t, { lists: [list.id], attributes: { tier: 'gold' } });
    const other = await createSubscriber(t, { lists: [list.id] });
    await settle();
    expect(sink.to(goldie.email).map((m) => m.parsed.subject)).to.deep.equal(['Kultaa']);
    expect(sink.to(other.email).map((m) => m.parsed.subject)).to.deep.equal([]);
    // `other` orders during the wait: the exit rule takes them out before the plain mail.
    await t.http
      .post('/api/v1/orders')
      .set(bearer())
      .send({
        externalId: `order-${Math.random()}`,
        email: other.email,
        orderedAt: t.clock.now().toISOString(),
        total: 5,
        currency: 'EUR',
      })
      .expect(200);
    t.clock.advance(2 * 3600_000);
    await settle();
    expect(sink.to(other.email)).to.have.length(0);
    expect(sink.to(goldie.email).map((m) => m.parsed.subject)).to.deep.equal([
      'Kultaa',
      'Tavallinen',
    ]);
    const stats = (await t.http.get(`/api/v1/automations/${id}/stats`).set(bearer()).expect(200))
      .body as { exits: Record<string, number> };
    expect(stats.exits).to.deep.equal({ matched_rule: 1 });
  });

  it('refuses a branch that jumps back, and an unknown template, with 400', async () => {
    const list = await createList(t);
    const res = await t.http
      .post('/api/v1/automations')
      .set(bearer())
      .send({
        name: 'Loop',
        trigger: { type: 'list_joined', list: list.id },
        steps: [
          { type: 'wait', duration: 'PT1M' },
          {
            type: 'branch',
            rule: { field: 'status', op: 'eq', value: 'subscribed' },
            then: 0,
            else: 'end',
          },
        ],
      })
      .expect(400);
    expect(JSON.stringify(res.body)).to.contain('later step');
    await t.http
      .post('/api/v1/automations')
      .set(bearer())
      .send({
        name: 'Missing',
        trigger: { type: 'first_order' },
        steps: [{ type: 'send', templateId: 'aaaaaaaaaaaaaaaaaaaaaaaa' }],
      })
      .expect(400);
    await t.http
      .post('/api/v1/automations')
      .set(bearer())
      .send({
        name: 'Bad wait',
        trigger: { type: 'first_order' },
        steps: [{ type: 'wait', duration: '3 days' }],
      })
      .expect(400);
  });
});
