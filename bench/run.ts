import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the named ones) and prints their
 * figures with the machine and date, ready for BENCHMARKS.md. Benchmarks start their own database
 * and SMTP sinks on loopback, like the tests.
 */
const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

console.log(
  `# ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ` +
    `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
);
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as {
    run(): Promise<Record<string, number | string>>;
  };
  const started = Date.now();
  const result = await mod.run();
  console.log(
    `\n## ${file.replace('.bench.ts', '')} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  for (const [k, v] of Object.entries(result))
    console.log(`- ${k}: ${typeof v === 'number' ? Number(v.toFixed(2)) : v}`);
}
process.exit(0);
