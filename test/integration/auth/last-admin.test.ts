import { expect } from 'chai';
import type { AuditContext } from '../../../src/privacy/audit.js';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { staffToken } from '../../helpers/factories.js';

/** The last-admin rule under concurrency: every change that takes an admin away, at once. */
describe('the last enabled admin, under concurrent changes', () => {
  let t: TestApp;
  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  const enabledAdmins = () =>
    t.db.models.StaffUser.countDocuments({ role: 'admin', disabled: { $ne: true } });

  /** Two fresh admins who are the only enabled ones. */
  async function onlyTwoAdmins() {
    const a = await staffToken(t.services, 'admin');
    const b = await staffToken(t.services, 'admin');
    await t.db.models.StaffUser.updateMany(
      { role: 'admin', _id: { $nin: [a.userId, b.userId] } },
      { $set: { disabled: true } },
    );
    expect(await enabledAdmins()).to.equal(2);
    return { a, b };
  }

  const changes = {
    disable: { method: 'patch', body: { disabled: true } },
    demote: { method: 'patch', body: { role: 'marketing' } },
    delete: { method: 'delete', body: undefined },
  } as const;

  for (const [name, change] of Object.entries(changes)) {
    it(`two admins who ${name} each other at the same moment: one succeeds, the other gets 409`, async () => {
      for (let round = 0; round < 3; round++) {
        const { a, b } = await onlyTwoAdmins();
        const send = (token: string, target: string) => {
          const req = t.http[change.method](`/api/v1/users/${target}`).auth(token, {
            type: 'bearer',
          });
          return change.body ? req.send(change.body) : req;
        };
        const answers = await Promise.all([send(a.token, b.userId), send(b.token, a.userId)]);
        const statuses = answers.map((r) => r.status).sort();
        // The winner answers 200 (204 for delete). The loser is refused by the rule, or, when the
        // winner finished before the loser's request was even authenticated, for having lost
        // its admin account (401): never both through.
        expect(statuses[0], JSON.stringify(statuses)).to.be.oneOf([200, 204]);
        expect(statuses[1], JSON.stringify(statuses)).to.be.oneOf([401, 409]);
        const refused = answers.find((r) => r.status === 409);
        if (refused) expect(refused.body.error.code).to.equal('invalid_state');
        expect(await enabledAdmins()).to.equal(1);
      }
    });
  }

  it('in the service itself, the same race always leaves exactly one admin', async () => {
    for (const patch of [{ disabled: true }, { role: 'sales' as const }]) {
      const { a, b } = await onlyTwoAdmins();
      const ctx = (userId: string): AuditContext => ({
        actor: { type: 'staff', userId, email: 'x@example.com', role: 'admin' },
      });
      const results = await Promise.allSettled([
        t.services.staffAdmin.update(ctx(a.userId), b.userId, patch),
        t.services.staffAdmin.update(ctx(b.userId), a.userId, patch),
      ]);
      expect(results.map((r) => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
      const refusal = results.find((r) => r.status === 'rejected')!.reason as { code: string };
      expect(refusal.code).to.equal('invalid_state');
      expect(await enabledAdmins()).to.equal(1);
    }
  });

  it('changes that keep an admin need no lock and are not refused', async () => {
    const { a, b } = await onlyTwoAdmins();
    const other = await staffToken(t.services, 'marketing');
    const answers = await Promise.all([
      t.http
        .patch(`/api/v1/users/${other.userId}`)
        .auth(a.token, { type: 'bearer' })
        .send({ name: 'Renamed' }),
      t.http
        .patch(`/api/v1/users/${a.userId}`)
        .auth(b.token, { type: 'bearer' })
        .send({ name: 'Still admin' }),
    ]);
    expect(answers.map((r) => r.status)).to.deep.equal([200, 200]);
    await t.http
      .delete(`/api/v1/users/${other.userId}`)
      .auth(a.token, { type: 'bearer' })
      .expect(204);
    await t.http.get('/api/v1/lists').auth(other.token, { type: 'bearer' }).expect(401);
    const trail = await t.db.models.AuditEntry.find({ subjectId: other.userId }).lean();
    expect(trail.map((e) => e.action)).to.include('staff.delete');
    expect(await t.db.models.Claim.countDocuments({ _id: /^staff:admins/ })).to.equal(0);
  });
});
