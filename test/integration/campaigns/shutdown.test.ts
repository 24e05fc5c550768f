import { expect } from 'chai';
import { Types } from 'mongoose';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { FixedSegments, seedList } from '../../helpers/audience.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { waitUntil } from '../../helpers/wait.js';

describe('campaign snapshot and shutdown', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const audience = new FixedSegments();

  before(async () => {
    sink = await new SmtpSink().start();
    t = await bootApp({
      smtpUrl: sink.url,
      env: { SEND_BATCH_SIZE: '200', SEND_RATE_PER_SECOND: '10000' },
      ports: { audience },
    });
  });
  after(async () => {
    await t.services.sendWorker.stop();
    await t.close();
    await sink.stop();
  });

  it('a shutdown stops a snapshot between pages and gives its lease back; the next start resumes it, nobody twice', async () => {
    const list = await seedList(t.db.models, 1010);
    audience.members.set('big', list.subscribers.map((s) => s.id).sort());
    let letGo!: () => void;
    audience.gates.set('big', { after: 1000, opened: new Promise((resolve) => (letGo = resolve)) });
    const auth = { Authorization: `Bearer ${t.adminToken}` };
    const created = await t.http
      .post('/api/v1/campaigns')
      .set(auth)
      .send({
        name: 'Iso',
        subject: 'Hei',
        mjml: '<mj-section><mj-column><mj-text>Hei! <a href="{{unsubscribeUrl}}">Peru</a></mj-text></mj-column></mj-section>',
        segmentId: 'big',
      })
      .expect(201);
    const id = new Types.ObjectId(created.body.id as string);
    await t.http.post(`/api/v1/campaigns/${id}/send`).set(auth).expect(202);
    const worker = t.services.sendWorker;
    // The first page is placed; the audience waits at its gate.
    await worker.tick();

    const stopped = worker.stop();
    letGo();
    await stopped;
    const paused = (await t.db.models.Campaign.findById(id).lean())!;
    expect(paused.snapshot).to.equal('taking');
    expect(paused.snapshotLeaseExpiresAt!.getTime()).to.equal(0);

    worker.start();
    await waitUntil(
      'the resumed campaign to finish',
      async () => (await t.db.models.Campaign.findById(id).lean())!.status === 'finished',
      { timeoutMs: 60_000 },
    );
    const delivered = sink.messages.map((m) => m.rcptTo[0]);
    expect(delivered).to.have.length(1010);
    expect(new Set(delivered).size).to.equal(1010);
  });
});
