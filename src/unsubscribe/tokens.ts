import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import type { TokenKey } from '../config/env.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';

/**
 * Signed capabilities we put in mail. Two forms, one key set (TOKEN_KEYS: first signs, all verify):
 *
 * - URL tokens (/u/:token, /subscribe/confirm/:token): JWT, HS256 only, algorithm pinned on verify,
 *   one audience per purpose, `kid` header naming the key, claims of opaque ids only. Unsubscribe
 *   tokens never expire: a link in a two-year-old mail must still work.
 * - Address tokens (unsubscribe+TOKEN@, bounces+TOKEN@): a JWT does not fit, because RFC 5321
 *   limits a local part to 64 octets and some relays fold its case. So these are lower-case
 *   base32 of subscriber id + campaign id + a 64-bit HMAC over the purpose and both ids: 52
 *   characters, which with "unsubscribe+" is exactly 64.
 * - Link tokens (/r/:token, /o/:token): the same for every recipient of a campaign, so they hold
 *   the campaign id and a link index only; base64url of both plus a 96-bit HMAC-SHA256 over the
 *   purpose and both (35 characters). No header names an algorithm, so none can be swapped in.
 */
export const URL_PURPOSES = ['unsubscribe', 'preferences', 'subscribe-confirm'] as const;
export type UrlPurpose = (typeof URL_PURPOSES)[number];
export type AddressPurpose = 'unsubscribe' | 'bounce';
/** Campaign links (src/campaigns/stats): a wrapped link's click, the open pixel. */
export type LinkPurpose = 'click' | 'open';

/** What a campaign link token names: a campaign and one of its links, never a person. */
export interface LinkClaims {
  campaignId: string;
  /** The link's index in the campaign's list of links; 0 for the open pixel. */
  index: number;
}

export interface TokenClaims {
  /** Subscriber id. */
  subscriberId: string;
  campaignId?: string;
  listId?: string;
}

const MAX_TOKEN_LENGTH = 1024;
const objectIdPattern = /^[0-9a-f]{24}$/;
const invalid = () => new AppError('bad_request', 'the link is invalid or has been altered');

interface Key {
  kid: string;
  key: KeyObject;
  raw: Buffer;
}

export class TokenService {
  private readonly keys: Key[];

  constructor(
    keys: TokenKey[],
    private readonly clock: Clock,
  ) {
    if (keys.length === 0) throw new Error('TokenService needs at least one key');
    // KeyObjects: jsonwebtoken re-imports a string secret on every call, which is far slower.
    this.keys = keys.map((k) => ({
      kid: k.kid,
      key: createSecretKey(Buffer.from(k.secret)),
      raw: Buffer.from(k.secret),
    }));
  }

  sign(purpose: UrlPurpose, claims: TokenClaims, opts: { expiresInSeconds?: number } = {}): string {
    const payload: Record<string, string | number> = { sub: claims.subscriberId };
    if (claims.campaignId) payload.c = claims.campaignId;
    if (claims.listId) payload.l = claims.listId;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (opts.expiresInSeconds) payload.exp = now + opts.expiresInSeconds;
    const signer = this.keys[0]!;
    return jwt.sign(payload, signer.key, {
      algorithm: 'HS256',
      keyid: signer.kid,
      audience: purpose,
      noTimestamp: true,
    });
  }

  /** The claims of a valid token for this purpose; anything else is a 400 that reveals nothing. */
  verify(purpose: UrlPurpose, token: string): TokenClaims {
    const claims: TokenClaims & { purpose?: UrlPurpose } = this.verifyAny([purpose], token);
    delete claims.purpose;
    return claims;
  }

  /** Like verify, for a URL that serves several purposes (/u/:token: unsubscribe, preferences). */
  verifyAny(
    purposes: [UrlPurpose, ...UrlPurpose[]],
    token: string,
  ): TokenClaims & { purpose: UrlPurpose } {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded?.header.kid;
    const key = this.keys.find((k) => k.kid === kid);
    if (!decoded || !key || decoded.header.alg !== 'HS256') throw invalid();
    let payload: JwtPayload;
    try {
      payload = jwt.verify(token, key.key, {
        algorithms: ['HS256'],
        audience: purposes,
        clockTimestamp: Math.floor(this.clock.now().getTime() / 1000),
      }) as JwtPayload;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError)
        throw new AppError('bad_request', 'the link has expired', { expired: true });
      throw invalid();
    }
    const purpose = purposes.find((p) => p === payload.aud);
    if (!purpose) throw invalid();
    return { ...claimsOf(payload.sub, payload.c, payload.l), purpose };
  }

  signAddress(purpose: AddressPurpose, subscriberId: string, campaignId: string): string {
    const ids = Buffer.from(subscriberId + campaignId, 'hex');
    if (ids.length !== 24) throw new Error('address tokens take two ObjectIds');
    return base32(Buffer.concat([ids, this.mac(this.keys[0]!, purpose, ids)]));
  }

  verifyAddress(purpose: AddressPurpose, token: string): TokenClaims & { campaignId: string } {
    const bytes = /^[a-z2-7]{52}$/i.test(token) ? unbase32(token.toLowerCase()) : null;
    if (!bytes || bytes.length !== 32) throw invalid();
    const ids = bytes.subarray(0, 24);
    const mac = bytes.subarray(24);
    if (!this.keys.some((k) => timingSafeEqual(this.mac(k, purpose, ids), mac))) throw invalid();
    const hex = ids.toString('hex');
    return { subscriberId: hex.slice(0, 24), campaignId: hex.slice(24) };
  }

  signLink(purpose: LinkPurpose, claims: LinkClaims): string {
    const body = linkBody(claims);
    return Buffer.concat([body, this.linkMac(this.keys[0]!, purpose, body)]).toString('base64url');
  }

  /** The claims of a valid link token for this purpose; anything else is a 400. */
  verifyLink(purpose: LinkPurpose, token: string): LinkClaims {
    const bytes = LINK_TOKEN.test(token) ? Buffer.from(token, 'base64url') : null;
    if (!bytes || bytes.length !== LINK_BODY_BYTES + LINK_MAC_BYTES) throw invalid();
    const body = bytes.subarray(0, LINK_BODY_BYTES);
    const mac = bytes.subarray(LINK_BODY_BYTES);
    if (!this.keys.some((k) => timingSafeEqual(this.linkMac(k, purpose, body), mac)))
      throw invalid();
    return { campaignId: body.subarray(0, 12).toString('hex'), index: body.readUInt16BE(12) };
  }

  private linkMac(key: Key, purpose: LinkPurpose, body: Buffer): Buffer {
    return createHmac('sha256', key.raw)
      .update(`kirje-link-${purpose}:`)
      .update(body)
      .digest()
      .subarray(0, LINK_MAC_BYTES);
  }

  private mac(key: Key, purpose: AddressPurpose, ids: Buffer): Buffer {
    return createHmac('sha256', key.raw)
      .update(`kirje-address-${purpose}:`)
      .update(ids)
      .digest()
      .subarray(0, 8);
  }
}

const LINK_BODY_BYTES = 14;
const LINK_MAC_BYTES = 12;
/** The most links a campaign's index can name. */
export const MAX_LINK_INDEX = 0xffff;
const LINK_TOKEN = /^[A-Za-z0-9_-]{35}$/;

function linkBody({ campaignId, index }: LinkClaims): Buffer {
  if (!objectIdPattern.test(campaignId) || !Number.isInteger(index) || index < 0)
    throw new Error('link tokens take a campaign id and a link index');
  if (index > MAX_LINK_INDEX) throw new Error('link index out of range');
  const body = Buffer.alloc(LINK_BODY_BYTES);
  body.write(campaignId, 0, 'hex');
  body.writeUInt16BE(index, 12);
  return body;
}

function claimsOf(sub: unknown, c: unknown, l: unknown): TokenClaims {
  const ok = (v: unknown) => v === undefined || (typeof v === 'string' && objectIdPattern.test(v));
  if (typeof sub !== 'string' || !objectIdPattern.test(sub) || !ok(c) || !ok(l)) throw invalid();
  const claims: TokenClaims = { subscriberId: sub };
  if (c) claims.campaignId = c as string;
  if (l) claims.listId = l as string;
  return claims;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(s: string): Buffer | null {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
