import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Types } from 'mongoose';
import nodemailer from 'nodemailer';
import type { DNSResolver } from '../../src/inbound/authenticator.js';
import type { TestApp } from './app.js';
import { createSubscriber, email } from './factories.js';

/**
 * Mail authentication in tests: a DKIM key generated per run, and a resolver that publishes its
 * public key and the SPF/DMARC records of the test domains. example.com (subscribers) rejects
 * unauthenticated mail; example.net (strangers, attackers) allows 127.0.0.1 by SPF.
 */
export const DKIM_SELECTOR = 'kirjetest';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKey = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
export const dkimPrivateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const records: Record<string, string[]> = {
  [`${DKIM_SELECTOR}._domainkey.example.com`]: [`v=DKIM1; k=rsa; p=${publicKey}`],
  '_dmarc.example.com': ['v=DMARC1; p=reject; adkim=r; aspf=r'],
  'example.com': ['v=spf1 -all'],
  'example.net': ['v=spf1 ip4:127.0.0.1 -all'],
  '_dmarc.example.net': ['v=DMARC1; p=none'],
};

export const testDns: DNSResolver = async (domain, rrtype) => {
  const txt = rrtype === 'TXT' ? records[domain.toLowerCase()] : undefined;
  if (!txt) throw Object.assign(new Error(`ENOTFOUND ${domain}`), { code: 'ENOTFOUND' });
  return txt.map((r) => [r]);
};

/**
 * Signs as the From domain example.com would: nodemailer's DKIM signer over the raw message.
 * (mailauth 4.13's dkimSign produced an unverifiable signature for about 1 message in 150 here;
 * its verifier, which the service uses, agrees with nodemailer's signatures every time.)
 */
const signer = nodemailer.createTransport({
  streamTransport: true,
  buffer: true,
  dkim: { domainName: 'example.com', keySelector: DKIM_SELECTOR, privateKey: dkimPrivateKey },
});

export async function signExampleCom(raw: Buffer): Promise<Buffer> {
  const info = await signer.sendMail({
    raw,
    envelope: { from: 'signer@example.com', to: ['x@example.com'] },
  });
  return info.message as Buffer;
}

export interface CampaignSubscriber {
  subscriberId: string;
  campaignId: string;
  listId: string;
  email: string;
}

/** A subscribed person on one list, and a campaign (as issue 4 stores it) sent to that list. */
export async function campaignSubscriber(t: TestApp): Promise<CampaignSubscriber> {
  const { models } = t.db;
  const address = email('inbound');
  const sub = {
    _id: await createSubscriber(t.services, {
      email: address,
      source: 'test',
      status: 'subscribed',
      locale: 'fi',
    }),
  };
  const list = await models.List.create({ name: 'Uutiskirje', slug: `news-${sub._id}` });
  await models.Membership.create({ subscriberId: sub._id, listId: list._id, status: 'subscribed' });
  const campaignId = new Types.ObjectId();
  await t.db.connection.collection('campaigns').insertOne({ _id: campaignId, listIds: [list._id] });
  return {
    subscriberId: String(sub._id),
    campaignId: String(campaignId),
    listId: String(list._id),
    email: address,
  };
}

export function fillPlaceholders(t: TestApp, text: string, s: CampaignSubscriber): string {
  const unsub = t.services.tokens.signAddress('unsubscribe', s.subscriberId, s.campaignId);
  return text
    .replaceAll('{{SUBSCRIBER_EMAIL}}', s.email)
    .replaceAll('{{MESSAGE_ID}}', `${s.campaignId}.${s.subscriberId}@${t.config.inboundDomain}`)
    .replaceAll('{{UNSUB_TOKEN}}', unsub)
    .replaceAll('{{UNSUB_TOKEN_UPPER}}', unsub.toUpperCase())
    .replaceAll(
      '{{BOUNCE_TOKEN}}',
      t.services.tokens.signAddress('bounce', s.subscriberId, s.campaignId),
    )
    .replaceAll('{{INBOUND_DOMAIN}}', t.config.inboundDomain);
}

/** Delivers a raw message over real SMTP, as a sending MTA would. */
export async function deliver(
  port: number,
  raw: Buffer,
  envelope: { from: string; to: string[] },
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    name: 'mx.sender.example.net',
  });
  try {
    await transport.sendMail({ envelope, raw });
  } finally {
    transport.close();
  }
}

/** A message of the .eml corpus, as text with its placeholders still in. */
export const fixture = (name: string) =>
  readFileSync(path.resolve('test/fixtures/emails', name), 'utf8');

/** Mail on the wire ends its lines with CRLF, whatever the fixture file uses. */
export const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'));

/** The person's unsubscribe events. */
export async function unsubscribeEvents(t: TestApp, s: CampaignSubscriber): Promise<number> {
  return t.db.models.UnsubscribeEvent.countDocuments({ subscriberId: s.subscriberId });
}
