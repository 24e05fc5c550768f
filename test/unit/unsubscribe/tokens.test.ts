import { expect } from 'chai';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { parseTokenKeys } from '../../../src/config/env.js';
import type { AppError } from '../../../src/shared/errors.js';
import { TokenService } from '../../../src/unsubscribe/tokens.js';
import { FakeClock } from '../../helpers/clock.js';

const NEW = 'k2:' + 'n'.repeat(40);
const OLD = 'k1:' + 'o'.repeat(40);
const SUB = '65a1b2c3d4e5f60718293a4b';
const CAMPAIGN = '65a1b2c3d4e5f60718293a4c';
const LIST = '65a1b2c3d4e5f60718293a4d';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function rejected(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect((err as AppError).status, String(err)).to.equal(400);
    return err as AppError;
  }
  expect.fail('the token was accepted');
}

describe('TokenService: URL tokens', () => {
  const clock = new FakeClock();
  const tokens = new TokenService(parseTokenKeys(`${NEW},${OLD}`), clock);
  const token = tokens.sign('unsubscribe', { subscriberId: SUB, campaignId: CAMPAIGN });
  const [header, payload, signature] = token.split('.') as [string, string, string];

  it('round-trips opaque ids, names its key and stays short enough for a mail client', () => {
    expect(tokens.verify('unsubscribe', token)).to.deep.equal({
      subscriberId: SUB,
      campaignId: CAMPAIGN,
    });
    const decoded = jwt.decode(token, { complete: true })!;
    expect(decoded.header).to.include({ alg: 'HS256', kid: 'k2' });
    expect(decoded.payload).to.not.have.property('exp');
    expect(decoded.payload).to.not.have.property('iat');
    expect(token.length).to.be.below(256);
    const withList = tokens.sign('unsubscribe', { subscriberId: SUB, listId: LIST });
    expect(tokens.verify('unsubscribe', withList)).to.deep.equal({
      subscriberId: SUB,
      listId: LIST,
    });
  });

  it('verifyAny tells which of the allowed purposes the token has', () => {
    const pref = tokens.sign('preferences', { subscriberId: SUB });
    expect(tokens.verifyAny(['unsubscribe', 'preferences'], pref)).to.deep.equal({
      subscriberId: SUB,
      purpose: 'preferences',
    });
    rejected(() =>
      tokens.verifyAny(
        ['unsubscribe', 'preferences'],
        tokens.sign('subscribe-confirm', { subscriberId: SUB }),
      ),
    );
  });

  it('unsubscribe links do not expire: a two-year-old link still verifies', () => {
    const later = new TokenService(
      parseTokenKeys(`${NEW},${OLD}`),
      new FakeClock('2028-06-01T00:00:00Z'),
    );
    expect(later.verify('unsubscribe', token).subscriberId).to.equal(SUB);
  });

  it('rejects a tampered payload', () => {
    const forged = b64({ sub: '65a1b2c3d4e5f60718293aff', c: CAMPAIGN, aud: 'unsubscribe' });
    rejected(() => tokens.verify('unsubscribe', `${header}.${forged}.${signature}`));
  });

  it('rejects a tampered signature', () => {
    const flipped = signature[5] === 'A' ? 'B' : 'A';
    rejected(() =>
      tokens.verify(
        'unsubscribe',
        `${header}.${payload}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`,
      ),
    );
    rejected(() => tokens.verify('unsubscribe', `${header}.${payload}.`));
  });

  it('rejects alg: none', () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const h = b64({ alg, typ: 'JWT', kid: 'k2' });
      rejected(() => tokens.verify('unsubscribe', `${h}.${payload}.`));
      rejected(() => tokens.verify('unsubscribe', `${h}.${payload}.${signature}`));
    }
  });

  it('rejects a token signed with an RS256 key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = jwt.sign({ sub: SUB }, privateKey, {
      algorithm: 'RS256',
      keyid: 'k2',
      audience: 'unsubscribe',
    });
    rejected(() => tokens.verify('unsubscribe', rs));
  });

  it('rejects algorithm confusion: our HS256 secret used as if it were an RS256 public key', () => {
    // The classic attack: header says RS256 (or another HMAC), the MAC is made with a key the
    // attacker believes the server will use; only the pinned algorithm list stops it.
    for (const alg of ['RS256', 'HS384', 'HS512', 'ES256', 'PS256']) {
      const h = b64({ alg, typ: 'JWT', kid: 'k2' });
      const hmacAlg = alg === 'HS384' ? 'sha384' : alg === 'HS512' ? 'sha512' : 'sha256';
      const sig = createHmac(hmacAlg, NEW.slice(3)).update(`${h}.${payload}`).digest('base64url');
      rejected(() => tokens.verify('unsubscribe', `${h}.${payload}.${sig}`));
    }
  });

  it('rejects an unknown kid and a missing kid', () => {
    const other = jwt.sign({ sub: SUB }, NEW.slice(3), {
      algorithm: 'HS256',
      keyid: 'k9',
      audience: 'unsubscribe',
    });
    rejected(() => tokens.verify('unsubscribe', other));
    const noKid = jwt.sign({ sub: SUB }, NEW.slice(3), {
      algorithm: 'HS256',
      audience: 'unsubscribe',
    });
    rejected(() => tokens.verify('unsubscribe', noKid));
  });

  it('rejects the wrong audience', () => {
    rejected(() => tokens.verify('preferences', token));
    rejected(() => tokens.verify('subscribe-confirm', token));
    const noAud = jwt.sign({ sub: SUB }, NEW.slice(3), { algorithm: 'HS256', keyid: 'k2' });
    rejected(() => tokens.verify('unsubscribe', noAud));
  });

  it('rejects claims that are not opaque ids, even when correctly signed', () => {
    const withEmail = jwt.sign({ sub: 'person@example.com' }, NEW.slice(3), {
      algorithm: 'HS256',
      keyid: 'k2',
      audience: 'unsubscribe',
    });
    rejected(() => tokens.verify('unsubscribe', withEmail));
    const objectCampaign = jwt.sign({ sub: SUB, c: { $ne: null } }, NEW.slice(3), {
      algorithm: 'HS256',
      keyid: 'k2',
      audience: 'unsubscribe',
    });
    rejected(() => tokens.verify('unsubscribe', objectCampaign));
  });

  it('rejects 10 KB of garbage and other malformed input quickly and without detail', () => {
    const err = rejected(() => tokens.verify('unsubscribe', randomBytes(7680).toString('base64')));
    expect(err.message).to.equal('the link is invalid or has been altered');
    for (const bad of [
      '',
      '.',
      '..',
      'a.b.c',
      `${header}.${payload}`,
      'x'.repeat(10_240),
      `${token}.x`,
    ]) {
      rejected(() => tokens.verify('unsubscribe', bad));
    }
    rejected(() => tokens.verify('unsubscribe', undefined as unknown as string));
  });

  it('expiring tokens (subscribe-confirm) expire on the injected clock', () => {
    const c = new FakeClock();
    const svc = new TokenService(parseTokenKeys(NEW), c);
    const confirm = svc.sign(
      'subscribe-confirm',
      { subscriberId: SUB },
      { expiresInSeconds: 3600 },
    );
    expect(svc.verify('subscribe-confirm', confirm).subscriberId).to.equal(SUB);
    c.advance(3601_000);
    expect(rejected(() => svc.verify('subscribe-confirm', confirm)).details).to.deep.equal({
      expired: true,
    });
  });

  it('key rotation: a token of the old key verifies while the old key is listed second, not after removal', () => {
    const oldSigner = new TokenService(parseTokenKeys(OLD), clock);
    const oldToken = oldSigner.sign('unsubscribe', { subscriberId: SUB, campaignId: CAMPAIGN });
    expect(jwt.decode(oldToken, { complete: true })!.header.kid).to.equal('k1');
    expect(tokens.verify('unsubscribe', oldToken).campaignId).to.equal(CAMPAIGN);
    // new tokens are signed with the first key
    expect(
      jwt.decode(tokens.sign('unsubscribe', { subscriberId: SUB }), { complete: true })!.header.kid,
    ).to.equal('k2');
    const retired = new TokenService(parseTokenKeys(NEW), clock);
    rejected(() => retired.verify('unsubscribe', oldToken));
    expect(retired.verify('unsubscribe', token).subscriberId).to.equal(SUB);
  });

  it('a key of the same kid but another secret does not verify', () => {
    const impostor = new TokenService(parseTokenKeys('k2:' + 'x'.repeat(40)), clock);
    rejected(() =>
      tokens.verify('unsubscribe', impostor.sign('unsubscribe', { subscriberId: SUB })),
    );
  });
});

describe('TokenService: address tokens', () => {
  const clock = new FakeClock();
  const tokens = new TokenService(parseTokenKeys(`${NEW},${OLD}`), clock);
  const token = tokens.signAddress('unsubscribe', SUB, CAMPAIGN);

  it('round-trip and fit a 64-octet local part with "unsubscribe+"', () => {
    expect(token).to.match(/^[a-z2-7]{52}$/);
    expect(`unsubscribe+${token}`.length).to.be.at.most(64);
    expect(tokens.verifyAddress('unsubscribe', token)).to.deep.equal({
      subscriberId: SUB,
      campaignId: CAMPAIGN,
    });
  });

  it('case-folded input (a relay upper-casing the local part) still verifies', () => {
    expect(tokens.verifyAddress('unsubscribe', token.toUpperCase()).subscriberId).to.equal(SUB);
  });

  it('rejects a tampered token', () => {
    for (const i of [0, 20, 40, 51]) {
      const ch = token[i] === 'a' ? 'b' : 'a';
      rejected(() =>
        tokens.verifyAddress('unsubscribe', token.slice(0, i) + ch + token.slice(i + 1)),
      );
    }
  });

  it('rejects the wrong purpose', () => {
    rejected(() => tokens.verifyAddress('bounce', token));
    const bounce = tokens.signAddress('bounce', SUB, CAMPAIGN);
    rejected(() => tokens.verifyAddress('unsubscribe', bounce));
    expect(tokens.verifyAddress('bounce', bounce).subscriberId).to.equal(SUB);
  });

  it('rejects malformed input', () => {
    for (const bad of [
      '',
      token.slice(1),
      token + 'a',
      token.replace(/.$/, '1'),
      'x'.repeat(10_240),
    ]) {
      rejected(() => tokens.verifyAddress('unsubscribe', bad));
    }
  });

  it('key rotation: an old key verifies while listed, not after removal', () => {
    const oldToken = new TokenService(parseTokenKeys(OLD), clock).signAddress(
      'unsubscribe',
      SUB,
      CAMPAIGN,
    );
    expect(tokens.verifyAddress('unsubscribe', oldToken).campaignId).to.equal(CAMPAIGN);
    rejected(() =>
      new TokenService(parseTokenKeys(NEW), clock).verifyAddress('unsubscribe', oldToken),
    );
  });
});

describe('TokenService: link tokens', () => {
  const tokens = new TokenService(parseTokenKeys(`${NEW},${OLD}`), new FakeClock());
  const token = tokens.signLink('click', { campaignId: CAMPAIGN, index: 2 });

  it('round-trip, hold the campaign and the index only, and are short', () => {
    expect(token).to.match(/^[A-Za-z0-9_-]{35}$/);
    expect(tokens.verifyLink('click', token)).to.deep.equal({ campaignId: CAMPAIGN, index: 2 });
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes.subarray(0, 12).toString('hex')).to.equal(CAMPAIGN);
    expect(bytes.readUInt16BE(12)).to.equal(2);
    expect(bytes).to.have.length(26);
  });

  it('rejects every single-character edit, the wrong purpose and malformed input', () => {
    for (let i = 0; i < token.length; i++) {
      const ch = token[i] === 'A' ? 'B' : 'A';
      rejected(() => tokens.verifyLink('click', token.slice(0, i) + ch + token.slice(i + 1)));
    }
    rejected(() => tokens.verifyLink('open', token));
    for (const bad of ['', 'x'.repeat(35), `${token}A`, token.slice(1), 'a'.repeat(5000)])
      rejected(() => tokens.verifyLink('click', bad));
  });

  it('key rotation: an old key verifies while listed, not after removal', () => {
    const old = new TokenService(parseTokenKeys(OLD), new FakeClock()).signLink('open', {
      campaignId: CAMPAIGN,
      index: 0,
    });
    expect(tokens.verifyLink('open', old).campaignId).to.equal(CAMPAIGN);
    const rotated = new TokenService(parseTokenKeys(NEW), new FakeClock());
    rejected(() => rotated.verifyLink('open', old));
  });
});
