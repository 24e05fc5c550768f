import { ImapFlow } from 'imapflow';
import type { ImapConfig } from '../config/config.js';
import type { Logger } from '../shared/logger.js';
import type { InboundPipeline } from './pipeline.js';

/**
 * Reads an existing mailbox (IMAP_URL) for operators who cannot point an MX at the listener.
 * Every message goes through the same pipeline; only once it is recorded is it moved to the
 * processed folder, so a crash in between means a re-read, which deduplication makes harmless.
 * Messages larger than the inbound limit are moved without being downloaded.
 */
export class ImapPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pipeline: InboundPipeline,
    private readonly cfg: ImapConfig,
    private readonly maxBytes: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.pollOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'IMAP poll failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.cfg.pollSeconds * 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the mailbox; returns how many messages were handed to the pipeline. */
  async pollOnce(): Promise<number> {
    const url = new URL(this.cfg.url);
    const client = new ImapFlow({
      host: url.hostname,
      port: Number(url.port) || (url.protocol === 'imaps:' ? 993 : 143),
      secure: url.protocol === 'imaps:',
      auth: {
        user: this.cfg.user ?? decodeURIComponent(url.username),
        pass: this.cfg.password ?? decodeURIComponent(url.password),
      },
      logger: false,
    });
    await client.connect();
    let count = 0;
    try {
      const lock = await client.getMailboxLock(this.cfg.mailbox);
      try {
        const uids = (await client.search({ all: true }, { uid: true })) || [];
        if (uids.length === 0) return 0;
        const processed = await this.processedFolder(client);
        for (const uid of uids) {
          if (this.stopped) break;
          const head = await client.fetchOne(String(uid), { size: true }, { uid: true });
          if (!head) continue; // expunged by another client meanwhile
          if ((head.size ?? 0) > this.maxBytes) {
            this.logger.warn({ uid }, 'IMAP message over the inbound size limit; moved unread');
          } else {
            const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
            if (!msg || !msg.source) continue;
            await this.pipeline.process(msg.source, { via: 'imap' });
            count += 1;
          }
          await client.messageMove(String(uid), processed, { uid: true });
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    return count;
  }

  /**
   * The processed folder's path on this server. IMAP_PROCESSED_FOLDER separates levels with `/`;
   * servers differ (Dovecot's Maildir uses `.`, and refuses `/` in a name), so the levels are
   * joined with the server's own delimiter. Created when missing.
   */
  private async processedFolder(client: ImapFlow): Promise<string> {
    const levels = this.cfg.processedFolder.split('/').filter(Boolean);
    try {
      return (await client.mailboxCreate(levels)).path;
    } catch (err) {
      // Servers without RFC 5530 codes answer a plain NO when the folder already exists.
      const ns = client.namespace;
      const wanted = (ns?.prefix ?? '') + levels.join(ns?.delimiter ?? '/');
      const existing = (await client.list()).find((box) => box.path === wanted);
      if (existing) return existing.path;
      throw err;
    }
  }
}
