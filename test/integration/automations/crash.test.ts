import { expect } from 'chai';
import { randomBytes, randomInt } from 'node:crypto';
import { serviceCluster, type ServiceCluster } from '../../helpers/service-cluster.js';
import type { ServiceProcess } from '../../helpers/service-process.js';
import { SmtpSink } from '../../helpers/smtp-sink.js';
import { waitUntil } from '../../helpers/wait.js';

const PEOPLE = 24;
const SUBJECTS = ['Yksi', 'Kaksi', 'Kolme'];
const LONG = { timeoutMs: 240_000, everyMs: 200 };

/**
 * The real service (src/main.ts) as child processes on one database, killed with SIGKILL while
 * people are in an automation and started again, then run as two processes side by side: every
 * person gets every step's mail, and none twice.
 */
describe('automations across processes', function () {
  this.timeout(300_000);
  let sink: SmtpSink;
  let cluster: ServiceCluster;

  before(async () => {
    sink = await new SmtpSink().start();
    cluster = await serviceCluster('autocrash', sink.url);
  });
  after(async () => {
    await cluster.dispose();
    await sink.stop();
  });
  beforeEach(() => {
    sink.messages.length = 0;
  });

  // A killed holder's step is taken over once its claim is this old.
  const start = () => cluster.start({ SEND_LEASE_SECONDS: '2' });
  const api = async (p: ServiceProcess, method: string, route: string, body?: unknown) => {
    const res = await cluster.api(p, method, route, body);
    const json = res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
    return { status: res.status, body: json };
  };

  /** A list, a three-mail series with waits on it, and PEOPLE subscribers joining it. */
  const series = async (p: ServiceProcess, wait: string) => {
    const list = await api(p, 'POST', '/lists', {
      name: 'Crash list',
      slug: `crash-${randomBytes(3).toString('hex')}`,
      doubleOptIn: false,
    });
    const templates: string[] = [];
    for (const subject of SUBJECTS) {
      const res = await api(p, 'POST', '/templates', {
        name: `${subject}-${randomBytes(3).toString('hex')}`,
        subject,
        mjml: `<mj-section><mj-column><mj-text>${subject}</mj-text></mj-column></mj-section>`,
      });
      templates.push(String(res.body.id));
    }
    const created = await api(p, 'POST', '/automations', {
      name: 'Crash series',
      trigger: { type: 'list_joined', list: list.body.id },
      steps: [
        { type: 'send', templateId: templates[0] },
        { type: 'wait', duration: wait },
        { type: 'send', templateId: templates[1] },
        { type: 'wait', duration: wait },
        { type: 'send', templateId: templates[2] },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const id = String(created.body.id);
    expect((await api(p, 'POST', `/automations/${id}/activate`, {})).status).to.equal(200);
    const people: string[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const email = `auto-${randomBytes(4).toString('hex')}@example.com`;
      const res = await api(p, 'POST', '/subscribers', {
        email,
        status: 'subscribed',
        lists: [list.body.id],
      });
      expect(res.status).to.equal(201);
      people.push(email);
    }
    return { id, people };
  };

  /** Per address, the subjects that arrived, in order of arrival. */
  const arrived = () => {
    const byAddress = new Map<string, string[]>();
    for (const m of sink.messages)
      for (const to of m.rcptTo)
        byAddress.set(to, [...(byAddress.get(to) ?? []), m.parsed.subject!]);
    return byAddress;
  };
  const stats = async (p: ServiceProcess, id: string) =>
    (await api(p, 'GET', `/automations/${id}/stats`)).body as {
      enrolments: Record<string, number>;
      steps: Array<{ counts: Record<string, number> }>;
    };
  const kill = async (p: ServiceProcess) => {
    p.child.kill('SIGKILL');
    await p.exited;
  };
  const stop = async (...ps: ServiceProcess[]) => {
    for (const p of ps) p.child.kill('SIGTERM');
    expect(await Promise.all(ps.map((p) => p.exited))).to.deep.equal(ps.map(() => 0));
  };

  it('killed between steps and restarted as two processes: no step skipped, none repeated', async () => {
    const first = await start();
    const { id, people } = await series(first, 'PT4S');
    await waitUntil(
      'everyone has had the first mail and is waiting',
      async () => (await stats(first, id)).steps[1]!.counts.waited === PEOPLE,
      LONG,
    );
    await kill(first);
    const [second, third] = await Promise.all([start(), start()]);
    await waitUntil(
      'everyone went through',
      async () => (await stats(second, id)).enrolments.completed === PEOPLE,
      LONG,
    );
    const got = arrived();
    for (const email of people) expect(got.get(email), email).to.deep.equal(SUBJECTS);
    const done = await stats(third, id);
    expect(done.steps.map((s) => s.counts)).to.deep.equal([
      { sent: PEOPLE },
      { waited: PEOPLE },
      { sent: PEOPLE },
      { waited: PEOPLE },
      { sent: PEOPLE },
    ]);
    await stop(second, third);
  });

  it('killed at an arbitrary instant: each mail at most once, and any not known to be sent is reported unknown', async function () {
    const first = await start();
    const { id, people } = await series(first, 'PT2S');
    const killAt = randomInt(PEOPLE / 2, PEOPLE * 2);
    await waitUntil('the chosen delivery count', () => sink.messages.length >= killAt, LONG);
    await kill(first);
    const second = await start();
    await waitUntil(
      'everyone went through',
      async () => (await stats(second, id)).enrolments.completed === PEOPLE,
      LONG,
    );
    const got = arrived();
    const done = await stats(second, id);
    const unknown = done.steps.reduce((n, s) => n + (s.counts.unknown ?? 0), 0);
    for (const email of people) {
      const subjects = got.get(email) ?? [];
      // In order, none twice; a gap only where a mail's outcome is unknown.
      expect(new Set(subjects).size, email).to.equal(subjects.length);
      expect(subjects, email).to.deep.equal(SUBJECTS.filter((s) => subjects.includes(s)));
    }
    const missing = people.reduce((n, e) => n + SUBJECTS.length - (got.get(e)?.length ?? 0), 0);
    expect(missing).to.be.at.most(unknown);
    const sent = done.steps.reduce((n, s) => n + (s.counts.sent ?? 0), 0);
    expect(sent + unknown).to.equal(PEOPLE * SUBJECTS.length);
    this.test!.title += ` (killed after ${killAt}: ${unknown} unknown)`;
    await stop(second);
  });
});
