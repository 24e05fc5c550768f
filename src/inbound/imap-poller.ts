import { ImapFlow } from 'imapflow';
import type { ImapConfig } from '../config/config.js';
import type { Logger } from '../shared/logger.js';
import type { InboundPipeline } from './pipeline.js';

/**
 * Reads an existing mailbox (IMAP_URL) for operators who cannot point an MX at the listener.
 * Every message goes through the same pipeline; only once it is recorded is it moved to the
 * processed folder, so a crash in between means a re-read, which deduplication makes harmless.
 * Messages larger than the inbound limit are moved without processing.
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
        await client.mailboxCreate(this.cfg.processedFolder).catch(() => undefined);
        for (const uid of uids) {
          if (this.stopped) break;
          const msg = await client.fetchOne(
            String(uid),
            { source: true, size: true },
            { uid: true },
          );
          if (msg && msg.source && (msg.size ?? msg.source.length) <= this.maxBytes) {
            await this.pipeline.process(msg.source, { via: 'imap' });
            count += 1;
          } else if (msg) {
            this.logger.warn({ uid }, 'IMAP message over the inbound size limit; moved unread');
          }
          await client.messageMove(String(uid), this.cfg.processedFolder, { uid: true });
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    return count;
  }
}
