// Builds the admin app (scripts/build-admin.ts) only when admin/ or src/ (the OpenAPI document
// its API types come from) changed since the last build, like build-if-stale.mjs does for the
// server: a second `npm start` loads nothing, and runs without dev dependencies once built.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'admin', 'dist');
const stamp = path.join(dist, '.inputs-hash');
// Outputs and installed packages are not inputs.
const skipped = new Set(['admin/node_modules', 'admin/dist', 'admin/src/api/schema.d.ts']);

function files(p) {
  const rel = path.relative(root, p);
  if (skipped.has(rel)) return [];
  if (!statSync(p).isDirectory()) return [rel];
  return readdirSync(p)
    .sort()
    .flatMap((name) => files(path.join(p, name)));
}

const hash = createHash('sha256');
for (const file of ['admin', 'src'].flatMap((i) => files(path.join(root, i))))
  hash
    .update(`${file}\0`)
    .update(readFileSync(path.join(root, file)))
    .update('\0');
const inputs = hash.digest('hex');
const force = process.argv.includes('--force');
if (!force && existsSync(path.join(dist, 'index.html')) && existsSync(stamp)) {
  if (readFileSync(stamp, 'utf8') === inputs) process.exit(0);
}

const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-admin.ts'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (res.status !== 0) process.exit(res.status ?? 1);
writeFileSync(stamp, inputs);
