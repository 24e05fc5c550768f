import { expect } from 'chai';
import { maskHetu, MASKED_HETU, parseHetu } from '../../../src/privacy/hetu.js';

describe('privacy/hetu', () => {
  it('accepts valid numbers with every kind of century sign', () => {
    for (const valid of [
      '131052-308T', // DVV's own example, 1900s
      '010594Y9021', // 2023 sign for the 1900s
      '010100A123D',
      '150320B456Y', // 2023 sign for the 2000s
      '290200E345E', // 29 February 2000 existed
    ]) {
      expect(parseHetu(valid), valid).to.equal(valid);
    }
  });

  it('normalises case and surrounding space', () => {
    expect(parseHetu(' 131052-308t ')).to.equal('131052-308T');
  });

  it('refuses a wrong check character, impossible dates, unknown signs and reserved numbers', () => {
    for (const bad of [
      '131052-308A',
      '290200-345E', // 1900 was not a leap year
      '320152-308T',
      '131052G308T',
      '131052-001T',
      '131052-308',
      '131052308T',
      '',
    ]) {
      expect(parseHetu(bad), bad).to.equal(null);
    }
  });

  it('masks all but the check character', () => {
    expect(maskHetu('131052-308T')).to.equal('******-***T');
    expect(MASKED_HETU.test(maskHetu('010594Y9021'))).to.equal(true);
  });
});
