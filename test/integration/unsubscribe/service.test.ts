import { expect } from 'chai';
import { bootApp, type TestApp } from '../../helpers/app.js';
import { makeList, makePerson } from './fixtures.js';

describe('UnsubscribeService', () => {
  let t: TestApp;
  let list: string;
  before(async () => {
    t = await bootApp();
    list = await makeList(t, 'Uutiskirje');
  });
  after(async () => t.close());

  const events = (subscriberId: string) =>
    t.db.models.UnsubscribeEvent.countDocuments({ subscriberId });

  it('concurrent requests of one person write one event', async () => {
    const p = await makePerson(t, [list]);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.services.unsubscribe.unsubscribe({
          subscriberId: p.id,
          scope: { all: true },
          channel: i % 2 ? 'link' : 'one-click',
        }),
      ),
    );
    expect(results.filter((r) => r.changed)).to.have.length(1);
    expect(await events(p.id)).to.equal(1);
    expect(await t.services.suppressions.isSuppressed(p.email)).to.equal(true);
  });

  it('a retry after a crash between suppression and event still records the event', async () => {
    const p = await makePerson(t, [list]);
    // The state a process leaves when it dies after the suppression and membership, before the event.
    await t.services.suppressions.suppress(p.email, list, 'unsubscribe', { channel: 'link' });
    await t.db.models.Membership.updateOne(
      { subscriberId: p.id, listId: list },
      { $set: { status: 'unsubscribed' } },
    );
    const res = await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: false, listIds: [list] },
      channel: 'link',
    });
    expect(res).to.include({ changed: true, found: true });
    expect(await events(p.id)).to.equal(1);
    const again = await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: false, listIds: [list] },
      channel: 'link',
    });
    expect(again.changed).to.equal(false);
    expect(await events(p.id)).to.equal(1);
  });

  it('never softens a complaint into a plain unsubscribe', async () => {
    const p = await makePerson(t, [list]);
    await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'complaint',
      reason: 'complaint',
    });
    await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'link',
    });
    const s = await t.db.models.Subscriber.findById(p.id).lean();
    expect(s!.status).to.equal('complained');
    const [sup] = await t.db.models.Suppression.find({
      emailHash: t.services.suppressions.hash(p.email),
    }).lean();
    expect(sup!.reason).to.equal('complaint');
  });

  it('an erased person: found false, nothing written', async () => {
    const p = await makePerson(t, [list]);
    await t.db.models.Subscriber.deleteOne({ _id: p.id });
    const res = await t.services.unsubscribe.unsubscribe({
      subscriberId: p.id,
      scope: { all: true },
      channel: 'link',
    });
    expect(res).to.deep.equal({ changed: false, found: false });
    expect(await events(p.id)).to.equal(0);
  });

  it('suppressedHashes answers the same by _id reads and by one scan', async () => {
    // Enough suppressions that two hashes are looked up by _id, and few enough for a scan of all.
    const addresses = Array.from({ length: 80 }, (_, i) => `supp${i}.${Date.now()}@example.com`);
    for (const [i, a] of addresses.entries()) {
      await t.services.suppressions.suppress(a, i % 2 ? list : 'all', 'unsubscribe');
    }
    const hash = (a: string) => t.services.suppressions.hash(a);
    const unknown = hash('nobody@example.com');
    const byId = await t.services.suppressions.suppressedHashes(
      [hash(addresses[0]!), hash(addresses[1]!), unknown],
      list,
    );
    expect([...byId].sort()).to.deep.equal([hash(addresses[0]!), hash(addresses[1]!)].sort());
    const all = addresses.map(hash);
    const scanned = await t.services.suppressions.suppressedHashes([...all, unknown], list);
    expect(scanned.size).to.equal(80);
    const allListsOnly = await t.services.suppressions.suppressedHashes([...all, unknown]);
    expect(allListsOnly.size).to.equal(40);
    const allListsById = await t.services.suppressions.suppressedHashes([all[0]!, all[1]!]);
    expect([...allListsById]).to.deep.equal([all[0]]);
  });
});
