import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT, tmpDir } from '../helpers/mcp';
import { SHOTS } from './workbench';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address() as net.AddressInfo; s.close(() => resolve(a.port)); });
  });
}

// `npm start` is the README's main command: run it as a user does (through npm, so npm's own environment is in
// play), wait for the URL it prints, and open that URL in a browser: VS Code must be there with the extension
// active (its status bar item shows the role).
test('npm start prints a URL that serves VS Code with the extension active', { timeout: 10 * 60_000 }, async () => {
  const dir = tmpDir('npm-start');
  const port = await freePort();
  const child = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), DATATOOLS_START_DIR: dir } });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { out += d; });
  const stop = () => { try { process.kill(-child.pid!, 'SIGINT'); } catch { /* gone */ } };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no URL within 8 minutes:\n${out}`)), 8 * 60_000);
      const check = () => {
        const m = /running in VS Code: (http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      };
      child.stdout.on('data', check);
      child.on('exit', code => { clearTimeout(timer); reject(new Error(`npm start exited (${code}) before printing a URL:\n${out}`)); });
    });
    assert.ok(url.startsWith(`http://127.0.0.1:${port}/`), url);
    const { chromium } = await import('playwright-core');
    const ctx = await chromium.launchPersistentContext(path.join(dir, 'chrome'), {
      executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = ctx.pages()[0] ?? await ctx.newPage();
      await page.goto(url);
      await page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor({ timeout: 120_000 });
      // the sample workspace is open: its data folder is in the Explorer
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'data' }).first().waitFor({ timeout: 30_000 });
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, '00-npm-start.png') });
    } finally {
      await ctx.close();
    }
  } finally {
    stop();
    await new Promise(r => setTimeout(r, 2000));
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
});
