import { expect } from 'chai';
import { readAhead } from '../../../src/shared/concurrency.js';

describe('readAhead', () => {
  it('hands out every item in order, asking for the next before the current is used', async () => {
    const asked: number[] = [];
    async function* source() {
      for (let i = 0; i < 4; i++) {
        asked.push(i);
        yield i;
      }
    }
    const seen: Array<[number, number[]]> = [];
    for await (const item of readAhead(source())) seen.push([item, [...asked]]);
    expect(seen.map(([item]) => item)).to.deep.equal([0, 1, 2, 3]);
    // While item 0 is being used, item 1 has already been asked for.
    expect(seen[0]![1]).to.deep.equal([0, 1]);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const item of readAhead(source())) if (item === 2) break;
    expect(closed).to.equal(true);
  });

  it('passes the source error on to the consumer', async () => {
    async function* source() {
      yield 1;
      throw new Error('read failed');
    }
    const seen: number[] = [];
    const failure = await (async () => {
      for await (const item of readAhead(source())) seen.push(item);
    })().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(seen).to.deep.equal([1]);
    expect(failure).to.equal('read failed');
  });
});
