import { Types } from 'mongoose';
import type { Models } from '../../../src/db/models/index.js';
import type { FakeClock } from '../../helpers/clock.js';

/**
 * Twenty subscribers s01..s20 with hand-written facts; the expectations in segments.test.ts are
 * counted by hand from this table, not computed.
 *
 *        status        locale seg  tier    age  list "news"    orders (days ago, amount, currency, categories)
 *  s01   subscribed    fi     vip  gold    25   subscribed     10d 120.00 EUR shoes; 200d 50.00 EUR bags
 *  s02   subscribed    en          gold    45   subscribed     40d 30.00 EUR shoes
 *  s03   subscribed    fi          gold    60   subscribed     100d 500.00 EUR coats
 *  s04   subscribed    en     vip  silver       subscribed     5d, 6d, 7d 20.00 EUR bags each
 *  s05   subscribed    sv          silver       subscribed     400d 80.00 EUR shoes
 *  s06   subscribed    en                       subscribed     15d 99.99 EUR shoes+bags
 *  s07   subscribed    fi     vip               subscribed     2d 1000.00 SEK coats
 *  s08   subscribed    en                       subscribed     60d 100.00 EUR shoes; 70d 0.01 EUR socks
 *  s09   subscribed    fi                       subscribed     -
 *  s10   subscribed    en     b2b               subscribed     -
 *  s11   subscribed    fi     b2b  gold         unsubscribed   -
 *  s12   subscribed    en                       unconfirmed    -
 *  s13-s16 subscribed  fi/en                    -              -
 *  s17   unsubscribed  fi                       -              3d 300.00 EUR shoes
 *  s18   unsubscribed  en                       -              -
 *  s19   unconfirmed   fi                       -              20d 10.00 EUR socks
 *  s20   complained    en                       -              -
 */
export async function loadOrderFixture(models: Models, clock: FakeClock) {
  const now = clock.now().getTime();
  const daysAgo = (d: number) => new Date(now - d * 86_400_000);
  const statusOf = (i: number) =>
    i === 17 || i === 18
      ? 'unsubscribed'
      : i === 19
        ? 'unconfirmed'
        : i === 20
          ? 'complained'
          : 'subscribed';
  const extra: Record<number, { customerSegment?: string; attributes?: Record<string, unknown> }> =
    {
      1: { customerSegment: 'vip', attributes: { tier: 'gold', age: 25 } },
      2: { attributes: { tier: 'gold', age: 45 } },
      3: { attributes: { tier: 'gold', age: 60 } },
      4: { customerSegment: 'vip', attributes: { tier: 'silver' } },
      5: { attributes: { tier: 'silver' } },
      7: { customerSegment: 'vip' },
      10: { customerSegment: 'b2b' },
      11: { customerSegment: 'b2b', attributes: { tier: 'gold' } },
    };
  const ids: Record<string, Types.ObjectId> = {};
  const names: Record<string, string> = {};
  for (let i = 1; i <= 20; i++) {
    const name = `s${String(i).padStart(2, '0')}`;
    const doc = await models.Subscriber.create({
      email: `${name}@example.com`,
      name,
      locale: i === 5 ? 'sv' : i % 2 ? 'fi' : 'en',
      source: 'api',
      status: statusOf(i),
      hetuSealed: 'v1.sealed.never.used',
      ...extra[i],
    });
    ids[name] = doc._id;
    names[String(doc._id)] = name;
  }
  const list = await models.List.create({ name: 'News', slug: 'news' });
  for (let i = 1; i <= 12; i++) {
    const name = `s${String(i).padStart(2, '0')}`;
    await models.Membership.create({
      subscriberId: ids[name],
      listId: list._id,
      status: i === 11 ? 'unsubscribed' : i === 12 ? 'unconfirmed' : 'subscribed',
    });
  }
  const orders: Array<[string, number, number, string, string[]]> = [
    ['s01', 10, 12000, 'EUR', ['shoes']],
    ['s01', 200, 5000, 'EUR', ['bags']],
    ['s02', 40, 3000, 'EUR', ['shoes']],
    ['s03', 100, 50000, 'EUR', ['coats']],
    ['s04', 5, 2000, 'EUR', ['bags']],
    ['s04', 6, 2000, 'EUR', ['bags']],
    ['s04', 7, 2000, 'EUR', ['bags']],
    ['s05', 400, 8000, 'EUR', ['shoes']],
    ['s06', 15, 9999, 'EUR', ['shoes', 'bags']],
    ['s07', 2, 100000, 'SEK', ['coats']],
    ['s08', 60, 10000, 'EUR', ['shoes']],
    ['s08', 70, 1, 'EUR', ['socks']],
    ['s17', 3, 30000, 'EUR', ['shoes']],
    ['s19', 20, 1000, 'EUR', ['socks']],
  ];
  let n = 0;
  for (const [who, ago, totalCents, currency, categories] of orders) {
    n += 1;
    await models.Order.create({
      externalId: `order-${n}`,
      subscriberId: ids[who],
      orderedAt: daysAgo(ago),
      totalCents,
      currency,
      categories,
    });
  }
  return { ids, names, listId: String(list._id) };
}
