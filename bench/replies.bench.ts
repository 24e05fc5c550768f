import { classifyReply } from '../src/inbound/reply-intent/classify.js';
import { evaluate, INTENTS, loadCorpus } from '../scripts/eval-replies.js';

const ROUNDS = Number(process.env.BENCH_REPLIES_ROUNDS ?? 20);

/**
 * The reply classifier on the held-out part of the corpus (test/fixtures/replies), and what one
 * classification costs: it runs for every reply the inbound pipeline reads.
 */
export async function run(): Promise<Record<string, number | string>> {
  const corpus = loadCorpus();
  const heldOut = evaluate(corpus.filter((i) => i.split === 'test'));
  const matrix = INTENTS.map(
    (g) => `${g}: ${INTENTS.map((p) => `${p} ${heldOut.confusion[g][p]}`).join(', ')}`,
  ).join('; ');

  for (const item of corpus) classifyReply(item.text); // first use of every word's stem
  // CPU time, not wall time: on a shared machine the wall clock also counts other processes.
  const started = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) for (const item of corpus) classifyReply(item.text);
  const used = process.cpuUsage(started);
  const micros = (used.user + used.system) / (ROUNDS * corpus.length);

  return {
    'held-out replies': heldOut.items,
    'unsubscribe precision (held-out)': Number(heldOut.precision.toFixed(3)),
    'unsubscribe recall (held-out)': Number(heldOut.recall.toFixed(3)),
    'ambiguous acted on (held-out)': heldOut.ambiguousActedOn,
    'confusion, gold → predicted (held-out)': matrix,
    'CPU µs per classification (whole corpus)': micros,
  };
}
