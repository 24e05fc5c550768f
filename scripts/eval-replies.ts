import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { classifyReply, type ReplyIntent } from '../src/inbound/reply-intent/classify.js';

/**
 * `npm run eval:replies`: the reply classifier against the labelled corpus
 * (test/fixtures/replies). Prints, per split, the confusion matrix and the precision and recall
 * of `unsubscribe`; lists the mistakes on `train` only, so that the held-out part is never
 * used to tune the rules.
 */

export const INTENTS: ReplyIntent[] = ['unsubscribe', 'privacy', 'ambiguous', 'other'];

export interface CorpusItem {
  id: string;
  lang: string;
  label: ReplyIntent;
  split: 'train' | 'test';
  text: string;
}

export interface Evaluation {
  items: number;
  /** confusion[gold][predicted] */
  confusion: Record<ReplyIntent, Record<ReplyIntent, number>>;
  precision: number;
  recall: number;
  /** Items labelled ambiguous that the pipeline would act on (unsubscribe or privacy). */
  ambiguousActedOn: number;
  mistakes: { item: CorpusItem; predicted: ReplyIntent; reason: string }[];
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function loadCorpus(): CorpusItem[] {
  return readFileSync(path.join(root, 'test/fixtures/replies/corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CorpusItem);
}

export function evaluate(items: CorpusItem[]): Evaluation {
  const confusion = Object.fromEntries(
    INTENTS.map((g) => [g, Object.fromEntries(INTENTS.map((p) => [p, 0]))]),
  ) as Evaluation['confusion'];
  const mistakes: Evaluation['mistakes'] = [];
  for (const item of items) {
    const verdict = classifyReply(item.text);
    confusion[item.label][verdict.intent] += 1;
    if (verdict.intent !== item.label)
      mistakes.push({ item, predicted: verdict.intent, reason: verdict.reason });
  }
  const tp = confusion.unsubscribe.unsubscribe;
  const predicted = INTENTS.reduce((n, g) => n + confusion[g].unsubscribe, 0);
  const actual = INTENTS.reduce((n, p) => n + confusion.unsubscribe[p], 0);
  return {
    items: items.length,
    confusion,
    precision: predicted === 0 ? 1 : tp / predicted,
    recall: actual === 0 ? 1 : tp / actual,
    ambiguousActedOn: confusion.ambiguous.unsubscribe + confusion.ambiguous.privacy,
    mistakes,
  };
}

export function formatEvaluation(name: string, e: Evaluation): string {
  const width = 12;
  const cell = (s: string | number) => String(s).padStart(width);
  const lines = [
    `${name}: ${e.items} replies; unsubscribe precision ${e.precision.toFixed(3)}, ` +
      `recall ${e.recall.toFixed(3)}; ambiguous acted on: ${e.ambiguousActedOn}`,
    `${'gold \\ predicted'.padEnd(width)}${INTENTS.map(cell).join('')}`,
    ...INTENTS.map(
      (g) => `${g.padEnd(width)}${INTENTS.map((p) => cell(e.confusion[g][p])).join('')}`,
    ),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const corpus = loadCorpus();
  const train = evaluate(corpus.filter((i) => i.split === 'train'));
  const test = evaluate(corpus.filter((i) => i.split === 'test'));
  console.log(formatEvaluation('train', train));
  console.log('');
  console.log(formatEvaluation('held-out (test)', test));
  if (train.mistakes.length > 0) {
    console.log('\nmistakes on train:');
    for (const m of train.mistakes)
      console.log(
        `- ${m.item.id} ${m.item.label} → ${m.predicted} (${m.reason}): ${JSON.stringify(m.item.text)}`,
      );
  }
}
