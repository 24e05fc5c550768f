import { templatesDir as defaultTemplatesDir } from '../../shared/paths.js';
import {
  MailCompiler,
  type CompiledMail,
  type MailCompilerOptions,
  type MailLocale,
  type MailStrings,
} from './mail-compiler.js';
import type { VariablePolicy } from './personalise.js';
import type { RenderedMail } from './types.js';

/** What each system mail is given by its caller. */
export interface SystemMailVars {
  /** Double opt-in: the recipient follows confirmUrl to confirm (GET page, then POST). */
  'subscribe-confirm': { confirmUrl: string; listName: string; name?: string };
  /** After an unsubscribe; without listName it reads as "from all marketing mail". */
  'unsubscribe-confirm': { listName?: string; preferencesUrl?: string; name?: string };
}
export type SystemMailKind = keyof SystemMailVars;

const SUBJECT_KEY: Record<SystemMailKind, string> = {
  'subscribe-confirm': 'subscribeConfirm',
  'unsubscribe-confirm': 'unsubscribeConfirm',
};

const ORG = ['org.name', 'org.address'];
const POLICIES: Record<SystemMailKind, VariablePolicy> = {
  'subscribe-confirm': {
    exact: new Set([...ORG, 'confirmUrl', 'listName', 'name']),
    open: new Set(),
  },
  'unsubscribe-confirm': {
    exact: new Set([...ORG, 'listName', 'preferencesUrl', 'name']),
    open: new Set(),
  },
};

const PROBE_ORG = { name: 'Probe Operator Oy', address: 'Probe Street 1' };

/**
 * Transactional mails about a subscription (not marketing: no unsubscribe footer, but the
 * operator identity is always shown). Sources are templates/system/<kind>.<locale>.mjml, placed
 * into templates/layouts/system.mjml; subjects come from templates/i18n/mail.<locale>.json.
 * Each kind and locale is compiled on first use and kept.
 */
export class SystemMailRenderer {
  private readonly compiler: MailCompiler;
  private readonly cache = new Map<string, CompiledMail>();

  constructor(
    private readonly org: { name: string; address: string },
    opts: Partial<MailCompilerOptions> = {},
  ) {
    this.compiler = new MailCompiler({
      templatesDir: opts.templatesDir ?? defaultTemplatesDir,
      compileMjml: opts.compileMjml,
    });
  }

  get compileCount(): number {
    return this.compiler.compileCount;
  }

  renderSystemMail<K extends SystemMailKind>(
    kind: K,
    locale: MailLocale,
    vars: SystemMailVars[K],
  ): RenderedMail {
    const loc: MailLocale = locale === 'en' ? 'en' : 'fi';
    const mail = this.compiled(kind, loc);
    const ctx = {
      ...pick(vars, POLICIES[kind]),
      org: { name: this.org.name, address: this.org.address },
      locale: loc,
      mail: this.compiler.strings[loc],
    };
    return { subject: mail.subject(ctx), html: mail.html(ctx), text: mail.text(ctx) };
  }

  private compiled(kind: SystemMailKind, locale: MailLocale): CompiledMail {
    const key = `${kind}.${locale}`;
    let mail = this.cache.get(key);
    if (!mail) {
      const strings = this.compiler.strings[locale];
      const policy = POLICIES[kind];
      mail = this.compiler.compile({
        mjml: this.compiler.readTemplate(`system/${key}.mjml`),
        subject: subjectOf(strings, kind),
        layout: 'layouts/system.mjml',
        footerPartial: undefined,
        policy,
        assembledPolicy: {
          exact: new Set([...policy.exact, 'locale']),
          open: new Set(['mail.system']),
        },
        probe: {
          context: { org: PROBE_ORG, locale, mail: strings },
          mustShow: [PROBE_ORG.name, PROBE_ORG.address],
        },
      });
      this.cache.set(key, mail);
    }
    return mail;
  }
}

function subjectOf(strings: MailStrings, kind: SystemMailKind): string {
  const system = strings.system as Record<string, { subject?: string }> | undefined;
  const subject = system?.[SUBJECT_KEY[kind]]?.subject;
  if (typeof subject !== 'string')
    throw new Error(`mail strings lack system.${SUBJECT_KEY[kind]}.subject`);
  return subject;
}

/** Only the variables the kind declares reach its template. */
function pick(vars: object, policy: VariablePolicy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) if (policy.exact.has(k)) out[k] = v;
  return out;
}
