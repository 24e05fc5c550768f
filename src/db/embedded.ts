import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
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
import { projectRoot, toolsDir } from '../shared/paths.js';

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';

export class EmbeddedDatabaseError extends Error {
  override name = 'EmbeddedDatabaseError';
}

/** Kirje's changes to FerretDB's source, applied in name order; src/db/ferretdb/README.md says why. */
const PATCH_DIR = path.join(projectRoot, 'src', 'db', 'ferretdb');

function patchFiles(): string[] {
  return readdirSync(PATCH_DIR)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => path.join(PATCH_DIR, name));
}

/** Named by the patches' content, so that a build from other patches is never reused. */
export function ferretdbBinaryPath(): string {
  const digest = createHash('sha256');
  for (const file of patchFiles()) digest.update(readFileSync(file));
  const buildId = `${FERRETDB_VERSION}-kirje-${digest.digest('hex').slice(0, 12)}`;
  return path.join(toolsDir, `ferretdb-${buildId}`, 'ferretdb');
}

/** `git apply` outside any repository (the copy sits inside Kirje's): all patches apply, or none. */
function applySourcePatches(work: string): void {
  run('git', ['apply', '--whitespace=nowarn', ...patchFiles()], {
    cwd: work,
    env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(work) },
  });
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

export interface EmbeddedOptions {
  /** Query every row as stock FerretDB would: the reference the patched build is tested against. */
  withoutPushdown?: boolean;
}

export async function startEmbedded(
  dataDir: string,
  logger: Logger,
  options: EmbeddedOptions = {},
): Promise<EmbeddedDatabase> {
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
      // Dotted paths reach the backend, which pushes down what it can (src/db/ferretdb/README.md).
      ...(options.withoutPushdown
        ? ['--test-disable-pushdown']
        : ['--test-enable-nested-pushdown']),
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
