import Busboy from 'busboy';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { LOCALES } from '../db/models/subscriber.js';
import {
  messages,
  pageContentSecurityPolicy,
  PAGE_LOCALES,
  pickLocale,
  renderPage,
  type PageLocale,
} from '../http/pages.js';
import { singleLine } from '../http/schemas.js';
import { parseInput } from '../http/validate.js';
import { AppError } from '../shared/errors.js';
import { maskEmail } from '../shared/email.js';
import type { PortalAction, PortalView, UnsubscribePortal } from './portal.js';
import type { PreferenceOutcome } from './preferences.js';

/** Forms here are a few short fields; anything bigger is not from our page or a mail provider. */
const BODY_LIMIT = 16 * 1024;

const formSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('unsubscribe'), scope: z.enum(['list', 'all']) }),
  z.object({
    action: z.literal('preferences'),
    name: singleLine(200),
    locale: z.enum(LOCALES),
    lists: z.array(z.string().regex(/^[0-9a-f]{24}$/, 'must be a list id')).max(200),
  }),
]);

/**
 * /u/:token, the page in every mail's footer and List-Unsubscribe header (contract: Public HTTP).
 * GET only reads. POST takes the RFC 8058 body `List-Unsubscribe=One-Click` (urlencoded or
 * multipart, as mail providers send either) or the page's own forms. The token is the whole
 * capability: no cookie, no session, no CSRF token (a mail provider's POST cannot carry one).
 */
export function unsubscribeRouter(portal: UnsubscribePortal): Router {
  const router = express.Router();

  router.get('/u/:token', pageHeaders, async (req, res) => {
    const view = await portal.view(String(req.params.token));
    sendManagePage(req, res, view);
  });

  router.post('/u/:token', pageHeaders, textBody, async (req, res) => {
    const token = String(req.params.token);
    const action = toAction(await readFields(req));
    const result = await portal.act(token, action, {
      actor: { type: 'subject' },
      requestId: String(req.id),
    });
    if (result.kind === 'preferences') {
      sendManagePage(req, res, result.view, result.outcome);
      return;
    }
    // The subscriber's language first: a mail provider's one-click POST asks for none. One-click
    // names no lists (the sender reads no page; looking them up would delay the answer).
    const locale = pickLocale([result.locale, res.locals.locale as string]);
    const t = messages(locale);
    const what =
      result.kind === 'accepted'
        ? undefined
        : result.all
          ? t['unsubscribe.everything']
          : result.lists.map((l) => l.name).join(', ') || t['unsubscribe.everything'];
    // 200 with a page, never a redirect: RFC 8058 §3.2 asks for a plain success answer.
    res
      .status(200)
      .type('html')
      .send(
        renderPage('unsubscribed', locale, {
          title: t['unsubscribe.doneTitle'] ?? '',
          what,
          action: `/u/${token}`,
        }),
      );
  });

  return router;
}

const pageHeaders: RequestHandler = (req, res, next) => {
  res.locals.htmlErrors = true;
  res.locals.locale = pickLocale([req.acceptsLanguages(...PAGE_LOCALES) || undefined]);
  res.set({
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Robots-Tag': 'noindex, nofollow',
    'Content-Security-Policy': pageContentSecurityPolicy(),
  });
  next();
};

const isMultipart = (req: { headers: Record<string, unknown> }) =>
  String(req.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith('multipart/');

// Every non-multipart body is read as text and parsed as urlencoded: some senders of one-click
// POSTs label `List-Unsubscribe=One-Click` text/plain or not at all.
const textBody = express.text({
  type: (req) => !isMultipart(req as unknown as Request),
  limit: BODY_LIMIT,
  defaultCharset: 'utf-8',
});

type Fields = Array<[string, string]>;

async function readFields(req: Request): Promise<Fields> {
  if (isMultipart(req)) return readMultipart(req);
  return typeof req.body === 'string' ? [...new URLSearchParams(req.body)] : [];
}

function readMultipart(req: Request): Promise<Fields> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > BODY_LIMIT) {
      reject(new AppError('payload_too_large', 'the request body is too large'));
      return;
    }
    let bb: Busboy.Busboy;
    try {
      bb = Busboy({
        headers: req.headers,
        limits: { fields: 50, fieldNameSize: 100, fieldSize: 4096, files: 0, parts: 60 },
      });
    } catch {
      reject(new AppError('bad_request', 'the multipart body is malformed'));
      return;
    }
    const fields: Fields = [];
    let failure: AppError | undefined;
    const fail = (err: AppError) => {
      failure ??= err;
    };
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > BODY_LIMIT) {
        fail(new AppError('payload_too_large', 'the request body is too large'));
        req.unpipe(bb);
        bb.destroy();
        req.resume();
        reject(failure);
      }
    });
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(new AppError('payload_too_large', 'a form field is too long'));
      } else fields.push([name, value]);
    });
    bb.on('file', (_name, stream) => stream.resume());
    bb.on('fieldsLimit', () => fail(new AppError('payload_too_large', 'too many form fields')));
    bb.on('partsLimit', () => fail(new AppError('payload_too_large', 'too many form parts')));
    bb.on('error', () => reject(new AppError('bad_request', 'the multipart body is malformed')));
    bb.on('close', () => (failure ? reject(failure) : resolve(fields)));
    req.pipe(bb);
  });
}

function toAction(fields: Fields): PortalAction {
  const all = (name: string) => fields.filter(([n]) => n === name).map(([, v]) => v);
  // RFC 8058 §3.1: the body is exactly this key and value; a form of ours never sends it.
  if (all('List-Unsubscribe')[0]?.trim().toLowerCase() === 'one-click') {
    return { action: 'one-click' };
  }
  return parseInput(formSchema, {
    action: all('action')[0],
    scope: all('scope')[0],
    name: all('name')[0],
    locale: all('locale')[0],
    lists: all('lists'),
  });
}

function sendManagePage(
  req: Request,
  res: Response,
  view: PortalView,
  outcome?: PreferenceOutcome,
): void {
  const token = String(req.params.token);
  const subscriber = view.overview?.subscriber;
  const locale: PageLocale = pickLocale([subscriber?.locale, res.locals.locale as string]);
  const t = messages(locale);
  const lists = view.overview?.lists ?? [];
  const nameOf = new Map(lists.map((l) => [l.id, l.name]));
  res
    .status(200)
    .type('html')
    .send(
      renderPage('unsubscribe', locale, {
        title: t['unsubscribe.title'] ?? '',
        gone: !subscriber,
        action: `/u/${token}`,
        maskedEmail: subscriber ? maskEmail(subscriber.email) : '',
        name: subscriber?.name ?? '',
        active: lists.filter((l) => l.active).map((l) => l.name),
        target: view.target.map((l) => l.name).join(', '),
        locales: LOCALES.map((code) => ({
          code,
          label: t[`locale.${code}`] ?? code,
          selected: code === subscriber?.locale,
        })),
        choices: lists
          .filter((l) => l.choosable)
          .map((l) => ({ id: l.id, name: l.name, checked: l.active })),
        saved: Boolean(outcome),
        refused: outcome?.refused.map((id) => nameOf.get(id) ?? id) ?? [],
      }),
    );
}
