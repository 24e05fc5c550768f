// Compiles src/ into dist/ only when a source changed since the last build (`--force`: always;
// `npm run build`), so that `npm start` and `npm run cli` start at once the second time, and run
// where dev dependencies (TypeScript) are not installed as long as dist/ is current.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.built');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** Every file under `p`, sorted, relative to the root. */
function files(p) {
  if (!statSync(p).isDirectory()) return [path.relative(root, p)];
  return readdirSync(p)
    .sort()
    .flatMap((name) => files(path.join(p, name)));
}

// By content, not by time: a copy or checkout that changes file times alone rebuilds nothing.
const hash = createHash('sha256');
for (const file of inputs.flatMap((i) => files(path.join(root, i)))) {
  hash
    .update(`${file}\0`)
    .update(readFileSync(path.join(root, file)))
    .update('\0');
}
const sources = hash.digest('hex');
const built = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';
const force = process.argv.includes('--force');
if (!force && built === sources && existsSync(path.join(root, 'dist', 'src', 'main.js')))
  process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error(
    'dist/ is missing or older than src/, and TypeScript is not installed: run `npm run build` ' +
      'where dev dependencies are installed (see README, "Production")',
  );
  process.exit(1);
}
console.error('compiling src/ into dist/');
const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (res.status !== 0) process.exit(res.status ?? 1);
// What was read before the build: a source saved during the build makes the next start build again.
writeFileSync(stamp, sources);
