import { expect } from 'chai';
import { DataProtector } from '../../../src/shared/crypto.js';

describe('DataProtector', () => {
  const p = new DataProtector(Buffer.alloc(32, 3));

  it('seals and opens a value, differently each time', () => {
    const a = p.encrypt('131052-308T');
    expect(a).to.not.include('131052');
    expect(a).to.not.equal(p.encrypt('131052-308T'));
    expect(p.decrypt(a)).to.equal('131052-308T');
  });

  it('refuses a tampered ciphertext', () => {
    const parts = p.encrypt('131052-308T').split('.');
    parts[3] = Buffer.from('x'.repeat(11)).toString('base64url');
    expect(() => p.decrypt(parts.join('.'))).to.throw();
  });

  it('hashes emails stably under one key and differently under another', () => {
    expect(p.emailHash('a@example.com')).to.equal(p.emailHash('a@example.com'));
    expect(new DataProtector(Buffer.alloc(32, 4)).emailHash('a@example.com')).to.not.equal(
      p.emailHash('a@example.com'),
    );
  });
});
