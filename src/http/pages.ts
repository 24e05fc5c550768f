import Handlebars from 'handlebars';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { templatesDir } from '../shared/paths.js';

/**
 * Server-rendered public pages (unsubscribe, subscribe, errors) from templates/pages/*.hbs inside
 * templates/pages/layout.hbs, with strings from templates/i18n/<locale>.json. Handlebars escapes
 * every `{{value}}`; pages need no JavaScript.
 */
export const PAGE_LOCALES = ['fi', 'en'] as const;
export type PageLocale = (typeof PAGE_LOCALES)[number];

const hbs = Handlebars.create();
const cache = new Map<string, Handlebars.TemplateDelegate>();
const strings = new Map<PageLocale, Record<string, string>>();

function template(name: string): Handlebars.TemplateDelegate {
  let t = cache.get(name);
  if (!t) {
    t = hbs.compile(readFileSync(path.join(templatesDir, 'pages', `${name}.hbs`), 'utf8'), {
      strict: false,
    });
    cache.set(name, t);
  }
  return t;
}

export function messages(locale: PageLocale): Record<string, string> {
  let m = strings.get(locale);
  if (!m) {
    m = JSON.parse(
      readFileSync(path.join(templatesDir, 'i18n', `${locale}.json`), 'utf8'),
    ) as Record<string, string>;
    strings.set(locale, m);
  }
  return m;
}

/** Candidates from an Accept-Language header, most preferred first. */
export function acceptedLanguages(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), i };
    })
    .filter((l) => l.tag && l.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((l) => l.tag);
}

export function pickLocale(candidates: Array<string | null | undefined>): PageLocale {
  for (const c of candidates) {
    const lang = c?.slice(0, 2).toLowerCase();
    if (lang && (PAGE_LOCALES as readonly string[]).includes(lang)) return lang as PageLocale;
  }
  return 'fi';
}

/** A message with `{name}` placeholders filled in (plain text; templates escape the result). */
export function format(message: string, vars: Record<string, string | number>): string {
  return message.replace(/\{(\w+)\}/g, (all, name: string) =>
    name in vars ? String(vars[name]) : all,
  );
}

/** A template without the layout: a piece of HTML placed inside a page or handed out as a snippet. */
export function renderFragment(
  name: string,
  locale: PageLocale,
  data: Record<string, unknown>,
): string {
  return template(name)({ ...data, t: messages(locale), locale });
}

/** Marks already-rendered HTML (from renderFragment) as safe to place unescaped in a page. */
export function trustedHtml(html: string): Handlebars.SafeString {
  return new hbs.SafeString(html);
}

export function renderPage(
  name: string,
  locale: PageLocale,
  data: Record<string, unknown> & { title: string },
): string {
  const t = messages(locale);
  const body = template(name)({ ...data, t, locale });
  return template('layout')({ title: data.title, body: new hbs.SafeString(body), locale, t });
}

export function renderErrorPage(status: number, locale: PageLocale | undefined): string {
  const loc = locale ?? 'fi';
  const t = messages(loc);
  const key =
    status === 404
      ? 'error.notFound'
      : status === 429
        ? 'error.tooMany'
        : status === 413
          ? 'error.tooLarge'
          : status >= 500
            ? 'error.server'
            : 'error.badRequest';
  return renderPage('error', loc, { title: t['error.title'] ?? 'Error', message: t[key] ?? '' });
}

let csp: string | undefined;

/**
 * The Content-Security-Policy of public pages: no script at all, no framing, forms post only back
 * to us; the layout's one inline <style> is allowed by its SHA-256, not by 'unsafe-inline'.
 */
export function pageContentSecurityPolicy(): string {
  if (!csp) {
    const layout = readFileSync(path.join(templatesDir, 'pages', 'layout.hbs'), 'utf8');
    const style = /<style>([\s\S]*?)<\/style>/.exec(layout)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    csp = [
      "default-src 'none'",
      `style-src 'sha256-${hash}'`,
      "img-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; ');
  }
  return csp;
}
