import { expect } from 'chai';
import { sendingClaims } from '../../../src/db/claims.js';
import { bootApp, type TestApp } from '../../helpers/app.js';

/** The runner's hourly sweep of old automation claims, in the claims collection campaigns share. */
describe('automations: sweep of old claims', function () {
  let t: TestApp;

  before(async () => {
    t = await bootApp();
  });
  after(async () => t.close());

  it('deletes automation step and scan claims older than 30 days, and nothing else', async () => {
    const claims = sendingClaims(t.db.models.Claim);
    const now = t.clock.now().getTime();
    const daysAgo = (days: number) => new Date(now - days * 86_400_000);
    const take = (id: string, at: Date) => claims.once(id, { owner: 'test', at });

    await take('automation:sweep-old:0', daysAgo(31));
    await take('automation:sweep-old:0:1', daysAgo(40));
    await take('automation-scan:sweep-old:2025-12-01', daysAgo(45));
    await take('automation-scan:sweep-old:2025-12-01:done', daysAgo(45));
    await take('automation:sweep-recent:0', daysAgo(29));
    await take('automation-scan:sweep-recent:2026-01-10:done', daysAgo(5));
    // Campaign sending's claims live in the same collection and are not the runner's to remove.
    await take('batch:sweep-old:0', daysAgo(60));
    await take('campaign:sweep-old:3', daysAgo(60));
    await take('webhook-endpoint:sweep-old', daysAgo(60));

    t.clock.advance(3600_000);
    await t.services.automationRunner.tick();

    const left = (await t.db.models.Claim.find({ _id: /sweep-/ }, { _id: 1 }).lean()).map(
      (c) => c._id,
    );
    expect(left.sort()).to.deep.equal(
      [
        'automation-scan:sweep-recent:2026-01-10:done',
        'automation:sweep-recent:0',
        'batch:sweep-old:0',
        'campaign:sweep-old:3',
        'webhook-endpoint:sweep-old',
      ].sort(),
    );
  });
});
