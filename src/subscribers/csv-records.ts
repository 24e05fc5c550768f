import { StringDecoder } from 'node:string_decoder';

/** One CSV record, or the reason the record starting at `line` could not be read. */
export type CsvRecord =
  | { line: number; fields: string[]; error?: undefined }
  | { line: number; error: string; fields?: undefined };

export interface CsvOptions {
  /** The field separator: `,`, `;` or a tab. */
  delimiter: string;
  /** Characters in one record (quoted newlines included). */
  maxRecordChars: number;
  /** Physical lines one record may span through quoted newlines. */
  maxRecordLines: number;
}

/** Stands for a physical line longer than a record may be; its text is never kept. */
const OVERLONG = Symbol('overlong line');
type Line = string | typeof OVERLONG;

/**
 * RFC 4180 records with line numbers, read so that no malformed record can swallow the rest of
 * the file: a record either parses completely or is reported at the line where it starts, and
 * reading resumes at the very next line. A quoted field may span lines, but only within the
 * limits; an unclosed quote therefore costs one reported line, not every line up to the next
 * quote. A quote inside an unquoted field (`O"Brien`) is kept as text, as spreadsheets write it.
 * Blank lines are skipped; fields are trimmed outside quotes; LF and CRLF endings are both read.
 */
export async function* csvRecords(
  input: AsyncIterable<Buffer | string>,
  limits: CsvOptions,
): AsyncGenerator<CsvRecord> {
  const lines = physicalLines(input, limits.maxRecordChars)[Symbol.asyncIterator]();
  // Lines read but not yet consumed: a record spanning lines may turn out malformed, and then
  // only its first line is consumed.
  const window: Line[] = [];
  let firstLine = 1;
  let ended = false;
  const pull = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await lines.next();
    if (next.done) {
      ended = true;
      return false;
    }
    window.push(next.value);
    return true;
  };

  while (window.length > 0 || (await pull())) {
    let result = parseRecord(window, ended, limits);
    while (result === 'more') {
      await pull();
      result = parseRecord(window, ended, limits);
    }
    const line = firstLine;
    const used = 'error' in result ? 1 : result.used;
    window.splice(0, used);
    firstLine += used;
    if ('error' in result) yield { line, error: result.error };
    else if (result.fields) yield { line, fields: result.fields };
  }
}

type Parsed = { used: number; fields: string[] | null } | { error: string } | 'more';

/**
 * Parses the record starting at window[0]. `fields` is null for a blank line; 'more' asks for
 * another line because a quoted field is still open at the end of the window.
 */
function parseRecord(window: Line[], ended: boolean, limits: CsvOptions): Parsed {
  const first = window[0];
  if (first === OVERLONG) return { error: `longer than ${limits.maxRecordChars} characters` };
  if (first === undefined || first.trim() === '') return { used: 1, fields: null };
  const fields: string[] = [];
  let index = 0;
  let text: string = first;
  let chars = text.length;
  let pos = 0;
  const blank = (c: string | undefined) => c === ' ' || (c === '\t' && limits.delimiter !== '\t');
  for (;;) {
    while (blank(text[pos])) pos++;
    if (text[pos] !== '"') {
      const end = text.indexOf(limits.delimiter, pos);
      fields.push(text.slice(pos, end === -1 ? undefined : end).trim());
      if (end === -1) return { used: index + 1, fields };
      pos = end + 1;
      continue;
    }
    // A quoted field: "" is a quote, a newline continues it on the next line.
    let value = '';
    pos++;
    for (;;) {
      const quote = text.indexOf('"', pos);
      if (quote === -1) {
        value += text.slice(pos) + '\n';
        index++;
        if (index >= limits.maxRecordLines)
          return { error: `a quoted field is not closed within ${limits.maxRecordLines} lines` };
        if (index >= window.length) {
          if (ended) return { error: 'a quoted field is not closed' };
          return 'more';
        }
        const next = window[index]!;
        if (next === OVERLONG || chars + next.length > limits.maxRecordChars)
          return { error: `longer than ${limits.maxRecordChars} characters` };
        text = next;
        chars += next.length;
        pos = 0;
        continue;
      }
      value += text.slice(pos, quote);
      if (text[quote + 1] === '"') {
        value += '"';
        pos = quote + 2;
        continue;
      }
      pos = quote + 1;
      break;
    }
    fields.push(value);
    while (blank(text[pos])) pos++;
    if (pos >= text.length) return { used: index + 1, fields };
    if (text[pos] !== limits.delimiter) return { error: 'text after the closing quote of a field' };
    pos++;
  }
}

/**
 * The input's lines without their endings (LF or CRLF) and without a leading byte order mark.
 * A line longer than `maxChars` is yielded as OVERLONG without being held in memory.
 */
async function* physicalLines(
  input: AsyncIterable<Buffer | string>,
  maxChars: number,
): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let overlong = false;
  let start = true;
  const finish = (line: string): Line =>
    overlong || line.length > maxChars + 1 ? OVERLONG : line.replace(/\r$/, '');
  for await (const chunk of input) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (start && text.length > 0) {
      text = text.replace(/^\uFEFF/, '');
      start = false;
    }
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      yield finish(partial + text.slice(from, nl));
      partial = '';
      overlong = false;
      from = nl + 1;
    }
    partial += text.slice(from);
    if (partial.length > maxChars) {
      overlong = true;
      partial = '';
    }
  }
  partial += decoder.end();
  if (partial.length > 0 || overlong) yield finish(partial);
}
