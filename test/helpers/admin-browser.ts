import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '../../src/shared/paths.js';
import { bootApp, type TestApp, type TestAppOptions } from './app.js';
import { CHROMIUM, launchChromium } from './browser.js';

/** Where the browser tests write their screenshots (docs/images takes its pictures from here). */
export const SHOTS = path.join(projectRoot, 'test-results', 'admin');
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[][];
}

/** Skips the suite (saying why) on a machine without Debian's Chromium. */
export function requireChromium(suite: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  console.error(`  skipped: no Chromium at ${CHROMIUM}`);
  suite.skip();
}

/** The same build `npm start` makes; skipped when nothing changed since the last one. */
export function buildAdmin(): void {
  const build = spawnSync(process.execPath, ['scripts/build-admin-if-stale.mjs'], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  expect(build.status, build.stderr).to.equal(0);
}

/**
 * The service on a real port (BASE_URL, which links in mail and cookie flags use, must name it),
 * and a Chromium page with the admin helpers every browser test uses.
 */
export class AdminBrowser {
  private constructor(
    readonly t: TestApp,
    readonly base: string,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly server: Server,
    private readonly password: string,
  ) {}

  static async start(
    opts: TestAppOptions & { password: string; locale?: string },
  ): Promise<AdminBrowser> {
    buildAdmin();
    mkdirSync(SHOTS, { recursive: true });
    // Listen first: the app is booted with the port it is reached on.
    let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
    const server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t = await bootApp({ ...opts, env: { BASE_URL: base, ...opts.env } });
    handler = t.app;
    const context = await launchChromium({ locale: opts.locale ?? 'fi-FI' });
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    return new AdminBrowser(t, base, context, page, server, opts.password);
  }

  async close(): Promise<void> {
    await this.context.close();
    await new Promise((resolve) => this.server.close(resolve));
    await this.t.close();
  }

  /** axe-core on the page as it is: no serious or critical violation. */
  async axe(screen: string): Promise<void> {
    // Evaluated through the DevTools protocol, which the page's CSP (no inline scripts) allows.
    if (!(await this.page.evaluate('"axe" in window'))) await this.page.evaluate(AXE_SOURCE);
    const violations = (await this.page.evaluate(
      `axe.run().then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target),
      })))`,
    )) as AxeViolation[];
    const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(grave, `${screen}: ${JSON.stringify(grave, null, 1)}`).to.deep.equal([]);
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** Signs in from a clean slate; `code` answers the second-factor question when asked. */
  async signIn(address: string, code?: () => Promise<void>): Promise<void> {
    const page = this.page;
    await this.context.clearCookies();
    await page.goto(`${this.base}/admin/`);
    await page.getByLabel(/Sähköposti|Email/).fill(address);
    await page.getByLabel(/Salasana|Password/).fill(this.password);
    await page.getByRole('button', { name: /Kirjaudu|Sign in/ }).click();
    if (code) await code();
    await page.getByRole('heading', { name: /Yleiskuva|Overview/ }).waitFor();
  }

  async signOut(): Promise<void> {
    await this.page
      .getByRole('button', { name: /Kirjaudu ulos|Sign out/ })
      .first()
      .click();
    await this.page
      .getByRole('heading', { name: /Kirjaudu Kirjeeseen|Sign in to Kirje/ })
      .waitFor();
  }

  /** A screen from the main menu. */
  async open(name: RegExp): Promise<void> {
    await this.page.getByRole('navigation', { name: 'main' }).getByRole('link', { name }).click();
  }

  /** No sideways scrolling at the page's current width. */
  async expectNoOverflow(screen: string): Promise<void> {
    const overflow = await this.page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    // Elements that stick out of the page (not merely out of a box that scrolls), to name.
    const culprits = (await this.page.evaluate(`(() => {
      const width = document.documentElement.clientWidth + 1;
      const clipped = (e) => {
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
          if (getComputedStyle(a).overflowX !== 'visible') return true;
        return false;
      };
      return [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width && !clipped(e))
        .slice(0, 5)
        .map((e) => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40));
    })()`)) as string[];
    expect(overflow, `${screen} scrolls sideways: ${culprits.join(', ')}`).to.be.at.most(0);
  }
}
