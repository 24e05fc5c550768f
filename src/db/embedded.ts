import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/logger.js';
import { toolsDir } from '../shared/paths.js';

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';

export class EmbeddedDatabaseError extends Error {
  override name = 'EmbeddedDatabaseError';
}

/**
 * Bumped whenever the patches below change, so that an older build in .tools/ is not reused.
 */
const BUILD_ID = `${FERRETDB_VERSION}-kirje4`;

export function ferretdbBinaryPath(): string {
  return path.join(toolsDir, `ferretdb-${BUILD_ID}`, 'ferretdb');
}

/**
 * Two changes to FerretDB 1.24.2's source, each a few lines; a build that cannot find a patched
 * line fails instead of silently shipping the slow engine.
 *
 * 1. Its SQLite backend creates its unique `_id` index on the expression `_ferretdb_sjson->"_id"`
 *    but looks documents up with `_ferretdb_sjson->'$._id'`. SQLite uses an expression index only
 *    for the identical expression, so every find, update and delete by `_id` scanned the whole
 *    table (EXPLAIN QUERY PLAN: `SCAN`). Both select the same JSON value; writing the lookup the
 *    way the index is written makes it `SEARCH … USING INDEX`.
 * 2. Its leak tracking (internal/util/resource) records every iterator it opens in a pprof
 *    profile, which captures a stack trace, and sets a finalizer that panics the server if the
 *    iterator was not closed: a developer's check that cost 17% of FerretDB's CPU per `_id` read
 *    (pprof of FerretDB under 8 concurrent readers, 2026-11-25). Track and Untrack return at once.
 * 3. Its SQLite backend hands SQLite a `WHERE` only for a filter that is exactly `{_id: value}`.
 *    Kirje's build also pushes down `{_id: {$in: [values]}}` (up to ID_IN_PUSHDOWN_MAX values) as
 *    `WHERE id IN (…)`, and an `_id` condition beside other fields: so one command reads, updates
 *    or deletes a group of documents by `_id` from the index instead of one command per document
 *    or a scan. This only narrows what SQLite returns: FerretDB's handlers still apply the whole
 *    filter to every document they get back (find, count, update, delete), as they do for the
 *    stock `_id` pushdown, so results cannot change, only the rows read.
 * 4. SQLite admits one writer at a time. FerretDB lets concurrent inserts and updates race for
 *    that lock inside SQLite, whose busy handler polls with sleeps of 1, 2, 5, 10… ms, and a
 *    transaction that read before another committed fails outright (SQLITE_BUSY) and is retried by
 *    Kirje. Kirje's build queues write transactions (every insert and update) on a mutex per
 *    database file before they begin, so the next writer starts the moment the previous commits.
 *    Measured under Kirje's concurrent writers (2026-11-26): 27,000 lock calls (fcntl) and
 *    15,000 sleeps in 5 s of grouped updates before.
 */
/** Values in one pushed-down `$in` (SQLite allows 32,766 parameters; Kirje's groups are far smaller). */
const ID_IN_PUSHDOWN_MAX = 1000;
const ID_WHERE_GO = `// kirjeIDWhere is Kirje's patch: see src/db/embedded.ts in Kirje.
func kirjeIDWhere(filter *types.Document) (string, []any) {
\tif filter == nil || !filter.Has("_id") {
\t\treturn "", nil
\t}
\tv := must.NotFail(filter.Get("_id"))
\tswitch v := v.(type) {
\tcase string, types.ObjectID:
\t\treturn fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn), []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
\tcase *types.Document:
\t\tif v.Len() != 1 || !v.Has("$in") {
\t\t\treturn "", nil
\t\t}
\t\tin, ok := must.NotFail(v.Get("$in")).(*types.Array)
\t\tif !ok || in.Len() == 0 || in.Len() > ${ID_IN_PUSHDOWN_MAX} {
\t\t\treturn "", nil
\t\t}
\t\targs := make([]any, 0, in.Len())
\t\tfor i := 0; i < in.Len(); i++ {
\t\t\tswitch e := must.NotFail(in.Get(i)).(type) {
\t\t\tcase string, types.ObjectID:
\t\t\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(e))))
\t\t\tdefault:
\t\t\t\treturn "", nil
\t\t\t}
\t\t}
\t\treturn fmt.Sprintf(\` WHERE %s IN (?%s)\`, metadata.IDColumn, strings.Repeat(", ?", len(args)-1)), args
\t}
\treturn "", nil
}
`;
const LEAK_TRACKING_OFF = 'const trackingOff = true // Kirje: see src/db/embedded.ts\n\n';
const SOURCE_PATCHES: { file: string; from: string; to: string }[] = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: 'IDColumn = DefaultColumn + `->"_id"`',
  },
  {
    file: 'internal/util/resource/resource.go',
    from: 'func Track(obj any, token *Token) {\n',
    to: `${LEAK_TRACKING_OFF}func Track(obj any, token *Token) {\n\tif trackingOff {\n\t\treturn\n\t}\n`,
  },
  {
    file: 'internal/util/resource/resource.go',
    from: 'func Untrack(obj any, token *Token) {\n',
    to: 'func Untrack(obj any, token *Token) {\n\tif trackingOff {\n\t\treturn\n\t}\n',
  },
  {
    // The pushdown in collection.Query (the first of two such blocks; the other is Explain's).
    file: 'internal/backends/sqlite/collection.go',
    from:
      '\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")\n\t\tswitch v.(type) {\n' +
      '\t\tcase string, types.ObjectID:\n\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n' +
      '\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n\t\t}\n\t}\n',
    to: '\twhereClause, args = kirjeIDWhere(params.Filter)\n',
  },
  {
    // The same in Explain, so that `explain` shows the plan a find gets (test/integration/db).
    file: 'internal/backends/sqlite/collection.go',
    from:
      '\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")\n\t\tswitch v.(type) {\n' +
      '\t\tcase string, types.ObjectID:\n\t\t\tfilterPushdown = true\n' +
      '\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n' +
      '\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n\t\t}\n\t}\n',
    to: '\twhereClause, args = kirjeIDWhere(params.Filter)\n\tfilterPushdown = whereClause != ""\n',
  },
  {
    file: 'internal/util/fsql/db.go',
    from: '\t"log/slog"\n',
    to: '\t"log/slog"\n\t"sync"\n',
  },
  {
    file: 'internal/util/fsql/db.go',
    from: '\tBatchSize int\n}\n',
    to: '\tBatchSize int\n\n\twriteMu sync.Mutex // Kirje: see src/db/embedded.ts in Kirje\n}\n',
  },
  {
    file: 'internal/util/fsql/db.go',
    from: 'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n',
    to: 'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n\tdb.writeMu.Lock()\n\tdefer db.writeMu.Unlock()\n\n',
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    from: '// collection implements backends.Collection interface.\n',
    to: `${ID_WHERE_GO}\n// collection implements backends.Collection interface.\n`,
  },
];

function applySourcePatches(work: string): void {
  for (const patch of SOURCE_PATCHES) {
    const file = path.join(work, patch.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(patch.from)) {
      throw new EmbeddedDatabaseError(`FerretDB source patch does not apply to ${patch.file}`);
    }
    writeFileSync(file, text.replace(patch.from, patch.to));
  }
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0)
    throw new EmbeddedDatabaseError(`${cmd} ${args.join(' ')} failed: ${res.stderr.trim()}`);
  return res.stdout;
}

/**
 * Builds FerretDB from the Go module proxy into .tools/ once.
 *
 * A plain `go install …/cmd/ferretdb@v1.24.2` builds a binary that panics at start: the module
 * as published lacks build/version/version.txt, which FerretDB requires whenever it is the main
 * module. So we build the same sources from a copy of the module with that file written, which is
 * what FerretDB's own `task gen-version` does. CGO is off (the SQLite driver is pure Go).
 */
export async function ensureFerretdb(logger: Logger): Promise<string> {
  const binary = ferretdbBinaryPath();
  if (existsSync(binary)) return binary;

  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new EmbeddedDatabaseError(
      'MONGODB_URI is empty and Go is not installed, so the embedded FerretDB cannot be built: ' +
        'install Go (https://go.dev/dl) or set MONGODB_URI to a MongoDB server',
    );
  }

  mkdirSync(toolsDir, { recursive: true });
  const lock = path.join(toolsDir, 'ferretdb-build.lock');
  if (!(await acquireLock(lock, binary))) return binary;
  try {
    logger.info(
      { version: FERRETDB_VERSION },
      'building embedded FerretDB (once; about two minutes)',
    );
    const env = {
      ...process.env,
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false',
      GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'auto',
    };
    const info = JSON.parse(
      run('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], { env }),
    ) as { Dir: string };
    const work = path.join(toolsDir, `ferretdb-src-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    cpSync(info.Dir, work, { recursive: true });
    chmodTree(work);
    writeFileSync(path.join(work, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    applySourcePatches(work);
    const tmp = `${binary}.${process.pid}.tmp`;
    mkdirSync(path.dirname(binary), { recursive: true });
    run('go', ['build', '-trimpath', '-o', tmp, './cmd/ferretdb'], { cwd: work, env });
    renameSync(tmp, binary);
    rmSync(work, { recursive: true, force: true });
    logger.info({ binary }, 'embedded FerretDB built');
    return binary;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function chmodTree(dir: string): void {
  // The module cache is read-only; the copy must be writable to add version.txt and to be removed.
  spawnSync('chmod', ['-R', 'u+w', dir]);
}

/** Returns true when we hold the lock; false when another process finished the build meanwhile. */
async function acquireLock(lock: string, binary: string): Promise<boolean> {
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      if (existsSync(binary)) return false;
      // A lock older than the longest build is left from a killed process.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 10 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      await sleep(1000);
    }
  }
  throw new EmbeddedDatabaseError(`timed out waiting for another FerretDB build (${lock})`);
}

export interface EmbeddedDatabase {
  uri: string;
  pid: number;
  stop(): Promise<void>;
  /** Signals our FerretDB to stop without waiting; nothing for one we share with the service. */
  abandon(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

interface RunState {
  pid: number;
  port: number;
  ownerPid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isOurFerretdb(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(binary);
  } catch {
    return false;
  }
}

/**
 * What runs on this DATA_DIR already. A FerretDB whose owner is alive (the service, while the CLI
 * runs) is shared; one whose owner was killed with SIGKILL is an orphan holding our SQLite files,
 * and is stopped.
 */
function existingServer(stateFile: string, binary: string, logger: Logger): RunState | null {
  if (!existsSync(stateFile)) return null;
  let state: RunState;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as RunState;
  } catch {
    rmSync(stateFile, { force: true });
    return null;
  }
  if (isOurFerretdb(state.pid, binary)) {
    if (alive(state.ownerPid)) return state;
    logger.warn({ pid: state.pid }, 'stopping FerretDB left behind by a killed process');
    process.kill(state.pid, 'SIGKILL');
  }
  rmSync(stateFile, { force: true });
  return null;
}

export async function startEmbedded(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretdb(logger);
  const dbDir = path.join(dataDir, 'db');
  const stateDir = path.join(dbDir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const stateFile = path.join(dbDir, 'ferretdb.json');
  const shared = existingServer(stateFile, binary, logger);
  if (shared) {
    logger.info({ port: shared.port }, 'using the embedded FerretDB of the running service');
    return {
      uri: `mongodb://127.0.0.1:${shared.port}/`,
      pid: shared.pid,
      stop: async () => {},
      abandon: () => {},
    };
  }

  const port = await freePort();
  // FerretDB's log goes to a file, not a pipe to us: a Go program writing to a pipe whose reader
  // was killed dies of SIGPIPE, so an orphan's fate would depend on whether it happened to log.
  const logFile = path.join(dbDir, 'ferretdb.log');
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    binary,
    [
      '--handler=sqlite',
      // WAL (FerretDB's default) with synchronous=NORMAL instead of SQLite's FULL: a commit is
      // written to the WAL before it is acknowledged, so a killed Kirje or FerretDB loses nothing;
      // only an OS crash or power cut can lose the last commits, the same exposure as MongoDB's
      // default write concern (journal flushed every 100 ms). FULL also fsyncs every commit, which
      // cost 35-45% of the CPU and half the latency of each insert (docs/database.md).
      `--sqlite-url=file:${dbDir}/?_pragma=synchronous(normal)`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${stateDir}`,
      '--telemetry=disable',
      '--debug-addr=-',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', logFd] },
  );
  closeSync(logFd);
  let exited: number | null = null;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve();
    }),
  );
  writeFileSync(
    stateFile,
    JSON.stringify({ pid: child.pid!, port, ownerPid: process.pid } satisfies RunState),
  );

  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (exited !== null)
      throw new EmbeddedDatabaseError(
        `FerretDB exited with code ${exited}: ${readFileSync(logFile, 'utf8').slice(-4000).trim()}`,
      );
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedDatabaseError('FerretDB did not start listening within 30 s');
    }
    await sleep(50);
  }
  logger.info({ port, dir: dbDir }, 'embedded FerretDB started');

  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    pid: child.pid!,
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitedPromise;
        clearTimeout(timer);
      }
      rmSync(stateFile, { force: true });
    },
    abandon() {
      if (exited === null) child.kill('SIGTERM');
    },
  };
}
