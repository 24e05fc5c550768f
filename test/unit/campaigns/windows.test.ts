import { expect } from 'chai';
import { Types } from 'mongoose';
import {
  noOutcomes,
  planCells,
  windowKey,
  type WindowOutcomes,
} from '../../../src/campaigns/send/windows.js';

describe('planning a batch from its window records', () => {
  const batchId = new Types.ObjectId();
  const now = new Date('2026-12-04T12:00:00Z');
  const later = new Date(now.getTime() + 60_000);
  const key = (attempt: number, cell: number) => windowKey(batchId, attempt, cell);
  const plan = (opened: string[], outcomes: Array<[string, Partial<WindowOutcomes>]>) =>
    planCells(
      batchId,
      10,
      4,
      new Set(opened),
      new Map(outcomes.map(([k, o]) => [k, { ...noOutcomes(), ...o }])),
      now,
    );

  it('a batch nobody held: every cell once, the last one short', () => {
    expect(plan([], []).due).to.deep.equal([
      { attempt: 1, cell: 0, entryIndexes: [0, 1, 2, 3] },
      { attempt: 1, cell: 1, entryIndexes: [4, 5, 6, 7] },
      { attempt: 1, cell: 2, entryIndexes: [8, 9] },
    ]);
  });

  it('settled and opened cells are never planned again; due retries are the next attempt', () => {
    const result = plan(
      [key(1, 0), key(1, 1), key(1, 2)],
      [
        [key(1, 0), { sent: [0, 1, 2, 3] }],
        [
          key(1, 1),
          {
            sent: [4],
            retry: [
              { i: 5, reply: '451', tries: 1 },
              { i: 6, reply: 'held back', tries: 0 },
            ],
            retryAt: now,
          },
        ],
        [key(1, 2), { unknown: [8, 9] }],
      ],
    );
    expect(result.due).to.deep.equal([
      {
        attempt: 2,
        cell: 1,
        entryIndexes: [5, 6],
        // A recipient held back for its domain has not been tried yet.
        triesBefore: new Map([
          [5, 1],
          [6, 0],
        ]),
      },
    ]);
    expect(result).not.to.have.property('waitingUntil');
  });

  it('retries not yet due make the batch wait; a retry already opened is not planned twice', () => {
    const result = plan(
      [key(1, 0), key(1, 1), key(2, 1)],
      [
        [key(1, 0), { retry: [{ i: 1, reply: '451', tries: 1 }], retryAt: later }],
        [key(1, 1), { retry: [{ i: 4, reply: '451', tries: 1 }], retryAt: now }],
      ],
    );
    expect(result.due).to.deep.equal([{ attempt: 1, cell: 2, entryIndexes: [8, 9] }]);
    expect(result.waitingUntil).to.deep.equal(later);
  });
});
