import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { tmpDir } from './mcp';

export interface JupyterServer {
  url: string;
  token: string;
  /** The server's contents root (the kernels' working directory), a host path. */
  root: string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise(r => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise(r => s.close(r));
  return port;
}

/** Starts Debian's jupyter-server on loopback with a random token and port, in a throwaway root, with its own
 *  Jupyter/IPython dirs. `privateTmp` runs it in bubblewrap with its own empty /tmp (only the server's own folder is
 *  shared), so files of the test's data roots are NOT visible to its kernels: like a server on another machine.
 *  `kernelPython` installs a "python3" kernel spec that runs that interpreter (e.g. a venv's). */
export async function startJupyter(o: { privateTmp?: boolean; kernelPython?: string; env?: Record<string, string> } = {}): Promise<JupyterServer> {
  if (!fs.existsSync('/usr/bin/jupyter-server')) throw new Error('jupyter-server is missing: apt-get install jupyter-server python3-ipykernel (bash .ci/setup does)');
  if (o.privateTmp && !fs.existsSync('/usr/bin/bwrap')) throw new Error('bubblewrap is missing: apt-get install bubblewrap');
  const base = tmpDir('jupyter');
  const root = path.join(base, 'root');
  for (const d of ['root', 'config', 'runtime', 'data', 'ipython', 'mpl', 'path/kernels/python3']) fs.mkdirSync(path.join(base, d), { recursive: true });
  if (o.kernelPython) {
    fs.writeFileSync(path.join(base, 'path/kernels/python3/kernel.json'), JSON.stringify({
      argv: [o.kernelPython, '-m', 'ipykernel_launcher', '-f', '{connection_file}'], display_name: 'Python 3 (test venv)', language: 'python',
    }));
  }
  const port = await freePort();
  const token = crypto.randomBytes(24).toString('hex');
  const args = ['--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--ServerApp.port_retries=0', `--ServerApp.token=${token}`,
    `--ServerApp.root_dir=${root}`, '--ServerApp.password=', ...(process.getuid?.() === 0 ? ['--allow-root'] : [])];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: base, LANG: 'C.UTF-8',
    JUPYTER_CONFIG_DIR: path.join(base, 'config'), JUPYTER_RUNTIME_DIR: path.join(base, 'runtime'), JUPYTER_DATA_DIR: path.join(base, 'data'),
    JUPYTER_PATH: path.join(base, 'path'), IPYTHONDIR: path.join(base, 'ipython'), MPLCONFIGDIR: path.join(base, 'mpl'), ...o.env,
  };
  const [cmd, argv] = o.privateTmp
    ? ['/usr/bin/bwrap', ['--dev-bind', '/', '/', '--tmpfs', '/tmp', '--bind', base, base, '--unshare-pid', '--die-with-parent', '--', '/usr/bin/jupyter-server', ...args]]
    : ['/usr/bin/jupyter-server', args];
  const child: ChildProcess = spawn(cmd, argv, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', d => { log += d; });
  child.stderr?.on('data', d => { log += d; });
  const exited = new Promise<void>(r => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}/`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); }
    await Promise.race([exited, new Promise(r => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
    fs.rmSync(base, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) { await close(); throw new Error(`jupyter-server exited (${child.exitCode}):\n${log}`); }
    try {
      const r = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { await close(); throw new Error(`jupyter-server did not answer on ${url} within 60 s:\n${log}`); }
    await new Promise(r => setTimeout(r, 150));
  }
  return { url, token, root, close };
}

/** A loopback HTTP + WebSocket proxy to `target` that answers 404 for paths matching `block`: a server without that
 *  API (e.g. Enterprise Gateway has no contents API). */
export async function startBlockingProxy(target: string, block: RegExp): Promise<{ url: string; blocked: string[]; close(): Promise<void> }> {
  const t = new URL(target);
  const blocked: string[] = [];
  const server = http.createServer((req, res) => {
    if (block.test(req.url ?? '')) {
      blocked.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message": "Not Found"}');
      return;
    }
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, r => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise(r => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, blocked, close: () => new Promise(r => { server.closeAllConnections(); server.close(() => r()); }) };
}
