import { expect } from 'chai';
import { maskEmail, normaliseEmail } from '../../../src/shared/email.js';

describe('normaliseEmail', () => {
  it('trims, lower-cases and punycodes the domain', () => {
    expect(normaliseEmail('  Matti.Meikalainen@Example.COM ')).to.equal(
      'matti.meikalainen@example.com',
    );
    expect(normaliseEmail('anna@München.de')).to.equal('anna@xn--mnchen-3ya.de');
  });

  for (const bad of [
    '',
    'plain',
    '@example.com',
    'a@',
    'a@b',
    'a b@example.com',
    '"q"@example.com',
    'a@-x.com',
    'a@example.123',
    `${'x'.repeat(65)}@example.com`,
    { $gt: '' },
    42,
    null,
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(normaliseEmail(bad)).to.equal(null);
    });
  }

  it('masks an address', () => {
    expect(maskEmail('matti@example.com')).to.equal('ma***@example.com');
    expect(maskEmail('a@example.com')).to.equal('a***@example.com');
  });
});
