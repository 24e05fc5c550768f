import { expect } from 'chai';
import type { Database } from '../../../src/db/connection.js';
import { RateLimiter } from '../../../src/subscribe/rate-limiter.js';
import { FakeClock } from '../../helpers/clock.js';
import { testDatabase } from '../../helpers/db.js';

describe('RateLimiter (database-backed, shared by processes)', () => {
  let db: Database;
  const clock = new FakeClock();
  // Two instances on one database stand for two processes.
  let a: RateLimiter;
  let b: RateLimiter;

  before(async () => {
    db = await testDatabase(clock);
    await db.models.RateLimit.init();
    a = new RateLimiter(db.models, clock);
    b = new RateLimiter(db.models, clock);
  });
  after(async () => db.close());

  it('allows exactly `limit` hits per window across concurrent callers', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).hit('t', 'ip1', 5, 60_000)),
    );
    expect(results.filter(Boolean)).to.have.length(5);
    expect(await a.hit('t', 'ip2', 5, 60_000), 'another key has its own count').to.equal(true);
    clock.advance(60_000);
    expect(await b.hit('t', 'ip1', 5, 60_000), 'a new window starts at zero').to.equal(true);
  });

  it('gives a once-per-interval slot to one caller only, until it expires or is released', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).acquire('mail', 'h1', 600_000)),
    );
    expect(results.filter(Boolean)).to.have.length(1);
    clock.advance(599_000);
    expect(await a.acquire('mail', 'h1', 600_000)).to.equal(false);
    clock.advance(1_000);
    expect(await b.acquire('mail', 'h1', 600_000)).to.equal(true);
    await a.release('mail', 'h1');
    expect(await a.acquire('mail', 'h1', 600_000)).to.equal(true);
  });

  it('removes expired counters as it goes', async () => {
    await a.hit('old', 'x', 5, 1_000);
    clock.advance(120_000);
    await a.hit('new', 'x', 5, 1_000);
    expect(await db.models.RateLimit.countDocuments({ key: /^old:/ })).to.equal(0);
  });
});
