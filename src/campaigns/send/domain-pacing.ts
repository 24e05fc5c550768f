import type { Clock } from '../../shared/clock.js';
import { RateLimiter } from './rate-limiter.js';

/** Longest a deferring domain is left alone before it is tried again. */
const MAX_BACKOFF_MS = 3_600_000;

/**
 * Pace per recipient domain. A temporary refusal (4xx) from one domain's mail servers backs that
 * domain off (the first back-off SEND_RETRY_BASE_SECONDS, doubling while it keeps deferring):
 * its further mails are not handed to SMTP until then but retried later, and mail to other
 * domains keeps its pace. Optionally, a cap of mails per second per domain.
 */
export class DomainPacing {
  private readonly backoff = new Map<string, { until: number; ms: number }>();
  private readonly caps = new Map<string, RateLimiter>();

  constructor(
    private readonly clock: Clock,
    private readonly opts: { baseBackoffMs: number; perDomainPerSecond: number },
  ) {}

  /** When the domain may be tried again; undefined when it is not backing off. */
  backingOffUntil(domain: string): Date | undefined {
    const state = this.backoff.get(domain);
    return state && state.until > this.clock.now().getTime() ? new Date(state.until) : undefined;
  }

  /** Resolves when the per-domain cap lets one more mail to the domain go. */
  async take(domain: string): Promise<void> {
    if (this.opts.perDomainPerSecond <= 0) return;
    let cap = this.caps.get(domain);
    if (!cap) {
      cap = new RateLimiter(this.opts.perDomainPerSecond);
      this.caps.set(domain, cap);
    }
    await cap.take();
  }

  /**
   * The domain deferred a mail: back it off, longer each time it defers again after a back-off.
   * Answers to mails already in flight when the back-off began do not extend it.
   */
  deferred(domain: string): void {
    const now = this.clock.now().getTime();
    const previous = this.backoff.get(domain);
    if (previous && previous.until > now) return;
    const ms = previous ? Math.min(previous.ms * 2, MAX_BACKOFF_MS) : this.opts.baseBackoffMs;
    this.backoff.set(domain, { until: now + ms, ms });
  }

  /** The domain accepted a mail: it paces normally again. */
  accepted(domain: string): void {
    this.backoff.delete(domain);
  }
}

/** The domain part of an address, lower-cased. */
export const domainOf = (address: string) =>
  address.slice(address.lastIndexOf('@') + 1).toLowerCase();
