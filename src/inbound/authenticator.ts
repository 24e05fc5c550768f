import { authenticate, type DNSResolver } from 'mailauth';

export type { DNSResolver };

export interface Envelope {
  via: 'smtp' | 'imap' | 'http';
  mailFrom?: string;
  rcptTo?: string[];
  /** Only the SMTP listener knows the connecting client; without it SPF is not evaluated. */
  remoteIp?: string;
  helo?: string;
}

export interface AuthVerdict {
  spf: string;
  dkim: string;
  dmarc: string;
  /** DMARC passed, or (no DMARC policy) a DKIM or SPF pass aligned with the From domain. */
  fromAuthenticated: boolean;
}

const aligned = (domain: string | undefined, fromDomain: string) =>
  !!domain &&
  (domain.toLowerCase() === fromDomain ||
    domain.toLowerCase().endsWith(`.${fromDomain}`) ||
    fromDomain.endsWith(`.${domain.toLowerCase()}`));

/**
 * SPF, DKIM and DMARC with mailauth. The resolver is injected so tests can publish their own
 * DNS records. Received headers are never trusted: for mail from IMAP or HTTP there is no
 * client IP, so only DKIM (end to end) can authenticate the sender there.
 */
export class MailAuthenticator {
  constructor(private readonly opts: { mta: string; resolver?: DNSResolver }) {}

  async verify(raw: Buffer, env: Envelope, fromAddress: string): Promise<AuthVerdict> {
    const res = await authenticate(raw, {
      ip: env.remoteIp,
      helo: env.helo,
      sender: env.mailFrom,
      mta: this.opts.mta,
      resolver: this.opts.resolver,
      disableArc: true,
      disableBimi: true,
    });
    const fromDomain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
    const spf = res.spf ? res.spf.status.result : 'none';
    const dkimPass = res.dkim.results.filter((r) => r.status.result === 'pass');
    const dkim = dkimPass.length > 0 ? 'pass' : (res.dkim.results[0]?.status.result ?? 'none');
    const dmarc = res.dmarc ? res.dmarc.status.result : 'none';
    const fromAuthenticated =
      dmarc === 'pass' ||
      (dmarc === 'none' &&
        (dkimPass.some((r) => aligned(r.signingDomain, fromDomain)) ||
          (spf === 'pass' && !!res.spf && aligned(res.spf.domain, fromDomain))));
    return { spf, dkim, dmarc, fromAuthenticated };
  }
}
