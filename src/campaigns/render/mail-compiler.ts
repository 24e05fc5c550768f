import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compile as htmlToTextCompiler } from 'html-to-text';
import mjml2html from 'mjml';
import type { MJMLParseError, MJMLParsingOptions, MJMLParseResults } from 'mjml-core';
import { AppError } from '../../shared/errors.js';
import { MjmlSourceAssembler, type Assembled } from './mjml-source.js';
import { trackLinks } from './links.js';
import type { LinkTracking } from './types.js';
import { assertTemplate, compileTemplate, oneLine, type VariablePolicy } from './personalise.js';

export const MAIL_LOCALES = ['fi', 'en'] as const;
export type MailLocale = (typeof MAIL_LOCALES)[number];

/** Footer and system-mail strings of one locale (templates/i18n/mail.<locale>.json). */
export type MailStrings = Record<string, unknown>;

/** mjml2html's shape, injectable so tests can count or observe compilations. */
export type MjmlCompile = (mjml: string, options: MJMLParsingOptions) => MJMLParseResults;

export interface MailCompilerOptions {
  templatesDir: string;
  compileMjml?: MjmlCompile;
}

export interface MailSource {
  /** The author's MJML: a full `<mjml>` document (when allowed) or mj-body content. */
  mjml: string;
  subject: string;
  /** templates/-relative layout for content, e.g. `layouts/base.mjml`. */
  layout: string;
  /** Injected before `</mj-body>` of a full document; undefined: full documents are refused. */
  footerPartial: string | undefined;
  /** What the author may reference. */
  policy: VariablePolicy;
  /** What the assembled mail may reference (author's set plus layout and footer strings). */
  assembledPolicy: VariablePolicy;
  /** Sample context for the dry run, and values the HTML and text must then contain. */
  probe: { context: Record<string, unknown>; mustShow: string[] };
  /** Aggregate link and open tracking of the HTML part; the text part keeps the links as written. */
  tracking?: LinkTracking;
}

export interface CompiledMail {
  subject: (context: unknown) => string;
  html: (context: unknown) => string;
  text: (context: unknown) => string;
  /** The distinct http(s) links of the HTML, in order. */
  links: string[];
}

const MAX_SUBJECT = 998;
const FULL_DOCUMENT = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<mjml[\s>]/i;
const BODY_END = /<\/mj-body\s*>/gi;
// Comments, tags (closing, self-closing or opening) and the text between them.
const MARKUP = /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w-]*)(?:"[^"]*"|'[^']*'|[^'">])*?(\/?)>|[^<]+|</g;
const HANDLEBARS = /\{\{[\s\S]*?\}\}/g;

/**
 * One pipeline for campaign and system mails: MJML (strict validation) → HTML → one Handlebars
 * template; the text part is derived once from that HTML (html-to-text keeps links as
 * `text [url]`, so `{{unsubscribeUrl}}` survives as a placeholder) and compiled as a second,
 * non-escaping template. Per recipient only the compiled functions run.
 */
export class MailCompiler {
  /** How many times MJML has been compiled; tests use it to prove "once per campaign". */
  compileCount = 0;
  readonly strings: Record<MailLocale, MailStrings>;
  private readonly assembler: MjmlSourceAssembler;
  private readonly compileMjml: MjmlCompile;
  private readonly templatesDir: string;
  private readonly toText = htmlToTextCompiler({
    // Wrapping happens before personalisation, so it would break lines by the width of
    // `{{placeholders}}` rather than of the values; lines stay whole (nodemailer QP-encodes them).
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      // MJML's preview text is a hidden div; it is not part of the readable text.
      { selector: 'div[style*="display:none"]', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      // Uppercasing headings would also uppercase `{{subscriber.name}}` into an unknown variable.
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({
        selector,
        options: { uppercase: false },
      })),
    ],
  });

  constructor(opts: MailCompilerOptions) {
    this.templatesDir = opts.templatesDir;
    this.assembler = new MjmlSourceAssembler(opts.templatesDir);
    // @types/mjml 5 describes mjml 5, whose mjml2html returns a Promise; mjml 4 (ours) is sync.
    this.compileMjml = opts.compileMjml ?? (mjml2html as unknown as MjmlCompile);
    this.strings = {
      fi: this.readStrings('fi'),
      en: this.readStrings('en'),
    };
  }

  /** A templates/-relative file, for system mail sources. */
  readTemplate(relPath: string): string {
    return readFileSync(path.join(this.templatesDir, relPath), 'utf8');
  }

  compile(src: MailSource): CompiledMail {
    if (/[\r\n]/.test(src.subject) || src.subject.length > MAX_SUBJECT) {
      throw new AppError(
        'validation_failed',
        `subject must be one line of at most ${MAX_SUBJECT} characters`,
      );
    }
    const subject = compileTemplate(src.subject, src.policy, { html: false, what: 'subject' });
    // The author's own text is checked before assembly so errors name their lines and
    // layout-only variables (footer strings) stay out of their reach.
    assertTemplate(src.mjml, src.policy, 'mjml');
    assertMjmlMarkup(src.mjml);

    const html = this.toHtml(this.assemble(src));
    const tracked = trackLinks(html, src.tracking);
    const htmlTemplate = compileTemplate(tracked.html, src.assembledPolicy, {
      html: true,
      what: 'html',
    });
    const textTemplate = compileTemplate(this.toText(html), src.assembledPolicy, {
      html: false,
      what: 'text',
    });
    const mail: CompiledMail = {
      subject: (ctx) => oneLine(subject(ctx)),
      html: htmlTemplate,
      text: textTemplate,
      links: tracked.links,
    };
    this.dryRun(mail, src.probe);
    return mail;
  }

  private assemble(src: MailSource): Assembled {
    if (!FULL_DOCUMENT.test(src.mjml)) {
      return this.assembler.layout(src.layout, this.assembler.source(src.mjml));
    }
    if (!src.footerPartial) {
      throw new AppError('validation_failed', 'a full <mjml> document is not accepted here');
    }
    const ends = [...src.mjml.matchAll(BODY_END)];
    const last = ends[ends.length - 1];
    if (!last) {
      throw new AppError('validation_failed', 'a full <mjml> document needs an <mj-body>');
    }
    // Same line, so the author's line numbers stay as they are.
    const withFooter =
      src.mjml.slice(0, last.index) +
      `<mj-include path="${src.footerPartial}" />` +
      src.mjml.slice(last.index);
    return this.assembler.source(withFooter);
  }

  private toHtml(assembled: Assembled): string {
    this.compileCount += 1;
    try {
      return this.compileMjml(assembled.text, {
        validationLevel: 'strict',
        ignoreIncludes: true,
        keepComments: false,
        filePath: this.templatesDir,
      }).html;
    } catch (err) {
      const raw = (err as { errors?: MJMLParseError[] }).errors;
      if (!Array.isArray(raw)) {
        throw new AppError('validation_failed', `invalid MJML: ${(err as Error).message}`);
      }
      const errors = raw.map((e) => {
        const origin = assembled.origins[e.line - 1];
        return {
          line: origin?.line ?? e.line,
          file: origin?.file,
          message: e.message,
          tagName: e.tagName,
        };
      });
      const first = errors[0]!;
      throw new AppError(
        'validation_failed',
        `invalid MJML: line ${first.line}${first.file ? ` of ${first.file}` : ''}: ${first.message}`,
        { errors },
      );
    }
  }

  /**
   * Renders once with sample values: forces Handlebars' lazy compilation now rather than on the
   * first recipient, and proves the footer (operator identity, unsubscribe link) survived
   * whatever the author wrote, in HTML and in text.
   */
  private dryRun(mail: CompiledMail, probe: MailSource['probe']): void {
    const html = mail.html(probe.context);
    const text = mail.text(probe.context);
    mail.subject(probe.context);
    for (const value of probe.mustShow) {
      if (!html.includes(value) || !text.includes(value)) {
        throw new AppError(
          'validation_failed',
          'the template hides the footer (operator identity and unsubscribe link)',
        );
      }
    }
  }

  private readStrings(locale: MailLocale): MailStrings {
    return JSON.parse(this.readTemplate(`i18n/mail.${locale}.json`)) as MailStrings;
  }
}

/**
 * MJML drops text that stands outside its elements without a word, so a template of plain text
 * (or HTML pasted around the markup) would compile into a mail without it. The author's source
 * must be MJML elements only at its top level; template expressions between them are allowed.
 */
function assertMjmlMarkup(source: string): void {
  let depth = 0;
  let elements = 0;
  let line = 1;
  for (const [token, closing, tag, selfClosing] of source.matchAll(MARKUP)) {
    if (tag) {
      if (depth === 0 && !/^mj(ml|-)/i.test(tag))
        throw notMjml(line, `<${tag}> is not an MJML element`);
      if (closing) depth = Math.max(0, depth - 1);
      else if (!selfClosing && !/^(br|hr|img)$/i.test(tag)) depth += 1;
      if (!closing) elements += 1;
    } else if (depth === 0 && !token.startsWith('<!--') && token.replace(HANDLEBARS, '').trim()) {
      const before = /^\s*/.exec(token)![0];
      throw notMjml(
        line + before.split('\n').length - 1,
        'text outside any MJML element (put it in an <mj-text>)',
      );
    }
    line += token.split('\n').length - 1;
  }
  if (elements === 0) throw notMjml(1, 'no MJML element (start with <mj-section> or <mjml>)');
}

function notMjml(line: number, message: string): AppError {
  return new AppError('validation_failed', `not MJML: line ${line}: ${message}`, {
    errors: [{ line, message }],
  });
}
