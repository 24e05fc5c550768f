import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * At-rest protection derived from DATA_KEY: AES-256-GCM for fields such as the national identity
 * number, and a keyed HMAC of email addresses, so suppressions outlive erasure of the address.
 */
export class DataProtector {
  private readonly encKey: Buffer;
  private readonly hmacKey: Buffer;

  constructor(dataKey: Buffer) {
    this.encKey = Buffer.from(hkdfSync('sha256', dataKey, '', 'kirje field encryption v1', 32));
    this.hmacKey = Buffer.from(hkdfSync('sha256', dataKey, '', 'kirje email hmac v1', 32));
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url; the version lets the key scheme change later. */
  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined)
      throw new Error('unknown ciphertext format');
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(body, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  }

  /** Stable keyed digest of a normalised email address. */
  emailHash(normalisedEmail: string): string {
    return createHmac('sha256', this.hmacKey).update(normalisedEmail).digest('base64url');
  }
}
