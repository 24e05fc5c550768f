import express, { type Request, type RequestHandler, type Router } from 'express';
import { PAGE_LOCALES, pageContentSecurityPolicy, pickLocale } from '../../http/pages.js';
import type { RequestSignals } from './bots.js';
import type { LinkRedirects } from './redirects.js';

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const trackingHeaders: RequestHandler = (req, res, next) => {
  // A bad or forged token gets the public error page, in the reader's language.
  res.locals.htmlErrors = true;
  res.locals.locale = pickLocale([req.acceptsLanguages(...PAGE_LOCALES) || undefined]);
  res.set({
    'Cache-Control': 'no-store',
    // The destination learns nothing of the redirect (the campaign's token).
    'Referrer-Policy': 'no-referrer',
    'X-Robots-Tag': 'noindex, nofollow',
    'Content-Security-Policy': pageContentSecurityPolicy(),
  });
  next();
};

const signals = (req: Request): RequestSignals => ({
  method: req.method,
  header: (name) => req.get(name),
});

/**
 * /r/:token (a wrapped link: 302 to the campaign's URL) and /o/:token (the open pixel). GET routes
 * answer HEAD too, which is how link scanners often ask; it is counted apart, as a machine.
 */
export function trackingRouter(redirects: LinkRedirects): Router {
  const router = express.Router();
  router.get('/r/:token', trackingHeaders, async (req, res) => {
    const url = await redirects.click(String(req.params.token), signals(req));
    res.redirect(302, url);
  });
  router.get('/o/:token', trackingHeaders, async (req, res) => {
    await redirects.open(String(req.params.token), signals(req));
    res.status(200).type('image/gif').send(PIXEL);
  });
  return router;
}
