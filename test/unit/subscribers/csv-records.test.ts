import { expect } from 'chai';
import { Readable } from 'node:stream';
import { csvRecords, type CsvRecord } from '../../../src/subscribers/csv-records.js';

const limits = { delimiter: ',', maxRecordChars: 100, maxRecordLines: 3 };

async function read(chunks: string[] | Buffer[]): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of csvRecords(Readable.from(chunks), limits)) out.push(r);
  return out;
}

describe('CSV records', () => {
  const text = [
    '\uFEFFemail,name', // 1
    'a@example.com,"Two', // 2: CRLF inside a quoted field
    'lines",', // 3
    '', // 4 blank
    ' b@example.com , "x ""y"" z" ', // 5
    'c@example.com,"never closed', // 6
    'd@example.com,O"Brien', // 7
    'e@example.com,"closed"junk', // 8
    'f@example.com,' + 'x'.repeat(150), // 9: too long
    'g@example.com,last', // 10
  ].join('\r\n');
  const expected: CsvRecord[] = [
    { line: 1, fields: ['email', 'name'] },
    { line: 2, fields: ['a@example.com', 'Two\nlines', ''] },
    { line: 5, fields: ['b@example.com', 'x "y" z'] },
    // Its quote pairs with the one on line 7, followed by text: line 6 is the bad record.
    { line: 6, error: 'text after the closing quote of a field' },
    { line: 7, fields: ['d@example.com', 'O"Brien'] },
    { line: 8, error: 'text after the closing quote of a field' },
    { line: 9, error: 'longer than 100 characters' },
    { line: 10, fields: ['g@example.com', 'last'] },
  ];

  it('reads records with their first line; a malformed one costs its first line only', async () => {
    expect(await read([text])).to.deep.equal(expected);
  });

  it('gives the same records however the input is cut into chunks', async () => {
    const bytes = Buffer.from(text);
    const oneByte = [...bytes].map((b) => Buffer.from([b]));
    expect(await read(oneByte)).to.deep.equal(expected);
    const sevens: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) sevens.push(bytes.subarray(i, i + 7));
    expect(await read(sevens)).to.deep.equal(expected);
  });

  it('an unclosed quote at the end of the input is reported, nothing after it is lost', async () => {
    expect(await read(['email\nx@example.com,"open\ny@example.com'])).to.deep.equal([
      { line: 1, fields: ['email'] },
      { line: 2, error: 'a quoted field is not closed' },
      { line: 3, fields: ['y@example.com'] },
    ]);
  });

  it('a quoted field may span lines only up to the limit', async () => {
    const records = await read(['email\nx@example.com,"a\nb\nc\nd"\ny@example.com\n']);
    expect(records).to.deep.equal([
      { line: 1, fields: ['email'] },
      { line: 2, error: 'a quoted field is not closed within 3 lines' },
      { line: 3, fields: ['b'] },
      { line: 4, fields: ['c'] },
      { line: 5, fields: ['d"'] },
      { line: 6, fields: ['y@example.com'] },
    ]);
  });
});
