import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:net';
import {
  isAlive,
  processesMentioning,
  runCli,
  runServiceToExit,
  startServiceProcess,
} from '../../helpers/service-process.js';

/**
 * The service as `npm start` runs it: its own embedded FerretDB under DATA_DIR, the CLI beside it,
 * SIGTERM, and a restart on the same data.
 */
describe('service process on the embedded database', function () {
  this.timeout(120_000);
  // Always the embedded default here, whatever the test run's database.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kirje-life-'));
  const env = { DATA_DIR: dataDir, MONGODB_URI: '' };
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves healthz, lets the CLI work beside it, stops on SIGTERM with no FerretDB left, keeps data', async () => {
    const first = await startServiceProcess(env);
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok', db: 'ok' });
    const ferret = JSON.parse(readFileSync(path.join(dataDir, 'db', 'ferretdb.json'), 'utf8')) as {
      pid: number;
    };
    expect(isAlive(ferret.pid)).to.equal(true);

    // The CLI shares the running service's database.
    const created = runCli(
      ['users:create', '--email', 'Admin@Example.com', '--role', 'admin', '--token'],
      env,
    );
    expect(created.status, created.stderr).to.equal(0);
    const token = created.stdout.trim().split('\n').at(-1)!;
    expect(token).to.match(/^kirje_[A-Za-z0-9_-]{43}$/);
    const me = await fetch(`${first.url}/api/v1/me`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(me.status).to.equal(200);
    expect(isAlive(ferret.pid), 'the CLI must not stop the service database').to.equal(true);

    first.child.kill('SIGTERM');
    const started = Date.now();
    expect(await first.exited).to.equal(0);
    expect(Date.now() - started).to.be.below(10_000);
    expect(first.logs.some((l) => l.msg === 'shutdown complete')).to.equal(true);
    expect(isAlive(ferret.pid), 'FerretDB left behind').to.equal(false);

    // Without the service the CLI starts (and stops) the embedded database itself.
    const list = runCli(['users:list'], env);
    expect(list.status, list.stderr).to.equal(0);
    expect(list.stdout).to.include('admin@example.com\tadmin\tactive');

    const second = await startServiceProcess(env);
    const again = await fetch(`${second.url}/api/v1/me`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(again.status, 'data and secrets survive a restart').to.equal(200);
    second.child.kill('SIGINT');
    expect(await second.exited).to.equal(0);
  });

  it('stops a FerretDB orphaned by a killed service before starting again', async () => {
    const first = await startServiceProcess(env);
    const ferret = JSON.parse(readFileSync(path.join(dataDir, 'db', 'ferretdb.json'), 'utf8')) as {
      pid: number;
    };
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(ferret.pid)).to.equal(true);
    const second = await startServiceProcess(env);
    expect(isAlive(ferret.pid)).to.equal(false);
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('fails to start with one line naming a bad variable', async () => {
    try {
      await startServiceProcess({ ...env, PORT: 'eighty' }, 20_000);
      expect.fail('started');
    } catch (err) {
      expect((err as Error).message).to.include('Invalid configuration: PORT');
    }
  });

  it('a taken port stops the start in one line naming its variable, with no database left', async () => {
    const taken: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, () => resolve(s));
    });
    try {
      const port = String((taken.address() as { port: number }).port);
      for (const variable of ['PORT', 'INBOUND_SMTP_PORT']) {
        const res = runServiceToExit({ ...env, [variable]: port });
        expect(res.status, res.stderr).to.equal(1);
        expect(res.stderr.trim().split('\n')).to.deep.equal([
          `Invalid configuration: ${variable} (port ${port}) is already in use`,
        ]);
        expect(res.stdout).not.to.include('Kirje listening');
        expect(processesMentioning(dataDir), 'left running').to.deep.equal([]);
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('the CLI explains itself and each command with --help', () => {
    const all = runCli(['--help'], env);
    expect(all.status).to.equal(0);
    expect(all.stdout).to.include('users:create').and.include('retention:run');
    const one = runCli(['tokens:create', '--help'], env);
    expect(one.status).to.equal(0);
    expect(one.stdout).to.include('Usage: npm run cli -- tokens:create --email EMAIL');
    const none = runCli([], env);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.include('Usage: npm run cli');
  });

  it('the CLI refuses bad input with a clear message', () => {
    const res = runCli(['users:create', '--email', 'not-an-email', '--role', 'admin'], env);
    expect(res.status).to.equal(2);
    expect(res.stderr).to.include('email: not a valid email address');
    const role = runCli(['users:create', '--email', 'x@example.com', '--role', 'boss'], env);
    expect(role.stderr).to.include('--role must be one of admin, marketing, sales, auditor');
  });
});
