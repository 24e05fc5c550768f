import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  envSchema,
  parseDataKey,
  parseTokenKeys,
  PLACEHOLDER_MARKERS,
  PLACEHOLDER_ORG_ADDRESS,
  PLACEHOLDER_ORG_NAME,
  type TokenKey,
} from './env.js';
import { parseInterval, type Interval } from '../shared/periods.js';

export interface DkimConfig {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  logLevel: string;
  port: number;
  baseUrl: string;
  mongodbUri: string | undefined;
  dataDir: string;
  smtpUrl: string | undefined;
  mailFrom: string | undefined;
  /** Undefined until resolved from the environment or the local secrets file. */
  tokenKeys: TokenKey[] | undefined;
  dataKey: Buffer | undefined;
  inboundSmtpPort: number | null;
  inboundDomain: string;
  /** Largest inbound message accepted (SMTP SIZE, HTTP body); bigger ones are refused. */
  inboundMaxBytes: number;
  /** Hard bounces after which an address is suppressed. */
  bounceHardLimit: number;
  /** Undefined unless IMAP_URL is set: the poller is off by default. */
  imap: ImapConfig | undefined;
  dkim: DkimConfig | undefined;
  org: { name: string; address: string; contactEmail: string | undefined };
  subscribe: SubscribeConfig;
  /** Mail a short confirmation after someone unsubscribes on the web (off by default). */
  unsubscribeConfirmationMail: boolean;
  send: SendConfig;
  webhooks: {
    disableAfterFailures: number;
    timeoutMs: number;
    /** Endpoints on loopback, private or link-local addresses (local receivers only). */
    allowPrivateAddresses: boolean;
  };
  /** The deliverability guard (src/campaigns/stats/guard.ts): shares as fractions, 0.05 = 5 %. */
  guard: { hardBounceShare: number; complaintShare: number; minDelivered: number };
  retention: RetentionConfig;
  admin: AdminConfig;
}

/** Staff sign-in to the admin app (src/auth/sessions.ts). */
export interface AdminConfig {
  /** Admins must have a second factor before they may do anything but enrol one. */
  require2fa: boolean;
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}

/** The retention job's rules (src/privacy/retention.ts). */
export interface RetentionConfig {
  /** How often the scheduled run happens; null (`off`) stops the schedule, manual runs still work. */
  interval: Interval | null;
  /** UNCONFIRMED_RETENTION_DAYS, shared with the subscribe forms. */
  unconfirmedDays: number;
  contactMonths: number;
  inboundMonths: number;
  deliveryMonths: number;
}

export interface SubscribeConfig {
  confirmTtlHours: number;
  /** At most one confirmation mail per address in this interval. */
  confirmIntervalMinutes: number;
  ipLimitPerHour: number;
  /** Unconfirmed entries older than this are removed by the retention job. */
  unconfirmedRetentionDays: number;
  /** Keep IP address and user agent in consent events. */
  recordIp: boolean;
  /** Origins allowed to call POST /subscribe with JSON from a browser. */
  corsOrigins: string[];
}

export interface ImapConfig {
  url: string;
  user: string | undefined;
  password: string | undefined;
  mailbox: string;
  processedFolder: string;
  pollSeconds: number;
}

/** The campaign sending worker (src/campaigns/send/worker.ts). */
export interface SendConfig {
  /** Whether this process runs a sending worker (several processes may). */
  worker: boolean;
  ratePerSecond: number;
  /** Parallel SMTP transactions, also the size of the SMTP connection pool. */
  concurrency: number;
  maxRetries: number;
  retryBaseSeconds: number;
  leaseSeconds: number;
  batchSize: number;
  /** Recipients handed to SMTP under one durable record (docs/sending.md). */
  windowSize: number;
  /** Mails per second to one recipient domain; 0: no cap. */
  domainRatePerSecond: number;
  /** Days a finished campaign keeps per-recipient records before only its counters remain. */
  recipientRecordDays: number;
}

/** A configuration problem, reported as one line that names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

function parseOr<T>(variable: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ConfigError(variable, (err as Error).message);
  }
}

function isPlaceholder(value: string | undefined): boolean {
  return value !== undefined && PLACEHOLDER_MARKERS.some((m) => value.toLowerCase().includes(m));
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';

  if (production) {
    for (const name of ['TOKEN_KEYS', 'DATA_KEY', 'BASE_URL'] as const) {
      if (!e[name]) throw new ConfigError(name, 'is required when NODE_ENV=production');
    }
    for (const name of ['TOKEN_KEYS', 'DATA_KEY', 'DKIM_PRIVATE_KEY'] as const) {
      if (isPlaceholder(e[name])) throw new ConfigError(name, 'still holds a placeholder secret');
    }
    if (e.ORG_NAME === PLACEHOLDER_ORG_NAME)
      throw new ConfigError('ORG_NAME', 'must be set in production');
    if (e.ORG_ADDRESS === PLACEHOLDER_ORG_ADDRESS) {
      throw new ConfigError('ORG_ADDRESS', 'must be set in production');
    }
  }

  const tokenKeys = e.TOKEN_KEYS
    ? parseOr('TOKEN_KEYS', () => parseTokenKeys(e.TOKEN_KEYS!))
    : undefined;
  const dataKey = e.DATA_KEY ? parseOr('DATA_KEY', () => parseDataKey(e.DATA_KEY!)) : undefined;
  const baseUrl = e.BASE_URL ?? `http://localhost:${e.PORT}`;

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    baseUrl,
    mongodbUri: e.MONGODB_URI,
    dataDir: path.resolve(e.DATA_DIR),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    tokenKeys,
    dataKey,
    inboundSmtpPort: e.INBOUND_SMTP_PORT,
    inboundDomain: e.INBOUND_DOMAIN ?? new URL(baseUrl).hostname,
    inboundMaxBytes: e.INBOUND_MAX_BYTES,
    bounceHardLimit: e.BOUNCE_HARD_LIMIT,
    imap: e.IMAP_URL
      ? {
          url: e.IMAP_URL,
          user: e.IMAP_USER,
          password: e.IMAP_PASSWORD,
          mailbox: e.IMAP_MAILBOX,
          processedFolder: e.IMAP_PROCESSED_FOLDER,
          pollSeconds: e.IMAP_POLL_SECONDS,
        }
      : undefined,
    dkim: loadDkim(e),
    org: { name: e.ORG_NAME, address: e.ORG_ADDRESS, contactEmail: e.ORG_CONTACT_EMAIL },
    retention: {
      interval:
        e.RETENTION_INTERVAL.trim().toLowerCase() === 'off'
          ? null
          : parseOr('RETENTION_INTERVAL', () => parseInterval(e.RETENTION_INTERVAL)),
      unconfirmedDays: e.UNCONFIRMED_RETENTION_DAYS,
      contactMonths: e.RETENTION_CONTACT_MONTHS,
      inboundMonths: e.RETENTION_INBOUND_MONTHS,
      deliveryMonths: e.RETENTION_DELIVERY_MONTHS,
    },
    subscribe: {
      confirmTtlHours: e.SUBSCRIBE_CONFIRM_TTL_HOURS,
      confirmIntervalMinutes: e.SUBSCRIBE_CONFIRM_INTERVAL_MINUTES,
      ipLimitPerHour: e.SUBSCRIBE_IP_LIMIT_PER_HOUR,
      unconfirmedRetentionDays: e.UNCONFIRMED_RETENTION_DAYS,
      recordIp: e.CONSENT_RECORD_IP,
      corsOrigins: e.SUBSCRIBE_CORS_ORIGINS,
    },
    unsubscribeConfirmationMail: e.UNSUBSCRIBE_CONFIRMATION_MAIL,
    admin: {
      require2fa: e.ADMIN_REQUIRE_2FA,
      sessionIdleMinutes: e.ADMIN_SESSION_IDLE_MINUTES,
      sessionMaxHours: e.ADMIN_SESSION_MAX_HOURS,
    },
    guard: {
      hardBounceShare: e.GUARD_HARD_BOUNCE_PERCENT / 100,
      complaintShare: e.GUARD_COMPLAINT_PERCENT / 100,
      minDelivered: e.GUARD_MIN_DELIVERED,
    },
    send: {
      worker: e.SEND_WORKER === 'true',
      ratePerSecond: e.SEND_RATE_PER_SECOND,
      concurrency: e.SEND_CONCURRENCY,
      maxRetries: e.SEND_MAX_RETRIES,
      retryBaseSeconds: e.SEND_RETRY_BASE_SECONDS,
      leaseSeconds: e.SEND_LEASE_SECONDS,
      batchSize: e.SEND_BATCH_SIZE,
      windowSize: e.SEND_WINDOW_SIZE,
      domainRatePerSecond: e.SEND_DOMAIN_RATE_PER_SECOND,
      recipientRecordDays: e.SEND_RECIPIENT_RECORD_DAYS,
    },
    webhooks: {
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      allowPrivateAddresses: e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
        ? e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true'
        : !production,
    },
  };
}

function loadDkim(e: ReturnType<typeof envSchema.parse>): DkimConfig | undefined {
  const any = e.DKIM_DOMAIN || e.DKIM_SELECTOR || e.DKIM_PRIVATE_KEY || e.DKIM_PRIVATE_KEY_FILE;
  if (!any) return undefined;
  if (!e.DKIM_DOMAIN)
    throw new ConfigError('DKIM_DOMAIN', 'is required when DKIM signing is configured');
  if (!e.DKIM_SELECTOR) {
    throw new ConfigError('DKIM_SELECTOR', 'is required when DKIM signing is configured');
  }
  let privateKey = e.DKIM_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (!privateKey && e.DKIM_PRIVATE_KEY_FILE) {
    privateKey = parseOr('DKIM_PRIVATE_KEY_FILE', () =>
      readFileSync(e.DKIM_PRIVATE_KEY_FILE!, 'utf8'),
    );
  }
  if (!privateKey || !privateKey.includes('PRIVATE KEY')) {
    throw new ConfigError(
      'DKIM_PRIVATE_KEY',
      'must hold a PEM private key (or set DKIM_PRIVATE_KEY_FILE)',
    );
  }
  return { domainName: e.DKIM_DOMAIN, keySelector: e.DKIM_SELECTOR, privateKey };
}
