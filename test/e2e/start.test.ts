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
/** Runs `npm start` as a user does and resolves with the URL it prints; `stop` ends it and everything it started. */
async function npmStart(dir: string, port: number): Promise<{ url: string; stop: () => Promise<void>; out: () => string }> {
  const child = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), DATATOOLS_START_DIR: dir } });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { out += d; });
  const stop = async () => {
    try { process.kill(-child.pid!, 'SIGINT'); } catch { /* gone */ }
    await new Promise(r => setTimeout(r, 2000));
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    // the port is free again before the next start
    for (let i = 0; i < 50; i++) {
      const free = await new Promise<boolean>(r => { const s = net.createServer(); s.once('error', () => r(false)); s.listen(port, '127.0.0.1', () => s.close(() => r(true))); });
      if (free) break;
      await new Promise(r => setTimeout(r, 200));
    }
  };
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
    return { url, stop, out: () => out };
  } catch (e) { await stop(); throw e; }
}

async function browser(dir: string) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(path.join(dir, 'chrome'), {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

test('npm start prints a URL that serves VS Code with the extension active; a theme and a connection the person saved survive a restart', { timeout: 15 * 60_000 }, async () => {
  const dir = tmpDir('npm-start');
  const port = await freePort();
  const settingsFile = path.join(dir, 'user-data', 'User', 'settings.json');
  let run = await npmStart(dir, port);
  try {
    assert.ok(run.url.startsWith(`http://127.0.0.1:${port}/`), run.url);
    const ctx = await browser(dir);
    try {
      const page = ctx.pages()[0] ?? await ctx.newPage();
      await page.goto(run.url);
      await page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor({ timeout: 120_000 });
      // the sample workspace is open: its data folder is in the Explorer
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'data' }).first().waitFor({ timeout: 30_000 });
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, '00-npm-start.png') });
      // the person picks another theme (high contrast: its own workbench class) through the command palette
      assert.equal(await page.locator('.monaco-workbench.hc-black').count(), 0, 'the default theme is not high contrast');
      await page.locator('.part.statusbar').click({ position: { x: 3, y: 3 } });
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill('>Preferences: Color Theme');
      // a click on the command itself (the first row may be "Browse Color Themes in Marketplace")
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preferences: Color Theme' }).first().click();
      // the theme list is open (its rows are themes): type to narrow it, as a person does
      await page.locator('.quick-input-list .monaco-list-row', { hasText: /Dark|Light/ }).first().waitFor();
      await input.fill('Dark High Contrast');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dark High Contrast' }).first().waitFor();
      await page.screenshot({ path: path.join(SHOTS, '00-npm-start-theme-picker.png') });
      await page.keyboard.press('Enter');
      await page.locator('.monaco-workbench.hc-black').first().waitFor({ timeout: 30_000 });
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !/workbench\.colorTheme/.test(fs.readFileSync(settingsFile, 'utf8'))) await new Promise(r => setTimeout(r, 250));
    } finally { await ctx.close(); }
  } finally { await run.stop(); }
  // VS Code wrote the theme into the person's settings; they also keep a connection there (as Add Connection saves it)
  const saved = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  assert.equal(saved['workbench.colorTheme'], 'Default High Contrast');
  saved['datatools.connections'] = [{ name: 'warehouse', host: '127.0.0.1', port: 5432, database: 'dw', user: 'me', ssl: 'disable' }];
  fs.writeFileSync(settingsFile, JSON.stringify(saved, null, 2));

  run = await npmStart(dir, port);
  try {
    const after = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    assert.equal(after['workbench.colorTheme'], 'Default High Contrast', 'npm start kept the theme');
    assert.deepEqual((after['datatools.connections'] as { name: string }[]).map(c => c.name), ['warehouse'], 'and the connection');
    const ctx = await browser(dir);
    try {
      const page = ctx.pages()[0] ?? await ctx.newPage();
      await page.goto(run.url);
      await page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor({ timeout: 120_000 });
      await page.locator('.monaco-workbench.hc-black').first().waitFor({ timeout: 30_000 });
      await page.screenshot({ path: path.join(SHOTS, '00-npm-start-restarted-theme-kept.png') });
    } finally { await ctx.close(); }
  } finally { await run.stop(); }
});
