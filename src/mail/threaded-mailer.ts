import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SendMailOptions } from 'nodemailer';
import { createSmtpMailer, type Mailer, type SentInfo, type SmtpMailerOptions } from './mailer.js';
import { closedError } from './smtp-pool.js';

/**
 * The mail thread's module. Built (dist/), a plain file. Run from source (tests, `npm run dev`),
 * the thread loads it through tsx's API: the loader registered in the main thread does not reach
 * worker threads, and `--import tsx` in a worker's execArgv does not register it either (Node 20).
 */
function threadEntry(): URL {
  const ext = path.extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./mail-thread${ext}`, import.meta.url);
  if (ext !== '.ts') return entry;
  const api = JSON.stringify(tsxEsmApi().href);
  const code = `const { tsImport } = await import(${api});
await tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * tsx's ESM API by URL, from its package's exports map: a `data:` module cannot resolve a package
 * name, and under mocha this file runs as CommonJS, without `import.meta.resolve`.
 */
function tsxEsmApi(): URL {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(manifest));
}

/** One answer of the mail thread (src/mail/mail-thread.ts) to one send. */
export interface ThreadReply {
  id: number;
  info?: SentInfo;
  error?: { message: string; code?: string; responseCode?: number; response?: string };
}

export interface ThreadedMailer extends Mailer {
  /**
   * For a shutdown that cannot wait for a relay that does not answer: the transactions still in
   * flight are cut (their outcome unknown, ETHREAD) and later sends fail as unconnected.
   */
  abort(): void;
}

/**
 * The SMTP mailer of the service: createSmtpMailer's connection pool, run in a thread of its own.
 * Signing each message (DKIM is an RSA signature per mail) and speaking SMTP are much of the CPU a
 * campaign mail costs; in the thread they run beside the event loop that serves
 * HTTP and drives the database, on another core. Failures keep what the send worker decides by:
 * the SMTP reply code and text, or the connection error code. A thread that dies takes its
 * transactions with it: their sends fail with code `ETHREAD`, an outcome the worker records as
 * unknown, never as safe to repeat.
 */
export function createThreadedMailer(opts: SmtpMailerOptions): ThreadedMailer {
  // Without SMTP_URL every send fails at once with a clear error: no thread is needed for that.
  if (!opts.url) {
    const mailer = createSmtpMailer(opts);
    return { ...mailer, abort: () => mailer.close() };
  }
  const thread = new Worker(threadEntry(), { workerData: opts });
  // Sends in flight keep the process alive; an idle mail thread does not.
  thread.unref();
  const pending = new Map<number, { resolve(info: SentInfo): void; reject(err: Error): void }>();
  let nextId = 0;
  let gone: Error | undefined;

  thread.on('message', (reply: ThreadReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) thread.unref();
    if (reply.error) waiter?.reject(Object.assign(new Error(reply.error.message), reply.error));
    else waiter?.resolve(reply.info!);
  });
  const fail = (err: Error) => {
    const lost = Object.assign(new Error(`mail thread stopped: ${err.message}`), {
      code: 'ETHREAD',
    });
    gone ??= lost;
    for (const waiter of pending.values()) waiter.reject(lost);
    pending.clear();
  };
  thread.on('error', fail);
  thread.on('exit', (code) => fail(new Error(`exit code ${code}`)));

  return {
    send(message: SendMailOptions): Promise<SentInfo> {
      if (gone) return Promise.reject(gone);
      const id = nextId++;
      return new Promise<SentInfo>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        thread.ref();
        try {
          thread.postMessage({ id, message });
        } catch (err) {
          // Not sendable to a thread (a stream, a function): nothing reached SMTP.
          pending.delete(id);
          if (pending.size === 0) thread.unref();
          reject(err as Error);
        }
      });
    },
    close() {
      thread.postMessage('close');
    },
    abort() {
      // Later sends reach no relay: failing as unconnected, they are safe to try again.
      gone ??= closedError();
      thread.postMessage('close');
      if (pending.size > 0) void thread.terminate();
    },
  };
}
