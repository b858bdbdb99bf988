import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page, FrameLocator } from 'playwright-core';
import { ROOT } from '../helpers/mcp';

export const SHOTS = path.join(ROOT, 'test-results', 'e2e');

export interface ExecResult { id: number; command: string; value?: unknown; error?: string; paint?: PaintReport; paints?: PaintReport[]; activationMs?: number }
export interface PaintReport { id: string; rows: number; ms: number; complete?: boolean; total?: number; loading?: boolean }

export interface InvokeResult { text?: string; error?: string; tools: string[]; images: string[] }

interface Server { url: string; folderUrl: string; stop: () => Promise<void>; logFile: string }

/** A real VS Code (code-server) with the packaged extension and the test helper, driven by Playwright. */
export class Workbench {
  page!: Page;
  private ctx!: BrowserContext;
  private server!: Server;
  private seq = 0;
  readonly io: string;

  constructor(readonly dir: string, readonly workspace: string) {
    this.io = path.join(dir, 'io');
    fs.mkdirSync(this.io, { recursive: true });
    fs.mkdirSync(SHOTS, { recursive: true });
  }

  static helperVsix(): string {
    const src = path.join(ROOT, 'test', 'e2e', 'helper-ext');
    const out = path.join(os.tmpdir(), 'datatools-e2e-helper.vsix');
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', out], { cwd: src, stdio: 'pipe' });
    return out;
  }

  async start(settings: Record<string, unknown>, env: Record<string, string> = {}): Promise<void> {
    if (!fs.existsSync('/usr/bin/chromium')) throw new Error('Debian chromium is missing: apt-get install chromium (bash .ci/setup does)');
    const vsix = path.join(ROOT, 'datatools.vsix');
    if (!fs.existsSync(vsix)) throw new Error(`${vsix} is missing: run npm run package (npm test does)`);
    const { startVsCode } = await import(pathToFileURL(path.join(ROOT, 'scripts', 'vscode-server.mjs')).href);
    this.server = await startVsCode({ dir: this.dir, workspace: this.workspace, vsixes: [vsix, Workbench.helperVsix()], settings, env: { DT_E2E_DIR: this.io, ...env } });
    const { chromium } = await import('playwright-core');
    this.ctx = await chromium.launchPersistentContext(path.join(this.dir, 'chrome'), {
      executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1500, height: 950 },
      // the workbench's clipboard service uses navigator.clipboard (copy from the grid, read back by the tests)
      permissions: ['clipboard-read', 'clipboard-write'],
      // a TZ for the server is the browser's zone too: the webview must not depend on either
      ...(env.TZ ? { timezoneId: env.TZ } : {}),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    this.page = this.ctx.pages()[0] ?? await this.ctx.newPage();
    this.page.setDefaultTimeout(30_000);
    await this.page.goto(this.server.folderUrl);
    await this.page.locator('.monaco-workbench .activitybar').waitFor({ timeout: 90_000 });
    await this.waitForFile('activated.json', 60_000);
  }

  async stop(): Promise<void> {
    await this.ctx?.close().catch(() => undefined);
    await this.server?.stop();
  }

  serverLog(): string {
    try { return fs.readFileSync(this.server.logFile, 'utf8').slice(-3000); } catch { return ''; }
  }

  async shot(name: string): Promise<string> {
    const f = path.join(SHOTS, `${name}.png`);
    await this.page.screenshot({ path: f });
    return f;
  }

  async waitForFile<T = unknown>(name: string, timeout = 30_000, pred: (j: T) => boolean = () => true): Promise<T> {
    const f = path.join(this.io, name);
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      try { const j = JSON.parse(fs.readFileSync(f, 'utf8')) as T; if (pred(j)) return j; } catch { /* not yet */ }
      await new Promise(r => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${f}`);
  }

  /** Runs a command through the command palette, as a user would. A palette that closes under the typing (the
   *  focus moved to a webview or a notification) is opened again, up to three times; a modal dialog in the way is
   *  an error that quotes the dialog. */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      // a focused webview can keep F1 to itself: give the workbench the focus back first on a retry
      if (attempt > 1) await this.page.locator('.part.statusbar').click({ position: { x: 3, y: 3 } }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 3000 });
        await input.fill('>' + title, { timeout: 10_000 });
        await this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
        await this.page.keyboard.press('Enter');
        return;
      } catch (e) {
        const dialog = this.page.locator('.monaco-dialog-box');
        if (await dialog.isVisible().catch(() => false)) {
          await this.shot(`dialog-in-the-way-${Date.now()}`).catch(() => undefined);
          throw new Error(`a dialog is in the way of the command palette ("${title}"): ${((await dialog.textContent()) ?? '').trim()}`);
        }
        if (attempt >= 3) throw e;
      }
    }
  }

  /** Runs one of the helper extension's request-file commands through the palette and waits until the helper says
   *  it started on this request: an Enter that the palette swallowed (a list still filtering, a focus change at
   *  start-up) is tried again instead of being waited on until the result's timeout. The helper reads the request
   *  by id, so a second start of the same request cannot happen once the first one is seen. */
  private async runHelper(title: string, startedFile: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.runCommand(title);
      try { await this.waitForFile(startedFile, 10_000); return; } catch (e) {
        await this.shot(`helper-not-started-${attempt}-${Date.now()}`).catch(() => undefined);
        if (attempt >= 3) throw new Error(`the helper command "${title}" did not start after ${attempt} tries from the palette`);
      }
    }
  }

  /** vscode.lm.invokeTool inside the real extension host (through the helper extension). */
  async invokeTool(name: string, input: unknown): Promise<InvokeResult> {
    return (await this.startInvoke(name, input)).result();
  }

  /** Starts an invocation without waiting for it (e.g. to answer a confirmation first). */
  async startInvoke(name: string, input: unknown): Promise<{ result: () => Promise<InvokeResult> }> {
    const id = ++this.seq;
    fs.writeFileSync(path.join(this.io, 'invoke.json'), JSON.stringify({ id, name, input }));
    await this.runHelper('Data Tools Test: Invoke Tool From Request File', `invoke-started-${id}.json`);
    return { result: () => this.waitForFile(`invoke-result-${id}.json`, 120_000) };
  }

  /** vscode.commands.executeCommand inside the extension host; "file://" string args become Uris. */
  async execCommand(command: string, args: unknown[] = [], timeout = 120_000): Promise<ExecResult> {
    const id = ++this.seq;
    fs.writeFileSync(path.join(this.io, 'exec.json'), JSON.stringify({ id, command, args }));
    await this.runHelper('Data Tools Test: Execute Command From Request File', `exec-started-${id}.json`);
    return this.waitForFile(`exec-result-${id}.json`, timeout);
  }

  setModelScript(script: Record<string, unknown[]>): void {
    fs.writeFileSync(path.join(this.io, 'model-script.json'), JSON.stringify(script));
  }

  /** Types a message into the chat view and sends it. */
  async chat(message: string): Promise<void> {
    const editor = this.page.locator('.interactive-input-editor .monaco-editor').first();
    if (!(await editor.isVisible())) {
      await this.runCommand('Chat: Open Chat');
      await editor.waitFor();
    }
    await editor.click();
    // a sticky participant from the previous request is already in the box: start from an empty input
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.press('Backspace');
    const [participant, ...rest] = message.split(' ');
    await this.page.keyboard.type(participant);
    await this.page.locator('.suggest-widget.visible').waitFor({ timeout: 3000 }).catch(() => undefined);
    if (await this.page.locator('.suggest-widget.visible').count()) await this.page.keyboard.press('Escape');
    await this.page.keyboard.type(' ' + rest.join(' '));
    await this.page.keyboard.press('Enter');
  }

  /** Writes `text` to the workspace file `name`, opens it and clicks the editor's Run Query button, as a person would. */
  async runSqlFile(name: string, text: string): Promise<void> {
    const file = path.join(this.workspace, name);
    fs.writeFileSync(file, text);
    await this.execCommand('vscode.open', [`file://${file}`]);
    await this.page.locator('.tab.active', { hasText: name }).first().waitFor();
    const b = this.page.locator('.editor-actions .action-label[aria-label*="Run Query"]').first();
    await b.waitFor();
    await b.click();
  }

  /** The result webview's document (nested iframes). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').last().frameLocator('iframe');
  }
}
