import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import { jsonBody } from '../http/app.js';
import {
  acceptedLanguages,
  messages,
  PAGE_LOCALES,
  pageContentSecurityPolicy,
  pickLocale,
  renderPage,
  trustedHtml,
  type PageLocale,
} from '../http/pages.js';
import type { RouteDef } from '../http/routes.js';
import { dateTime, singleLine } from '../http/schemas.js';
import { CONSENT_KINDS } from '../db/models/consent.js';
import { auditContext } from '../http/types.js';
import { parseInput } from '../http/validate.js';
import type { Services } from '../services.js';
import { AppError } from '../shared/errors.js';
import type { PublicList, SubscribeRequest, SubscribeService } from './service.js';

/** Public forms post little; anything bigger is not a person filling a form. */
export const SUBSCRIBE_BODY_LIMIT = '16kb';

const slug = z.string().trim().min(1).max(100);
// Checkbox values browsers and scripts send for "ticked".
const ticked = new Set(['true', 'yes', 'on', '1']);

/** Exactly the contract's fields; zod drops every other key, so nothing else can be stored. */
const subscribeBody = z.object({
  email: z.string().max(1000).optional(),
  name: singleLine(200).optional(),
  list: z.union([slug, z.array(slug).min(1).max(10)]),
  locale: z.string().max(20).optional(),
  consent: z.union([z.boolean(), z.string().max(20)]).optional(),
  website: z.string().max(1000).optional(),
});

const corsHeaders =
  (origins: string[]): RequestHandler =>
  (req, res, next) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'POST');
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
        res.setHeader('Access-Control-Max-Age', '600');
      }
    }
    next();
  };

function pageLocale(req: Request, ...first: Array<string | undefined>): PageLocale {
  const lang = typeof req.query.lang === 'string' ? req.query.lang : undefined;
  return pickLocale([...first, lang, ...acceptedLanguages(req.headers['accept-language'])]);
}

function meta(req: Request, locale: PageLocale) {
  return { ip: req.ip, userAgent: req.headers['user-agent'], locale };
}

/** The public pages' strict CSP (src/http/pages.ts), as on /u/; before allowFormRedirect. */
const pageCsp: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', pageContentSecurityPolicy());
  next();
};

function htmlPage(res: Response, locale: PageLocale, status: number, html: string): void {
  res.locals.locale = locale;
  res.status(status).type('html').setHeader('Cache-Control', 'no-store').send(html);
}

/**
 * The public subscribe surface: POST /subscribe (HTML forms anywhere, or JSON from allowed
 * origins), the hosted form page and the double opt-in confirmation pages.
 */
export function subscribeRouter(services: Services, config: Pick<Config, 'subscribe'>): Router {
  const svc = services.subscribe;
  const router = express.Router();
  const bodyParsers: RequestHandler[] = [
    express.urlencoded({ extended: false, limit: SUBSCRIBE_BODY_LIMIT, parameterLimit: 50 }),
    ...jsonBody(SUBSCRIBE_BODY_LIMIT),
  ];

  const cors = corsHeaders(config.subscribe.corsOrigins);
  router.options('/subscribe', cors, (_req, res) => {
    res.status(204).end();
  });

  router.post(
    '/subscribe',
    cors,
    pageCsp,
    (req, res, next) => {
      res.locals.htmlErrors = !req.is('application/json');
      res.locals.locale = pageLocale(req);
      next();
    },
    ...bodyParsers,
    async (req, res) => {
      const json = Boolean(req.is('application/json'));
      if (!json && !req.is('application/x-www-form-urlencoded')) {
        throw new AppError(
          'unsupported_media_type',
          'send application/x-www-form-urlencoded or application/json',
        );
      }
      const raw = (req.body ?? {}) as Record<string, unknown>;
      const firstSlug = Array.isArray(raw.list) ? raw.list[0] : raw.list;
      let locale = pageLocale(req, typeof raw.locale === 'string' ? raw.locale : undefined);
      res.locals.locale = locale;
      let lists: PublicList[];
      let request: SubscribeRequest | undefined;
      try {
        const body = parseInput(subscribeBody, raw);
        locale = pageLocale(req, body.locale);
        request = {
          email: body.email ?? '',
          name: body.name,
          listSlugs: Array.isArray(body.list) ? body.list : [body.list],
          locale: body.locale,
          consent:
            body.consent === true ||
            (typeof body.consent === 'string' && ticked.has(body.consent.toLowerCase())),
          honeypot: Boolean(body.website?.trim()),
        };
        lists = await svc.subscribe(request, meta(req, locale));
      } catch (err) {
        // A person using an HTML form gets the form back with the problem next to the field.
        const onForm = !json && err instanceof AppError && err.code === 'validation_failed';
        if (!onForm || typeof firstSlug !== 'string') throw err;
        const list = await svc.publicList(firstSlug);
        const values = {
          email: typeof raw.email === 'string' ? raw.email.slice(0, 254) : '',
          name: typeof raw.name === 'string' ? raw.name.slice(0, 200) : '',
          consent: request?.consent,
        };
        if (list.thankYouUrl) allowFormRedirect(res, list.thankYouUrl);
        return htmlPage(res, locale, 400, formPage(svc, list, locale, values, err));
      }
      const t = messages(locale);
      const message = lists.some((l) => l.doubleOptIn)
        ? t['subscribe.doneDoubleOptIn']!
        : t['subscribe.doneSingle']!;
      if (json) return res.status(202).json({ status: 'accepted', message });
      const thankYou = lists.find((l) => l.thankYouUrl)?.thankYouUrl;
      if (thankYou) return res.redirect(303, thankYou);
      htmlPage(
        res,
        locale,
        200,
        renderPage('subscribe-message', locale, { title: t['subscribe.doneTitle']!, message }),
      );
    },
  );

  const confirmPage: RequestHandler = (req, res, next) => {
    res.setHeader('Content-Security-Policy', pageContentSecurityPolicy());
    res.locals.htmlErrors = true;
    res.locals.locale = pageLocale(req);
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  const token = (req: Request) => String(req.params.token);

  // GET only shows the button: mail scanners and link previews follow links, people press buttons.
  router.get('/subscribe/confirm/:token', confirmPage, async (req, res) => {
    const locale = res.locals.locale as PageLocale;
    const t = messages(locale);
    const page = await expiredAware(res, locale, async () => {
      const { listName } = await svc.describeConfirmation(token(req));
      return renderPage('subscribe-confirm', locale, {
        title: t['confirm.title']!,
        listName,
        action: '',
      });
    });
    if (page) htmlPage(res, locale, 200, page);
  });

  router.post(
    '/subscribe/confirm/:token',
    confirmPage,
    express.urlencoded({ extended: false, limit: SUBSCRIBE_BODY_LIMIT, parameterLimit: 10 }),
    async (req, res) => {
      const locale = res.locals.locale as PageLocale;
      const t = messages(locale);
      const page = await expiredAware(res, locale, async () => {
        const { listName, outcome } = await svc.confirm(token(req), meta(req, locale));
        return outcome === 'confirmed'
          ? renderPage('subscribe-message', locale, {
              title: t['confirm.doneTitle']!,
              message: t['confirm.done']!,
              listName,
            })
          : renderPage('subscribe-message', locale, {
              title: t['confirm.blockedTitle']!,
              message: t['confirm.blocked']!,
            });
      });
      if (page) htmlPage(res, locale, 200, page);
    },
  );

  router.get('/subscribe/:listSlug', pageCsp, async (req, res) => {
    res.locals.htmlErrors = true;
    const locale = pageLocale(req);
    res.locals.locale = locale;
    const list = await svc.publicList(String(req.params.listSlug));
    if (list.thankYouUrl) allowFormRedirect(res, list.thankYouUrl);
    htmlPage(res, locale, 200, formPage(svc, list, locale, {}, undefined));
  });

  return router;
}

/** Renders an expired link as its own page instead of the generic error. */
async function expiredAware(
  res: Response,
  locale: PageLocale,
  render: () => Promise<string>,
): Promise<string | null> {
  try {
    return await render();
  } catch (err) {
    if (!(err instanceof AppError) || !err.details?.expired) throw err;
    const t = messages(locale);
    htmlPage(
      res,
      locale,
      400,
      renderPage('subscribe-message', locale, {
        title: t['confirm.expiredTitle']!,
        message: t['confirm.expired']!,
      }),
    );
    return null;
  }
}

function formPage(
  svc: SubscribeService,
  list: PublicList,
  locale: PageLocale,
  values: { email?: string; name?: string; consent?: boolean },
  error: AppError | undefined,
): string {
  const t = messages(locale);
  const errors: Record<string, string> = {};
  const issues = (error?.details?.issues ?? []) as Array<{ field: string; message: string }>;
  for (const issue of issues)
    errors[issue.field] = t[`subscribe.error.${issue.field}`] ?? issue.message;
  return renderPage('subscribe', locale, {
    title: `${t['subscribe.title']}: ${list.name}`,
    description: list.description,
    hasErrors: issues.length > 0,
    errorList: Object.values(errors),
    form: trustedHtml(svc.formHtml(list, locale, '/subscribe', values, errors, true)),
  });
}

/** helmet's CSP allows forms to post to 'self' only; browsers also apply it to the redirect. */
function allowFormRedirect(res: Response, url: string): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp !== 'string') return;
  res.setHeader(
    'Content-Security-Policy',
    csp.replace("form-action 'self'", `form-action 'self' ${new URL(url).origin}`),
  );
}

/** Staff endpoints of this capability (mounted under /api/v1 by admin-routes.ts). */
export function subscribeAdminRoutes(s: Services): RouteDef[] {
  const idParam = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/i, 'not a valid id') });
  // Strict: an unknown or bracketed parameter (lang[$gt]=) is refused, not silently dropped.
  const embedQuery = z.strictObject({ lang: z.enum(PAGE_LOCALES).optional() });
  const embedView = z.object({
    listId: z.string(),
    slug: z.string(),
    locale: z.enum(PAGE_LOCALES),
    hostedUrl: z.string(),
    /** The form as an HTML fragment, inside the JSON answer. */
    html: z.string(),
  });
  const consentsView = z.object({
    items: z.array(
      z.object({
        id: z.string(),
        at: dateTime,
        kind: z.enum(CONSENT_KINDS),
        listId: z.string().nullable(),
        source: z.string(),
        locale: z.string().nullable(),
        textHash: z.string().nullable(),
        textVersion: z.string().nullable(),
        ip: z.string().nullable(),
        userAgent: z.string().nullable(),
      }),
    ),
    texts: z.array(
      z.object({ hash: z.string(), version: z.string(), locale: z.string(), text: z.string() }),
    ),
  });
  return [
    {
      method: 'get',
      path: '/lists/:id/embed',
      permission: 'lists.read',
      summary: 'HTML form snippet of a public list, to paste into any website',
      query: embedQuery,
      response: embedView,
      handler: async (req, res) => {
        const { id } = parseInput(idParam, req.params);
        const { lang } = parseInput(embedQuery, req.query);
        res.json(await s.subscribe.embedSnippet(id, lang));
      },
    },
    {
      method: 'get',
      path: '/subscribers/:id/consents',
      permission: 'subscribers.read',
      summary: 'Consent ledger of one subscriber (audited read)',
      response: consentsView,
      handler: async (req, res) => {
        const { id } = parseInput(idParam, req.params);
        res.json(await s.subscribe.consentsOf(auditContext(req), id));
      },
    },
  ];
}
