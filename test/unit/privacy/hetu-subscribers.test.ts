import { expect } from 'chai';
import { maskHetu, parseHetu } from '../../../src/privacy/hetu.js';

describe('henkilötunnus', () => {
  it('accepts valid numbers with every kind of century sign, including the 2023 ones', () => {
    for (const hetu of [
      '131052-308T',
      '010594Y9021',
      '010101U1119',
      '010105A123P',
      '290200B004E',
      '311299+456X',
    ])
      expect(parseHetu(hetu), hetu).to.equal(hetu);
    expect(parseHetu(' 131052-308t ')).to.equal('131052-308T');
  });

  it('refuses a wrong check character, an unknown sign, an impossible date and 000/001', () => {
    expect(parseHetu('131052-308U')).to.equal(null);
    expect(parseHetu('131052G308T')).to.equal(null);
    expect(parseHetu('290201A1235')).to.equal(null); // 29 Feb 2001 does not exist
    expect(parseHetu('131052-001X')).to.equal(null);
    expect(parseHetu('131052-308')).to.equal(null);
  });

  it('masks all but the check character', () => {
    expect(maskHetu('131052-308T')).to.equal('******-***T');
  });
});
