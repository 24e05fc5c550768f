import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { PAGE_LOCALES, pickLocale } from '../../http/pages.js';
import type { RequestSignals } from './bots.js';
import type { LinkRedirects } from './redirects.js';

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const signals = (req: Request): RequestSignals => ({
  method: req.method,
  header: (name) => req.get(name),
});

/**
 * A tracking answer: never cached (each request is one count), no Referer for the destination
 * (it would carry the campaign's token), not indexed. A bad or forged token gets the public error
 * page in the reader's language; the language is looked up only then, as clicks are many.
 */
function tracking(answer: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Robots-Tag', 'noindex, nofollow');
    try {
      await answer(req, res);
    } catch (err) {
      res.locals.htmlErrors = true;
      res.locals.locale = pickLocale([req.acceptsLanguages(...PAGE_LOCALES) || undefined]);
      throw err;
    }
  };
}

/**
 * /r/:token (a wrapped link: 302 to the campaign's URL) and /o/:token (the open pixel). GET routes
 * answer HEAD too, which is how link scanners often ask; it is counted apart, as a machine.
 */
export function trackingRouter(redirects: LinkRedirects): Router {
  const router = express.Router();
  router.get(
    '/r/:token',
    tracking(async (req, res) => {
      const url = await redirects.click(String(req.params.token), signals(req));
      // Not res.redirect(): it negotiates a body by Accept for every click; nobody reads it.
      res.status(302).location(url).end();
    }),
  );
  router.get(
    '/o/:token',
    tracking(async (req, res) => {
      await redirects.open(String(req.params.token), signals(req));
      res.status(200).type('image/gif').send(PIXEL);
    }),
  );
  return router;
}
