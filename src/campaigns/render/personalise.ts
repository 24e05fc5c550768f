import Handlebars from 'handlebars';
import { AppError } from '../../shared/errors.js';

/**
 * Personalisation in a safe mode. Templates are Handlebars, but only a small language is
 * accepted, checked by walking the AST before anything is compiled:
 * - `{{path}}` (HTML-escaped in HTML) where path is one of the allowed variables,
 * - `{{#if path}}…{{else}}…{{/if}}` and `{{#unless path}}…{{/unless}}`,
 * - comments.
 * Refused: triple-stash / `{{& x}}` (unescaped output), every other helper (`lookup`, `each`,
 * `with`, `log`, …), sub-expressions, hash arguments, partials, decorators, `@data`, `this`,
 * `../`, bracket segments, and any path not in the allowed set. The instance is our own
 * (`Handlebars.create()`) with the default helpers other than if/unless removed, compiled with
 * `knownHelpersOnly`, and rendered with prototype access off, so even a path that slipped through
 * could not reach `constructor` or `__proto__`.
 */
export interface VariablePolicy {
  /** Exact dotted paths, e.g. `subscriber.name`. */
  exact: ReadonlySet<string>;
  /** Prefixes whose one further segment is free, e.g. `subscriber.attributes`. */
  open: ReadonlySet<string>;
}

export interface TemplateIssue {
  line: number;
  message: string;
}

const engine = Handlebars.create();
for (const name of ['each', 'with', 'lookup', 'log']) engine.unregisterHelper(name);

const KNOWN_HELPERS = { if: true, unless: true } as const;
const ATTRIBUTE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const FORBIDDEN_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
};

/** The contract's template variables (docs/campaigns.md). */
export const CAMPAIGN_VARIABLES: VariablePolicy = {
  exact: new Set([
    'subscriber.name',
    'unsubscribeUrl',
    'preferencesUrl',
    'org.name',
    'org.address',
    'campaign.subject',
  ]),
  open: new Set(['subscriber.attributes']),
};

function pathProblem(node: hbs.AST.PathExpression, policy: VariablePolicy): string | null {
  if (node.data || node.depth > 0 || node.original !== node.parts.join('.')) {
    return `"${node.original}" is not allowed: use a plain variable name`;
  }
  if (policy.exact.has(node.original)) return null;
  const prefix = node.parts.slice(0, -1).join('.');
  const key = node.parts[node.parts.length - 1]!;
  if (policy.open.has(prefix)) {
    if (ATTRIBUTE_KEY.test(key) && !FORBIDDEN_KEYS.has(key)) return null;
    return `"${key}" is not a valid attribute name`;
  }
  return `unknown variable "${node.original}"`;
}

/** Every problem in a template source, empty when it is acceptable under the policy. */
export function checkTemplate(source: string, policy: VariablePolicy): TemplateIssue[] {
  let program: hbs.AST.Program;
  try {
    program = engine.parse(source);
  } catch (err) {
    const message = (err as Error).message;
    const line = /line (\d+)/.exec(message);
    return [{ line: line ? Number(line[1]) : 1, message: message.split('\n')[0]! }];
  }
  const issues: TemplateIssue[] = [];
  const add = (node: hbs.AST.Node, message: string) =>
    issues.push({ line: node.loc?.start.line ?? 1, message });
  const visitPath = (node: hbs.AST.Expression) => {
    if (node.type !== 'PathExpression') return add(node, 'only variables may be used here');
    const problem = pathProblem(node as hbs.AST.PathExpression, policy);
    if (problem) add(node, problem);
  };
  const walk = (p: hbs.AST.Program | undefined) => {
    for (const node of p?.body ?? []) {
      switch (node.type) {
        case 'ContentStatement':
        case 'CommentStatement':
          break;
        case 'MustacheStatement': {
          const m = node as hbs.AST.MustacheStatement;
          if (!m.escaped) add(m, 'unescaped output ({{{ }}} or {{& }}) is not allowed');
          else if (m.params.length || m.hash) add(m, 'helpers are not allowed in {{ }}');
          else visitPath(m.path);
          break;
        }
        case 'BlockStatement': {
          const b = node as hbs.AST.BlockStatement;
          const name =
            b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
          if (!(name in KNOWN_HELPERS)) {
            add(b, `block "${name}" is not allowed (only #if and #unless)`);
          } else if (b.params.length !== 1 || b.hash) {
            add(b, `#${name} takes exactly one variable`);
          } else {
            visitPath(b.params[0]!);
          }
          walk(b.program);
          walk(b.inverse);
          break;
        }
        default:
          add(node, `${node.type.replace(/Statement$/, '').toLowerCase()} is not allowed`);
      }
    }
  };
  walk(program);
  return issues;
}

/** Throws a 400 listing every problem of the template (with line numbers). */
export function assertTemplate(source: string, policy: VariablePolicy, what: string): void {
  const issues = checkTemplate(source, policy);
  if (issues.length) {
    throw new AppError(
      'validation_failed',
      `${what}: line ${issues[0]!.line}: ${issues[0]!.message}`,
      {
        errors: issues.map((i) => ({ ...i, tagName: null, part: what })),
      },
    );
  }
}

/** A checked template compiled once. */
export function compileTemplate(
  source: string,
  policy: VariablePolicy,
  opts: { html: boolean; what: string },
): (context: unknown) => string {
  assertTemplate(source, policy, opts.what);
  const template = engine.compile(source, {
    knownHelpers: KNOWN_HELPERS,
    knownHelpersOnly: true,
    noEscape: !opts.html,
    strict: false,
    preventIndent: true,
  });
  return (context: unknown) => template(context, RUNTIME_OPTIONS);
}

/** Attributes as a prototype-less object, so no key can resolve to something inherited. */
export function ownAttributes(
  attributes: Record<string, string | number | boolean> | undefined,
): Record<string, string | number | boolean> {
  const out = Object.create(null) as Record<string, string | number | boolean>;
  for (const [k, v] of Object.entries(attributes ?? {})) out[k] = v;
  return out;
}

/** A subject line is one header line: CR and LF from personalised values become spaces. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}
