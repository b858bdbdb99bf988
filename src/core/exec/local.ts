import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { DataToolsConfig } from '../config';
import { ToolError } from '../result';
import { grantedCapabilities } from '../roles';
import { ENVIRONMENT_PROBE, type Execution, type ExecutionBackend, type EnvironmentInfo, type RichResult, type ScriptRun } from './types';

const OUTPUT_CAP = 1024 * 1024;

/** kernel.py: next to the bundle (dist/sandbox) or in the source tree when run from tsc output. */
function kernelPath(): string {
  const candidates = [path.join(__dirname, 'sandbox', 'kernel.py'), path.join(__dirname, 'python', 'kernel.py'),
    path.resolve(__dirname, '..', '..', '..', '..', 'src', 'core', 'exec', 'python', 'kernel.py')];
  const found = candidates.find(p => fs.existsSync(p));
  if (!found) throw new Error(`kernel.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function findPython(): string {
  const p = process.env.DATATOOLS_PYTHON || '/usr/bin/python3';
  if (!fs.existsSync(p)) throw new ToolError(`Python was not found at ${p}. Install python3 (apt-get install python3 python3-pandas python3-matplotlib) or set DATATOOLS_PYTHON.`);
  return p;
}

export function findBwrap(): string | undefined {
  for (const p of ['/usr/bin/bwrap', '/usr/local/bin/bwrap']) if (fs.existsSync(p)) return p;
  return undefined;
}

interface Launch { cmd: string; args: string[]; env: NodeJS.ProcessEnv; isolation: string }

/** The command that starts Python inside bubblewrap: no network, read-only system, private /tmp, the data
 *  roots mounted read-only (or read-write for roles that may write), a clean environment, dies with its parent. */
export interface LaunchOptions {
  /** The interpreter (e.g. the venv's python); the system python by default. */
  python?: string;
  /** Share the host network (pip only). */
  network?: boolean;
  /** Extra folders mounted read-write / read-only at their own paths. */
  rw?: string[];
  ro?: string[];
  /** [host folder, sandbox path] read-write mounts (the E2B stand-in's sandbox filesystem). */
  binds?: [string, string][];
  env?: Record<string, string>;
}

export function sandboxLaunch(cfg: DataToolsConfig, pythonArgs: string[], kernelDir: string, lo: LaunchOptions = {}): Launch {
  const python = lo.python ?? findPython();
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', MPLBACKEND: 'Agg', MPLCONFIGDIR: '/tmp/.mpl',
    PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1',
    DATATOOLS_MEMORY_BYTES: String(cfg.limits.memoryMb * 1024 * 1024), DATATOOLS_MAX_PROCS: '256', DATATOOLS_OUTPUT_CAP: String(OUTPUT_CAP),
    ...lo.env,
  };
  const bwrap = findBwrap();
  if (!bwrap) {
    if (!cfg.allowUnisolatedSandbox) {
      throw new ToolError('The local Python sandbox needs bubblewrap for isolation and it is not installed. Install it (apt-get install bubblewrap), or set an E2B API key to run in the cloud, or allow running without isolation (setting datatools.sandbox.allowUnisolated / DATATOOLS_ALLOW_UNISOLATED=1; unsafe).');
    }
    return { cmd: python, args: pythonArgs, env: { ...env, HOME: os.tmpdir() }, isolation: 'none (bubblewrap missing; unisolated by setting)' };
  }
  const writable = grantedCapabilities({ role: cfg.role, trusted: true }).has('files.write');
  const args = ['--unshare-all', ...(lo.network ? ['--share-net'] : []), '--die-with-parent', '--new-session', '--clearenv',
    '--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--tmpfs', '/home', '--tmpfs', '/root', '--tmpfs', '/var', '--tmpfs', '/run'];
  for (const d of ['/bin', '/lib', '/lib64', '/lib32', '/sbin']) {
    if (!fs.existsSync(d)) continue;
    const st = fs.lstatSync(d);
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(d), d); else args.push('--ro-bind', d, d);
  }
  for (const [src, dst] of lo.binds ?? []) args.push('--bind', src, dst);
  for (const root of cfg.allowedPaths) {
    let real: string;
    try { real = fs.realpathSync(root); } catch { continue; }
    args.push(writable ? '--bind' : '--ro-bind', real, real);
  }
  for (const d of lo.ro ?? []) if (fs.existsSync(d)) args.push('--ro-bind', fs.realpathSync(d), fs.realpathSync(d));
  for (const d of lo.rw ?? []) if (fs.existsSync(d)) args.push('--bind', fs.realpathSync(d), fs.realpathSync(d));
  args.push('--ro-bind', kernelDir, '/opt/datatools', '--chdir', fs.existsSync(cfg.allowedPaths[0]) ? fs.realpathSync(cfg.allowedPaths[0]) : '/tmp');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, String(v));
  args.push(python, ...pythonArgs.map(a => (a.startsWith(kernelDir) ? a.replace(kernelDir, '/opt/datatools') : a)));
  return { cmd: bwrap, args, env: {}, isolation: `bubblewrap (no network, read-only system, private /tmp, data roots ${writable ? 'read-write' : 'read-only'})` };
}

interface Pending {
  id: number;
  exec: Execution;
  onStream?: (name: 'stdout' | 'stderr', text: string) => void;
  resolve: (e: Execution) => void;
  reject: (e: Error) => void;
}

class KernelProcess {
  readonly proc: ChildProcess;
  readonly ready: Promise<{ engine: string; python: string }>;
  private pending?: Pending;
  private seq = 0;
  exited = false;
  stderrTail = '';

  constructor(launch: Launch) {
    this.proc = spawn(launch.cmd, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.proc.stdin!.on('error', () => undefined);
    let readyResolve!: (v: { engine: string; python: string }) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
    this.ready.catch(() => undefined);
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on('line', line => {
      let m: Record<string, unknown>;
      try { m = JSON.parse(line); } catch { return; }
      if (m.type === 'ready') { readyResolve(m as { engine: string; python: string }); return; }
      const p = this.pending;
      if (!p || m.id !== p.id) return;
      this.onMessage(p, m);
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      // output of child processes (fd 1 and 2 of the sandbox) arrives here
      const p = this.pending;
      if (p) {
        const room = OUTPUT_CAP - p.exec.stderr.length;
        if (room > 0) p.exec.stderr += text.slice(0, room); else p.exec.droppedBytes += text.length;
        p.onStream?.('stderr', text);
      }
    });
    this.proc.on('exit', (code, sig) => {
      this.exited = true;
      readyReject(new Error(`the Python sandbox exited at start (${sig ?? code}): ${this.stderrTail.trim().slice(-1500)}`));
      this.pending?.reject(new Error(`the Python process ended (${sig ?? `exit ${code}`})`));
      this.pending = undefined;
    });
  }

  private onMessage(p: Pending, m: Record<string, unknown>): void {
    switch (m.type) {
      case 'stream': {
        const name = m.name === 'stderr' ? 'stderr' : 'stdout';
        p.exec[name] += String(m.text);
        p.onStream?.(name, String(m.text));
        break;
      }
      case 'display': {
        const d = m.data as Record<string, unknown>;
        const r: RichResult = { isMainResult: m.is_result === true };
        if (typeof d['text/plain'] === 'string') r.text = d['text/plain'];
        if (typeof d['text/html'] === 'string') r.html = d['text/html'];
        if (typeof d['image/png'] === 'string') r.png = d['image/png'];
        if (typeof d['image/jpeg'] === 'string') r.jpeg = d['image/jpeg'];
        if (typeof d['image/svg+xml'] === 'string') r.svg = d['image/svg+xml'];
        if (d['application/json'] !== undefined) r.json = d['application/json'];
        if (d['application/vnd.datatools.table+json']) r.table = d['application/vnd.datatools.table+json'] as RichResult['table'];
        p.exec.results.push(r);
        break;
      }
      case 'error':
        p.exec.error = { name: String(m.ename), value: String(m.evalue), traceback: String(m.traceback) };
        break;
      case 'done':
        p.exec.executionCount = typeof m.execution_count === 'number' ? m.execution_count : undefined;
        p.exec.droppedBytes += Number(m.dropped ?? 0);
        this.pending = undefined;
        p.resolve(p.exec);
        break;
    }
  }

  execute(code: string, onStream?: Pending['onStream']): Promise<Execution> {
    if (this.pending) throw new Error('busy');
    const id = ++this.seq;
    return new Promise<Execution>((resolve, reject) => {
      this.pending = { id, onStream, resolve, reject, exec: { stdout: '', stderr: '', results: [], durationMs: 0, droppedBytes: 0 } };
      this.proc.stdin!.write(JSON.stringify({ id, op: 'execute', code }) + '\n');
    });
  }

  kill(): void {
    if (this.exited || !this.proc.pid) return;
    try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Runs a sandboxed process to completion with a timeout, output caps and cancellation (its whole group is killed). */
function runProcess(launch: Launch, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun> {
  const started = performance.now();
  return new Promise<ScriptRun>(resolve => {
    const p = spawn(launch.cmd, launch.args, { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = { stdout: '', stderr: '', dropped: 0 };
    const take = (k: 'stdout' | 'stderr') => (d: Buffer) => {
      o.onStream?.(k, d.toString());
      const room = OUTPUT_CAP - out[k].length;
      if (room > 0) out[k] += d.toString().slice(0, room); else out.dropped += d.length;
    };
    p.stdout!.on('data', take('stdout'));
    p.stderr!.on('data', take('stderr'));
    let timedOut = false;
    const kill = () => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs);
    o.signal.addEventListener('abort', kill, { once: true });
    p.on('close', code => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', kill);
      resolve({ stdout: out.stdout, stderr: out.stderr, exitCode: code, durationMs: Math.round(performance.now() - started), timedOut, droppedBytes: out.dropped });
    });
  });
}

/** The default backend: a persistent Python process per session, isolated by bubblewrap. */
export class LocalSandbox implements ExecutionBackend {
  readonly name = 'local' as const;
  private kernel?: KernelProcess;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly kernelFile = kernelPath();

  constructor(private readonly cfg: DataToolsConfig, private readonly extra: LaunchOptions = {}) {}

  /** The per-workspace virtual environment: created on first use (fast: no pip copy, the system's data stack
   *  stays visible through --system-site-packages), mounted read-only into the sandbox. */
  private venvPython(): string | undefined {
    const dir = this.cfg.venvDir;
    const py = path.join(dir, 'bin', 'python');
    if (fs.existsSync(py)) return py;
    try {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      const r = spawnSync(findPython(), ['-m', 'venv', '--without-pip', '--system-site-packages', dir], { encoding: 'utf8', timeout: 60_000 });
      if (r.status === 0 && fs.existsSync(py)) return py;
      this.venvError = (r.stderr || r.error?.message || 'unknown error').trim().split('\n').pop();
    } catch (e) { this.venvError = (e as Error).message; }
    return undefined;
  }
  private venvError: string | undefined;

  private launchOptions(): LaunchOptions {
    const py = this.venvPython();
    return { ...this.extra, ...(py ? { python: py, ro: [this.cfg.venvDir, ...(this.extra.ro ?? [])] } : {}) };
  }

  private async ensure(): Promise<KernelProcess> {
    if (this.kernel && !this.kernel.exited) return this.kernel;
    const launch = sandboxLaunch(this.cfg, ['-u', this.kernelFile], path.dirname(this.kernelFile), this.launchOptions());
    const k = new KernelProcess(launch);
    this.kernel = k;
    await k.ready;
    return k;
  }

  execute(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<Execution> {
    const task = this.queue.then(() => this.run(code, o));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async run(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<Execution> {
    const k = await this.ensure();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let reason: string | undefined;
    const stop = (why: string) => { reason = why; k.kill(); };
    const onAbort = () => stop('cancelled');
    o.signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => stop('timeout'), o.timeoutMs);
    try {
      const exec = await k.execute(code, o.onStream);
      exec.durationMs = Math.round(performance.now() - started);
      return exec;
    } catch (e) {
      const durationMs = Math.round(performance.now() - started);
      this.kernel = undefined;
      const base: Execution = { stdout: '', stderr: k.stderrTail.slice(-2000), results: [], durationMs, droppedBytes: 0 };
      if (reason === 'timeout') {
        return { ...base, restarted: 'timeout', error: { name: 'TimeoutError', value: `Execution stopped after its ${o.timeoutMs / 1000} s timeout`, traceback: '' } };
      }
      if (reason === 'cancelled') return { ...base, restarted: 'cancelled', error: { name: 'Cancelled', value: 'Execution was cancelled', traceback: '' } };
      // the process died on its own: most often the kernel killed by the memory limit
      return { ...base, restarted: 'crash', error: { name: 'SandboxCrash', value: `${(e as Error).message}. The session was restarted (memory limit ${this.cfg.limits.memoryMb} MB).`, traceback: '' } };
    } finally {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
    }
  }

  async runScript(file: string, args: string[], o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun> {
    const kernelDir = path.dirname(this.kernelFile);
    // the script runs in a fresh process with the same isolation and limits; the kernel's limit setter is reused
    const prelude = 'import os, resource, runpy, sys\n'
      + 'm = int(os.environ.get("DATATOOLS_MEMORY_BYTES", "0"))\n'
      + 'if m: resource.setrlimit(resource.RLIMIT_AS, (m, m))\n'
      + 'resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n'
      + 'sys.argv = sys.argv[1:]\n'
      + 'runpy.run_path(sys.argv[0], run_name="__main__")\n';
    const launch = sandboxLaunch(this.cfg, ['-c', prelude, file, ...args], kernelDir, this.launchOptions());
    return runProcess(launch, o);
  }

  async install(packages: string[], o: { timeoutMs: number; signal: AbortSignal }): Promise<ScriptRun> {
    const py = this.venvPython();
    if (!py) throw new ToolError(`Could not create the virtual environment at ${this.cfg.venvDir} (${this.venvError}). Install python3-venv (apt-get install python3-venv).`);
    // pip's own settings (a mirror, an offline wheel folder) pass through; a local --find-links folder is mounted
    const env: Record<string, string> = { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_PROGRESS_BAR: 'off' };
    for (const [k, v] of Object.entries(process.env)) if (/^PIP_(INDEX_URL|EXTRA_INDEX_URL|FIND_LINKS|NO_INDEX|TRUSTED_HOST|CERT|DEFAULT_TIMEOUT)$/.test(k) && v) env[k] = v;
    const ro = (env.PIP_FIND_LINKS ?? '').split(/\s+/).filter(p => p.startsWith('/'));
    const launch = sandboxLaunch(this.cfg, ['-m', 'pip', 'install', '--no-warn-script-location', ...packages], path.dirname(this.kernelFile),
      { python: py, network: true, rw: [this.cfg.venvDir], ro, env });
    const r = await runProcess(launch, o);
    // the running session sees the new packages: the venv's site-packages is already on its path
    if (this.kernel && !this.kernel.exited) await this.execute('import importlib; importlib.invalidate_caches()', { timeoutMs: 10_000, signal: o.signal }).catch(() => undefined);
    return r;
  }

  async environment(): Promise<EnvironmentInfo> {
    const code = ENVIRONMENT_PROBE;
    const exec = await this.execute(code, { timeoutMs: 30_000, signal: new AbortController().signal });
    if (exec.error) throw new ToolError(`Could not describe the environment: ${exec.error.name}: ${exec.error.value}`);
    const info = JSON.parse(exec.stdout.trim().split('\n').pop() ?? '{}') as { python: string; packages: Record<string, string | null> };
    const launch = sandboxLaunch(this.cfg, [], path.dirname(this.kernelFile));
    return { backend: 'local', isolation: launch.isolation, python: info.python, packages: info.packages, network: 'none (the sandbox has no network namespace access)' };
  }

  async restart(): Promise<void> {
    this.kernel?.kill();
    this.kernel = undefined;
  }

  async dispose(): Promise<void> { await this.restart(); }
}

/** Whether bubblewrap can create its namespaces here (fails in some containers). */
export function bwrapWorks(): boolean {
  const b = findBwrap();
  if (!b) return false;
  return spawnSync(b, ['--unshare-all', '--ro-bind', '/', '/', '/bin/true']).status === 0;
}
