import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors.js';

/**
 * Assembles the MJML that mjml2html sees: inlines `<mj-include>` ourselves and places campaign
 * content into a layout, while remembering where every output line came from so MJML's line
 * numbers can be reported against the author's own text.
 *
 * We do not let mjml resolve includes (it is called with `ignoreIncludes: true`): its resolver
 * reads any path the process can read. Ours accepts only `.mjml` files whose real path (after
 * symlinks) lies inside templates/, refuses `type="css|html"`, entity-encoded or unparsable
 * paths, cycles and deep nesting. Paths in a campaign or system template are relative to
 * templates/ (`partials/header.mjml`); paths inside an included file are relative to that file,
 * as in mjml. An included file is a fragment inlined verbatim where the tag stood.
 */
export interface Origin {
  /** Undefined for the author's own source; otherwise the path relative to templates/. */
  file: string | undefined;
  line: number;
}

export interface Assembled {
  text: string;
  /** origins[i] is where output line i + 1 came from. */
  origins: Origin[];
}

const INCLUDE = /<mj-include\b[^>]*>(?:\s*<\/mj-include\s*>)?|<!--\s*kirje:content\s*-->/gi;
const PATH_ATTR = /\bpath\s*=\s*(?:"([^"]*)"|'([^']*)')/i;
const TYPE_ATTR = /\btype\s*=\s*(?:"([^"]*)"|'([^']*)')/i;
const MAX_DEPTH = 8;

const badInclude = (message: string, origin: Origin) =>
  new AppError('validation_failed', `mj-include: ${message}`, {
    errors: [{ line: origin.line, message, tagName: 'mj-include', file: origin.file }],
  });

export class MjmlSourceAssembler {
  private readonly root: string;
  private readonly cache = new Map<string, string>();

  constructor(templatesDir: string) {
    this.root = realpathSync(templatesDir);
  }

  /** The author's source, includes resolved from templates/. */
  source(text: string): Assembled {
    return this.expand(text, undefined, this.root, [], undefined);
  }

  /** A layout file from templates/ with `<!-- kirje:content -->` replaced by `content`. */
  layout(relPath: string, content: Assembled): Assembled {
    const file = this.resolve(relPath, this.root, { file: relPath, line: 1 });
    return this.expand(this.read(file), this.relative(file), path.dirname(file), [file], content);
  }

  private expand(
    text: string,
    label: string | undefined,
    baseDir: string,
    stack: string[],
    content: Assembled | undefined,
  ): Assembled {
    let out = '';
    const origins: Origin[] = [{ file: label, line: 1 }];
    let line = 1;
    let last = 0;
    const appendOwn = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\n') {
          line += 1;
          origins.push({ file: label, line });
        }
      }
      out += chunk;
    };
    const appendChild = (child: Assembled) => {
      out += child.text;
      origins.push(...child.origins.slice(1));
    };
    for (const match of text.matchAll(INCLUDE)) {
      appendOwn(text.slice(last, match.index));
      const tag = match[0];
      const here: Origin = { file: label, line };
      if (tag.startsWith('<!--')) {
        // Only a layout has a content slot; in any other file the marker is a plain comment.
        if (content) appendChild(content);
        else out += tag;
      } else {
        appendChild(this.include(tag, baseDir, stack, here));
      }
      // A multi-line tag advances our own line count without producing output lines.
      line += tag.split('\n').length - 1;
      last = match.index + tag.length;
    }
    appendOwn(text.slice(last));
    if (/<\s*mj-include/i.test(out.replace(INCLUDE, ''))) {
      throw badInclude('malformed mj-include tag', { file: label, line: 1 });
    }
    return { text: out, origins };
  }

  private include(tag: string, baseDir: string, stack: string[], here: Origin): Assembled {
    const type = TYPE_ATTR.exec(tag);
    if (type && (type[1] ?? type[2]) !== 'mjml') {
      throw badInclude('only MJML files can be included', here);
    }
    const m = PATH_ATTR.exec(tag);
    const given = m ? (m[1] ?? m[2] ?? '') : '';
    if (!given || /[&\0]/.test(given))
      throw badInclude('the path attribute is missing or invalid', here);
    const file = this.resolve(given, baseDir, here);
    if (stack.includes(file) || stack.length >= MAX_DEPTH) {
      throw badInclude(`includes nest too deeply or form a cycle (${given})`, here);
    }
    return this.expand(
      this.read(file),
      this.relative(file),
      path.dirname(file),
      [...stack, file],
      undefined,
    );
  }

  /** The real path of an include, or a 400 when it lies outside templates/ or does not exist. */
  private resolve(given: string, baseDir: string, here: Origin): string {
    if (!given.endsWith('.mjml'))
      throw badInclude(`only .mjml files can be included (${given})`, here);
    let real: string;
    try {
      real = realpathSync(path.resolve(baseDir, given));
    } catch {
      throw badInclude(`no such template file (${given})`, here);
    }
    if (!real.startsWith(this.root + path.sep)) {
      throw badInclude(`includes may only read inside templates/ (${given})`, here);
    }
    return real;
  }

  private relative(file: string): string {
    return path.relative(this.root, file).split(path.sep).join('/');
  }

  private read(file: string): string {
    let text = this.cache.get(file);
    if (text === undefined) {
      text = readFileSync(file, 'utf8');
      this.cache.set(file, text);
    }
    return text;
  }
}
