import { expect } from 'chai';
import { addInterval, dueDay, parseInterval } from '../../../src/shared/periods.js';

describe('shared/periods', () => {
  it('due one calendar month after receipt; 31 January ends on the last day of February', () => {
    expect(dueDay(new Date('2026-01-31T10:00:00Z'))).to.equal('2026-02-28');
    expect(dueDay(new Date('2028-01-31T10:00:00Z'))).to.equal('2028-02-29');
    expect(dueDay(new Date('2026-01-15T10:00:00Z'))).to.equal('2026-02-15');
    expect(dueDay(new Date('2026-03-31T10:00:00Z'))).to.equal('2026-04-30');
    expect(dueDay(new Date('2026-12-20T10:00:00Z'))).to.equal('2027-01-20');
  });

  it('counts days in Helsinki: 00:30 on 1 February local is 1 February', () => {
    expect(dueDay(new Date('2026-01-31T22:30:00Z'))).to.equal('2026-03-01');
  });

  it('parses intervals and adds calendar months', () => {
    expect(parseInterval('6 months')).to.deep.equal({ count: 6, unit: 'months' });
    expect(parseInterval('1 month')).to.deep.equal({ count: 1, unit: 'months' });
    expect(parseInterval('30d')).to.deep.equal({ count: 30, unit: 'days' });
    expect(() => parseInterval('soon')).to.throw(/not an interval/);
    expect(() => parseInterval('0 days')).to.throw(/not an interval/);
    const aug31 = new Date('2025-08-31T00:00:00Z');
    expect(addInterval(aug31, parseInterval('6 months')).toISOString()).to.equal(
      '2026-02-28T00:00:00.000Z',
    );
    expect(addInterval(aug31, { count: 7, unit: 'months' }, -1).toISOString()).to.equal(
      '2025-01-31T00:00:00.000Z',
    );
  });
});
