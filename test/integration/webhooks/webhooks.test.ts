import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { createList, createSubscriber } from '../../helpers/api.js';
import { FakeClock } from '../../helpers/clock.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';
import { WebhookDispatcher } from '../../../src/webhooks/dispatcher.js';
import { WebhookService } from '../../../src/webhooks/service.js';
import { createLogger } from '../../../src/shared/logger.js';
import { WEBHOOK_EVENT_TYPES } from '../../../src/events/domain-events.js';

interface Payload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * Webhooks from the real app on FerretDB to a real HTTP receiver. The clock starts at the real
 * time (a Standard Webhooks verifier refuses timestamps far from its own) and is moved by hand to
 * pass the back-off; the dispatcher is driven by its own tick().
 */
describe('webhooks', function () {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let sink: SmtpSink;
  const bearer = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    receiver = await new WebhookReceiver().start();
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      clock: new FakeClock(new Date()),
      env: { WEBHOOK_DISABLE_AFTER_FAILURES: '5' },
    });
  });
  after(async () => {
    await t.close();
    await receiver.stop();
    await sink.stop();
  });
  beforeEach(async () => {
    receiver.received.length = 0;
    receiver.status = 204;
    // Each test's endpoint only: the earlier ones are removed.
    const { items } = (await t.http.get('/api/v1/webhooks/endpoints').set(bearer()).expect(200))
      .body as { items: Array<{ id: string }> };
    for (const e of items)
      await t.http.delete(`/api/v1/webhooks/endpoints/${e.id}`).set(bearer()).expect(204);
    // Events from earlier tests are fanned out to no one.
    await t.services.webhookDispatcher.tick();
  });

  const endpoint = async (eventTypes: readonly string[] = WEBHOOK_EVENT_TYPES) => {
    const res = await t.http
      .post('/api/v1/webhooks/endpoints')
      .set(bearer())
      .send({ url: receiver.url, eventTypes });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { id: string; secret: string };
  };
  const tick = () => t.services.webhookDispatcher.tick();
  /** Ticks until nothing is left to do now. */
  const settle = async () => {
    for (let round = 0; round < 20 && (await tick()); round++);
  };
  const payloads = () => receiver.received.map((h) => JSON.parse(h.body) as Payload);

  it('signs every delivery so the standardwebhooks verifier accepts it, with ids and no addresses', async () => {
    const { id, secret } = await endpoint();
    expect(secret).to.match(/^whsec_/);
    const shown = (await t.http.get(`/api/v1/webhooks/endpoints/${id}`).set(bearer()).expect(200))
      .body as Record<string, unknown>;
    expect(shown).not.to.have.property('secret');
    const person = await createSubscriber(t);
    await t.services.unsubscribe.unsubscribe({
      subscriberId: person.id,
      scope: { all: true },
      channel: 'one-click',
    });
    await settle();
    expect(receiver.received).to.have.length(2);
    const verifier = new Webhook(secret);
    for (const hook of receiver.received) {
      const verified = verifier.verify(hook.body, WebhookReceiver.signed(hook)) as Payload;
      expect(verified.data.subscriberId).to.equal(person.id);
      expect(hook.body).not.to.contain(person.email);
      expect(hook.body).not.to.contain('example.com');
    }
    expect(payloads().map((p) => p.type)).to.deep.equal([
      'subscriber.created',
      'subscriber.unsubscribed',
    ]);
    expect(payloads()[1]!.data).to.include({ channel: 'one-click', allLists: true });
    // A tampered body fails.
    const [first] = receiver.received;
    expect(() =>
      verifier.verify(first!.body.replace('created', 'erased'), WebhookReceiver.signed(first!)),
    ).to.throw();

    // After a rotation the new secret signs and the old one no longer verifies.
    const rotated = (
      await t.http
        .post(`/api/v1/webhooks/endpoints/${id}/rotate-secret`)
        .set(bearer())
        .send({})
        .expect(200)
    ).body as { secret: string };
    await t.http
      .post('/api/v1/privacy/requests')
      .set(bearer())
      .send({ type: 'access', email: person.email, channel: 'email' })
      .expect(201);
    await settle();
    const last = receiver.received.at(-1)!;
    const opened = new Webhook(rotated.secret).verify(last.body, WebhookReceiver.signed(last));
    expect((opened as Payload).type).to.equal('privacy_request.opened');
    expect(last.body).not.to.contain(person.email);
    expect(() => verifier.verify(last.body, WebhookReceiver.signed(last))).to.throw();
  });

  it('tells an erasure by the id alone', async () => {
    const { secret } = await endpoint(['subscriber.erased']);
    const person = await createSubscriber(t, { name: 'Eero Esimerkki' });
    await t.http
      .post('/api/v1/privacy/subjects/erase')
      .set(bearer())
      .send({ email: person.email })
      .expect(200);
    await settle();
    expect(receiver.received).to.have.length(1);
    const hook = receiver.received[0]!;
    const payload = new Webhook(secret).verify(hook.body, WebhookReceiver.signed(hook)) as Payload;
    expect(payload).to.deep.include({ type: 'subscriber.erased' });
    expect(payload.data).to.deep.equal({ subscriberId: person.id });
  });

  it('tells a finished campaign, a hard bounce and a complaint', async () => {
    const { secret } = await endpoint([
      'campaign.finished',
      'subscriber.bounced',
      'subscriber.complained',
    ]);
    const list = await createList(t);
    const [bouncer, complainer] = [
      await createSubscriber(t, { lists: [list.id] }),
      await createSubscriber(t, { lists: [list.id] }),
    ];
    const campaign = (
      await t.http
        .post('/api/v1/campaigns')
        .set(bearer())
        .send({
          name: 'Syksy',
          subject: 'Syksyn uutiset',
          mjml: '<mj-section><mj-column><mj-text>Hei</mj-text></mj-column></mj-section>',
          lists: [list.id],
        })
        .expect(201)
    ).body as { id: string };
    await t.http.post(`/api/v1/campaigns/${campaign.id}/send`).set(bearer()).expect(202);
    for (let round = 0; round < 50; round++) {
      await t.services.sendWorker.tick();
      const { status } = (
        await t.http.get(`/api/v1/campaigns/${campaign.id}`).set(bearer()).expect(200)
      ).body as { status: string };
      if (status === 'finished') break;
    }
    for (const [who, reason] of [
      [bouncer, 'bounce'],
      [complainer, 'complaint'],
    ] as const)
      await t.services.unsubscribe.unsubscribe({
        subscriberId: who.id,
        scope: { all: true },
        channel: reason,
        reason,
        campaignId: campaign.id,
      });
    await settle();
    const verifier = new Webhook(secret);
    const got = receiver.received.map(
      (h) => verifier.verify(h.body, WebhookReceiver.signed(h)) as Payload,
    );
    expect(got.map((p) => [p.type, p.data])).to.deep.equal([
      ['campaign.finished', { campaignId: campaign.id }],
      ['subscriber.bounced', { subscriberId: bouncer.id, campaignId: campaign.id }],
      ['subscriber.complained', { subscriberId: complainer.id, campaignId: campaign.id }],
    ]);
  });

  it('a receiver down for a while gets every event later, in order per subscriber', async () => {
    const { id, secret } = await endpoint(['subscriber.created', 'subscriber.unsubscribed']);
    receiver.status = 503;
    const list = await createList(t);
    const people = [];
    for (let i = 0; i < 3; i++) people.push(await createSubscriber(t, { lists: [list.id] }));
    for (const person of people) {
      await t.services.unsubscribe.unsubscribe({
        subscriberId: person.id,
        scope: { all: false, listIds: [list.id] },
        channel: 'preferences',
      });
      await t.services.unsubscribe.unsubscribe({
        subscriberId: person.id,
        scope: { all: true },
        channel: 'email',
      });
    }
    // Down through three tries, the back-off growing between them.
    for (let failure = 1; failure <= 3; failure++) {
      await tick();
      const state = (await t.http.get(`/api/v1/webhooks/endpoints/${id}`).set(bearer()).expect(200))
        .body as { consecutiveFailures: number; retryAt: string; enabled: boolean };
      expect(state).to.include({ consecutiveFailures: failure, enabled: true });
      // Nothing is tried again before its time.
      await tick();
      expect(
        (await t.http.get(`/api/v1/webhooks/endpoints/${id}`).set(bearer()).expect(200)).body,
      ).to.include({ consecutiveFailures: failure });
      t.clock.set(new Date(Date.parse(state.retryAt) + 1000));
    }
    expect(receiver.received).to.have.length(0);
    receiver.status = 200;
    await settle();
    // Signed when sent, hours after the events on the moved clock: the verifier's own clock
    // would call that the future, so the signature is checked against the sending time.
    const signer = new Webhook(secret);
    const got = receiver.received.map((h) => {
      const headers = WebhookReceiver.signed(h);
      const sentAt = new Date(Number(headers['webhook-timestamp']) * 1000);
      expect(signer.sign(headers['webhook-id']!, sentAt, h.body)).to.equal(
        headers['webhook-signature'],
      );
      return JSON.parse(h.body) as Payload;
    });
    expect(got).to.have.length(9);
    for (const person of people) {
      const mine = got.filter((p) => p.data.subscriberId === person.id);
      expect(mine.map((p) => [p.type, p.data.channel ?? null])).to.deep.equal([
        ['subscriber.created', null],
        ['subscriber.unsubscribed', 'preferences'],
        ['subscriber.unsubscribed', 'email'],
      ]);
    }
    // Each event once, whatever the retries.
    expect(new Set(receiver.received.map((h) => h.headers['webhook-id'])).size).to.equal(9);
    const log = (
      await t.http.get(`/api/v1/webhooks/endpoints/${id}/deliveries`).set(bearer()).expect(200)
    ).body as { items: Array<{ status: string; attempts: number }> };
    expect(log.items.every((d) => d.status === 'delivered')).to.equal(true);
    expect(log.items.map((d) => d.attempts).sort()).to.include(4);
  });

  it('disables an endpoint after the limit of failures in a row, and the admin sees why', async () => {
    const { id } = await endpoint(['subscriber.created']);
    receiver.status = 500;
    receiver.answer = 'database is on fire';
    await createSubscriber(t);
    for (let i = 0; i < 10; i++) {
      await tick();
      t.clock.advance(11 * 3600_000);
    }
    const state = (await t.http.get(`/api/v1/webhooks/endpoints/${id}`).set(bearer()).expect(200))
      .body as { enabled: boolean; disabledReason: string; consecutiveFailures: number };
    expect(state.enabled).to.equal(false);
    expect(state.consecutiveFailures).to.equal(5);
    expect(state.disabledReason).to.contain('5 failed deliveries in a row');
    expect(state.disabledReason).to.contain('HTTP 500: database is on fire');
    const log = (
      await t.http.get(`/api/v1/webhooks/endpoints/${id}/deliveries`).set(bearer()).expect(200)
    ).body as { items: Array<{ status: string; lastStatus: number; lastError: string }> };
    expect(log.items[0]).to.include({ status: 'pending', lastStatus: 500 });

    // Fixed and re-enabled by the admin: the event held back is delivered.
    receiver.status = 204;
    await t.http
      .patch(`/api/v1/webhooks/endpoints/${id}`)
      .set(bearer())
      .send({ enabled: true })
      .expect(200);
    await settle();
    expect(receiver.received).to.have.length(1);
  });

  it('refuses http endpoints in production and bad input with 400', async () => {
    const production = new WebhookService(t.db.models, t.services.protector, t.services.audit, {
      production: true,
      allowPrivateAddresses: false,
    });
    const ctx = { actor: { type: 'system' as const, name: 'test' } };
    await production
      .create(ctx, { url: 'http://hooks.example.com/x', eventTypes: ['subscriber.created'] })
      .then(
        () => expect.fail('accepted http in production'),
        (err: Error) => expect(err.message).to.contain('https'),
      );
    await t.http
      .post('/api/v1/webhooks/endpoints')
      .set(bearer())
      .send({ url: 'ftp://x.example.com', eventTypes: ['subscriber.created'] })
      .expect(400);
    await t.http
      .post('/api/v1/webhooks/endpoints')
      .set(bearer())
      .send({ url: receiver.url, eventTypes: ['subscriber.joined_list'] })
      .expect(400);
  });

  it('does not deliver to a non-public address when they are not allowed, and says why on the endpoint', async () => {
    // Saved while allowed (as in development), delivered by a dispatcher configured as production.
    const literal = await endpoint(['subscriber.created']);
    const byName = (
      await t.http
        .post('/api/v1/webhooks/endpoints')
        .set(bearer())
        .send({
          url: `http://localhost:${receiver.port}/hooks/kirje`,
          eventTypes: ['subscriber.created'],
        })
        .expect(201)
    ).body as { id: string };
    const guarded = new WebhookDispatcher({
      models: t.db.models,
      events: t.services.events,
      protector: t.services.protector,
      clock: t.clock,
      logger: createLogger('silent'),
      config: { ...t.config.webhooks, allowPrivateAddresses: false },
    });
    await createSubscriber(t);
    for (let round = 0; round < 5 && (await guarded.tick()); round++);
    expect(receiver.received).to.have.length(0);

    const state = async (id: string) =>
      (await t.http.get(`/api/v1/webhooks/endpoints/${id}`).set(bearer()).expect(200)).body as {
        consecutiveFailures: number;
        lastError: string;
      };
    expect(await state(literal.id)).to.include({
      consecutiveFailures: 1,
      lastError: 'refused: 127.0.0.1 is a loopback address; webhooks go to public addresses only',
    });
    const named = await state(byName.id);
    expect(named.consecutiveFailures).to.equal(1);
    expect(named.lastError).to.match(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address; webhooks go to public addresses only$/,
    );
    const log = (
      await t.http
        .get(`/api/v1/webhooks/endpoints/${literal.id}/deliveries`)
        .set(bearer())
        .expect(200)
    ).body as { items: Array<{ status: string; attempts: number; lastError: string }> };
    expect(log.items[0]).to.include({ status: 'pending', attempts: 1 });
    expect(log.items[0]!.lastError).to.contain('loopback');

    // The service's own dispatcher (private addresses allowed in tests) delivers after the back-off.
    t.clock.advance(10_000);
    await settle();
    expect(receiver.received).to.have.length(2);
  });
});

describe('webhooks: only public addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES=false)', function () {
  let t: TestApp;
  const bearer = () => ({ Authorization: `Bearer ${t.adminToken}` });

  before(async () => {
    t = await bootApp({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' } });
  });
  after(async () => t.close());

  const create = (url: string) =>
    t.http
      .post('/api/v1/webhooks/endpoints')
      .set(bearer())
      .send({ url, eventTypes: ['subscriber.created'] });

  for (const [url, reason] of [
    ['http://127.0.0.1:8080/hooks', '127.0.0.1 is a loopback address'],
    ['http://127.9.9.9/hooks', '127.9.9.9 is a loopback address'],
    ['http://2130706433/hooks', '127.0.0.1 is a loopback address'],
    ['http://10.0.0.1/hooks', '10.0.0.1 is a private network address'],
    ['http://172.16.5.4/hooks', '172.16.5.4 is a private network address'],
    ['http://192.168.1.10/hooks', '192.168.1.10 is a private network address'],
    ['http://[::1]/hooks', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/hooks', 'is a loopback address'],
    ['http://[fd12:3456::1]/hooks', 'fd12:3456::1 is a private network address (fc00::/7)'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
    ['http://[fe80::1]/hooks', 'fe80::1 is a link-local address'],
    ['http://0.0.0.0/hooks', '0.0.0.0 is the unspecified address'],
    ['http://[::]/hooks', ':: is the unspecified address'],
    ['http://100.64.0.1/hooks', '100.64.0.1 is a carrier-grade NAT address'],
    ['http://localhost:8080/hooks', 'localhost resolves to'],
  ]) {
    it(`refuses ${url} with 400`, async () => {
      const res = await create(url!);
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      const { message } = (res.body as { error: { message: string } }).error;
      expect(message).to.contain(reason).and.to.contain('public addresses only');
    });
  }

  it('refuses a change of URL to a private address, and accepts a public one', async () => {
    const res = await create('http://93.184.215.14/hooks');
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const { id } = res.body as { id: string };
    const patch = await t.http
      .patch(`/api/v1/webhooks/endpoints/${id}`)
      .set(bearer())
      .send({ url: 'http://192.168.0.1/hooks' });
    expect(patch.status).to.equal(400);
    expect((patch.body as { error: { message: string } }).error.message).to.contain(
      'private network address',
    );
  });
});
