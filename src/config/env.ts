import { z } from 'zod';

/**
 * Every environment variable Kirje reads, validated once at start.
 * `.env.example` lists exactly these keys; test/unit/config/env.test.ts keeps the two in step.
 */

// An empty value (`X=` in a .env file) means "not set" for every variable but the few that say otherwise.
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
/** A number variable where an empty value means its default. */
const number = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema);
const optionalInt = (min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(min).max(max).default(fallback),
  );
const port = z.coerce.number().int().min(0).max(65535);

const positiveInt = (fallback: number) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).default(fallback));
// Only the literal words count: a typo must not silently turn recording of personal data on.
const flag = z.preprocess(
  (v) => (v === '' || v === undefined ? 'false' : v),
  z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
);

const secretPattern = /^[A-Za-z0-9_-]{1,32}$/;

export const PLACEHOLDER_MARKERS = ['change-me', 'changeme', 'placeholder', 'example-secret'];
export const PLACEHOLDER_ORG_NAME = 'Example Organisation (set ORG_NAME)';
export const PLACEHOLDER_ORG_ADDRESS = 'Example Street 1, 00100 Helsinki (set ORG_ADDRESS)';

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.preprocess((v) => (v === '' ? undefined : v), port.default(3000)),
  BASE_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
      .transform((u) => new URL(u).href.replace(/\/+$/, ''))
      .optional(),
  ),
  MONGODB_URI: optionalString.pipe(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
  ),
  DATA_DIR: optionalString.pipe(z.string().default('./data')),
  SMTP_URL: optionalString.pipe(
    z.url({ protocol: /^smtps?$/, message: 'must be smtp:// or smtps:// URL' }).optional(),
  ),
  MAIL_FROM: optionalString,
  TOKEN_KEYS: optionalString,
  DATA_KEY: optionalString,
  // Empty disables the listener, unset means the default port.
  INBOUND_SMTP_PORT: z.preprocess(
    (v) => (v === undefined ? 2526 : v === '' ? null : v),
    port.nullable(),
  ),
  INBOUND_DOMAIN: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9.-]+$/i, 'must be a domain name')
      .transform((d) => d.toLowerCase())
      .optional(),
  ),
  INBOUND_MAX_BYTES: optionalInt(1024, 100 * 1024 * 1024, 10 * 1024 * 1024),
  BOUNCE_HARD_LIMIT: optionalInt(1, 100, 1),
  IMAP_URL: optionalString.pipe(
    z.url({ protocol: /^imaps?$/, message: 'must be imap:// or imaps:// URL' }).optional(),
  ),
  IMAP_USER: optionalString,
  IMAP_PASSWORD: optionalString,
  IMAP_MAILBOX: optionalString.pipe(z.string().default('INBOX')),
  IMAP_PROCESSED_FOLDER: optionalString.pipe(z.string().default('Kirje/Processed')),
  IMAP_POLL_SECONDS: optionalInt(5, 3600, 60),
  DKIM_DOMAIN: optionalString,
  DKIM_SELECTOR: optionalString,
  DKIM_PRIVATE_KEY: optionalString,
  DKIM_PRIVATE_KEY_FILE: optionalString,
  ORG_NAME: optionalString.pipe(z.string().default(PLACEHOLDER_ORG_NAME)),
  ORG_ADDRESS: optionalString.pipe(z.string().default(PLACEHOLDER_ORG_ADDRESS)),
  ORG_CONTACT_EMAIL: optionalString.pipe(z.email().optional()),
  SUBSCRIBE_CONFIRM_TTL_HOURS: positiveInt(168),
  SUBSCRIBE_CONFIRM_INTERVAL_MINUTES: positiveInt(10),
  SUBSCRIBE_IP_LIMIT_PER_HOUR: positiveInt(30),
  UNCONFIRMED_RETENTION_DAYS: positiveInt(30),
  CONSENT_RECORD_IP: flag,
  SUBSCRIBE_CORS_ORIGINS: optionalString.pipe(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be origins like https://shop.example.com'),
        ),
      )
      .default([]),
  ),
  // RFC 8058 §4 discourages mailing someone who just asked for no more mail, hence off.
  UNSUBSCRIBE_CONFIRMATION_MAIL: z.preprocess(
    (v) => (v === undefined || v === '' ? 'false' : v),
    z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
  ),
  SEND_WORKER: optionalString.pipe(z.enum(['true', 'false']).default('true')),
  SEND_RATE_PER_SECOND: number(z.coerce.number().positive().max(100_000).default(100)),
  SEND_CONCURRENCY: number(z.coerce.number().int().min(1).max(100).default(5)),
  SEND_MAX_RETRIES: number(z.coerce.number().int().min(0).max(50).default(5)),
  SEND_RETRY_BASE_SECONDS: number(z.coerce.number().positive().default(60)),
  SEND_LEASE_SECONDS: number(z.coerce.number().min(2).max(3600).default(60)),
  SEND_BATCH_SIZE: number(z.coerce.number().int().min(1).max(5000).default(200)),
  WEBHOOK_DISABLE_AFTER_FAILURES: number(z.coerce.number().int().min(1).max(100).default(8)),
  WEBHOOK_TIMEOUT_SECONDS: number(z.coerce.number().positive().max(120).default(10)),
  // Unset means true in development and tests (local receivers), false in production.
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: optionalString.pipe(
    z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  ),
  GUARD_HARD_BOUNCE_PERCENT: number(z.coerce.number().positive().max(100).default(5)),
  GUARD_COMPLAINT_PERCENT: number(z.coerce.number().positive().max(100).default(0.3)),
  GUARD_MIN_DELIVERED: positiveInt(200),
  // Person-level tracking is refused: the only accepted value is off (docs/analytics.md).
  TRACKING_PERSON_LEVEL: optionalString.pipe(
    z
      .enum(['off'], {
        message:
          'only "off" is accepted: Kirje counts clicks and opens per campaign, never per person (docs/analytics.md)',
      })
      .default('off'),
  ),
  SEND_WINDOW_SIZE: number(z.coerce.number().int().min(1).max(500).default(50)),
  SEND_DOMAIN_RATE_PER_SECOND: number(z.coerce.number().min(0).max(100_000).default(0)),
  SEND_RECIPIENT_RECORD_DAYS: number(z.coerce.number().int().min(1).max(3650).default(30)),
  RETENTION_INTERVAL: optionalString.pipe(z.string().default('6 months')),
  RETENTION_CONTACT_MONTHS: positiveInt(6),
  RETENTION_INBOUND_MONTHS: positiveInt(6),
  RETENTION_DELIVERY_MONTHS: positiveInt(6),
  ADMIN_REQUIRE_2FA: flag,
  ADMIN_SESSION_IDLE_MINUTES: positiveInt(30),
  ADMIN_SESSION_MAX_HOURS: positiveInt(12),
});

export type RawEnv = z.infer<typeof envSchema>;

export interface TokenKey {
  kid: string;
  secret: string;
}

/** Parses `kid:secret,kid:secret`; the first key signs, all verify. */
export function parseTokenKeys(value: string): TokenKey[] {
  const keys = value.split(',').map((pair) => {
    const at = pair.indexOf(':');
    const kid = pair.slice(0, at).trim();
    const secret = pair.slice(at + 1).trim();
    if (at < 1 || !secretPattern.test(kid)) {
      throw new Error('each entry must be kid:secret with a kid of letters, digits, - or _');
    }
    if (secret.length < 32)
      throw new Error(`secret of key "${kid}" must be at least 32 characters`);
    return { kid, secret };
  });
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('kids must be unique');
  return keys;
}

/** DATA_KEY: 32 random bytes, base64; the root of the at-rest encryption and email HMAC keys. */
export function parseDataKey(value: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new Error('must be 32 bytes encoded as base64');
  return key;
}
