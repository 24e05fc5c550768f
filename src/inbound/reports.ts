import type { ParsedMail } from 'mailparser';
import { addressesIn, headerEnd, messageIds, parseHeaderBlock } from './headers.js';

/** What a report (DSN or ARF) tells about the original message it is about. */
export interface OriginalRef {
  messageIds: string[];
  /** Addresses from the original's Return-Path and List-Unsubscribe: where our tokens live. */
  addresses: string[];
}

export interface DsnReport {
  /** Worst action over all recipients: hard 5.x.x failure, soft 4.x.x or delay, or nothing. */
  kind: 'hard' | 'soft' | 'none';
  status: string;
  original: OriginalRef;
}

export interface ArfReport {
  feedbackType: string;
  original: OriginalRef;
}

function reportType(parsed: ParsedMail): string | null {
  const ct = parsed.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  if (ct?.value?.toLowerCase() !== 'multipart/report') return null;
  return ct.params?.['report-type']?.toLowerCase() ?? '';
}

export function isReport(parsed: ParsedMail): boolean {
  return reportType(parsed) !== null;
}

const REPORT_WORDS = /multipart\/report|feedback-report|delivery-status/i;
const CONTENT_TYPE_FIELDS = /^content-type[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gim;
// A comment, quoted pair or encoded word in a Content-Type field can spell a type in pieces that
// the MIME parser puts together (`multipart/(x)report`, an encoded top-level type).
const OBSCURED = /[(\\]|=\?/;

/**
 * False when no MIME parser could find a report in the message (latin1 text of the raw bytes):
 * isReport, parseArf and parseDsn each need one of REPORT_WORDS as a Content-Type of the message
 * or of a part, and MIME header fields stand in the raw text as they are. Mail that is no report
 * and is decided by its header fields then needs no MIME parse.
 */
export function mayBeReport(text: string): boolean {
  if (REPORT_WORDS.test(text)) return true;
  for (const field of text.matchAll(CONTENT_TYPE_FIELDS)) if (OBSCURED.test(field[0])) return true;
  return false;
}

function part(parsed: ParsedMail, types: string[]): string | null {
  const a = parsed.attachments.find((x) => types.includes(x.contentType.toLowerCase()));
  return a ? a.content.subarray(0, 256 * 1024).toString('utf8') : null;
}

function originalRef(parsed: ParsedMail, extra: Map<string, string[]> | null): OriginalRef {
  const rfc822 = parsed.attachments.find((x) =>
    ['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers'].includes(
      x.contentType.toLowerCase(),
    ),
  );
  const ids: string[] = [];
  const addresses: string[] = [];
  if (rfc822) {
    const end = headerEnd(rfc822.content, 256 * 1024);
    const head = parseHeaderBlock(
      rfc822.content.subarray(0, end < 0 ? 256 * 1024 : end).toString('utf8'),
    );
    ids.push(...messageIds(head.get('message-id')?.[0]));
    for (const name of ['return-path', 'list-unsubscribe', 'sender'])
      for (const v of head.get(name) ?? []) addresses.push(...addressesIn(v));
  }
  for (const name of ['original-mail-from', 'original-envelope-id'])
    for (const v of extra?.get(name) ?? []) addresses.push(...addressesIn(v));
  return { messageIds: ids, addresses };
}

/** RFC 5965 feedback report, or null when the message is not one. */
export function parseArf(parsed: ParsedMail): ArfReport | null {
  const body = part(parsed, ['message/feedback-report']);
  if (reportType(parsed) !== 'feedback-report' && body === null) return null;
  const fields = body ? parseHeaderBlock(body) : new Map<string, string[]>();
  return {
    feedbackType: (fields.get('feedback-type')?.[0] ?? 'abuse').toLowerCase(),
    original: originalRef(parsed, fields),
  };
}

/** RFC 3464 delivery status notification, or null when the message is not one. */
export function parseDsn(parsed: ParsedMail): DsnReport | null {
  const body = part(parsed, ['message/delivery-status', 'message/global-delivery-status']);
  if (reportType(parsed) !== 'delivery-status' && body === null) return null;
  let kind: DsnReport['kind'] = 'none';
  let status = '';
  // Per-message fields, then one block per recipient, separated by empty lines.
  for (const block of (body ?? '').split(/\r?\n\s*\r?\n/)) {
    const f = parseHeaderBlock(block);
    const action = f.get('action')?.[0]?.toLowerCase();
    const code = /\b([245])\.\d{1,3}\.\d{1,3}\b/.exec(f.get('status')?.[0] ?? '');
    if (!action && !code) continue;
    if (action === 'failed' && code?.[1] === '5') {
      kind = 'hard';
      status = code[0];
    } else if (
      kind !== 'hard' &&
      (action === 'delayed' || code?.[1] === '4' || action === 'failed')
    ) {
      kind = 'soft';
      status = code?.[0] ?? status;
    }
  }
  return { kind, status, original: originalRef(parsed, null) };
}
