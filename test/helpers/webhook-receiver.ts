import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A real HTTP server on a loopback port that keeps the webhooks it accepts; `status` is what it
 * answers (503 plays a receiver that is down, 500 a broken one).
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  status = 204;
  answer = '';
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status >= 200 && this.status < 300)
          this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(this.status, { 'content-type': 'text/plain' });
        res.end(this.answer);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/kirje`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The Standard Webhooks headers of a delivery, as a verifier takes them. */
  static signed(hook: ReceivedHook): Record<string, string> {
    return {
      'webhook-id': String(hook.headers['webhook-id']),
      'webhook-timestamp': String(hook.headers['webhook-timestamp']),
      'webhook-signature': String(hook.headers['webhook-signature']),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
