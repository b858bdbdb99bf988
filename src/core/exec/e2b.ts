import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Sandbox } from '@e2b/code-interpreter';
import { handoverRoots, type DataToolsConfig } from '../config';
import { pipCode, scriptCode, scriptRunOf } from './kernelScripts';
import { ToolError } from '../result';
import { PathPolicy } from '../storage/paths';
import { OutputBudget } from './output';
import { ENVIRONMENT_PROBE, type EnvironmentInfo, type Execution, type ExecutionBackend, type RichResult, type ScriptRun } from './types';


/** Where a local path lives in the E2B sandbox: the same path when the sandbox user may write there (/tmp,
 *  /home/user), else under /home/user/work (E2B's files API writes as that user). */
export function mirrorPath(local: string): string {
  return /^\/(tmp|home\/user)\//.test(local) ? local : path.posix.join('/home/user/work', local);
}
/** The sandbox dies this long after the last call (E2B's timeout is extended on every call). */
const IDLE_MS = 10 * 60_000;

type RunOpts = { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void };

/** Maps the SDK's errors to sentences an agent (and a user) can act on. */
export function e2bMessage(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const m = err?.message ?? String(e);
  switch (err?.name) {
    case 'AuthenticationError': return 'E2B rejected the API key. Set a valid key (command "Data Tools: Set E2B API Key" or E2B_API_KEY), or clear it to use the local sandbox.';
    case 'RateLimitError': return 'E2B refused to start another sandbox: rate limit or quota reached. Wait, close other sandboxes, or use the local sandbox.';
    case 'TemplateError': return `The E2B template is not usable: ${m}`;
    default: break;
  }
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|network/i.test(m)) return `Could not reach E2B (${m}). Check the network, or clear the E2B key to use the local sandbox.`;
  return `E2B error: ${m}`;
}

function isGone(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return err?.name === 'SandboxNotFoundError' || err?.name === 'NotFoundError' || (err?.name === 'TimeoutError' && /sandbox timeout/i.test(err.message ?? ''));
}

/** E2B cloud sandboxes through @e2b/code-interpreter: one sandbox per session, reused, killed when idle or on close,
 *  created with the internet off (opened only around pip). Results come back in the same model as the local one. */
export class E2BSandbox implements ExecutionBackend {
  readonly name = 'e2b' as const;
  private sbx?: Promise<Sandbox>;
  private queue: Promise<unknown> = Promise.resolve();
  private uploaded = new Map<string, number>();
  private cwdSet?: Sandbox;

  constructor(private readonly cfg: DataToolsConfig) {
    if (!cfg.e2bApiKey) throw new ToolError('No E2B API key is set. Set one (command "Data Tools: Set E2B API Key" or E2B_API_KEY), or use the local sandbox.');
  }

  private ensure(): Promise<Sandbox> {
    if (!this.sbx) {
      const p = (async () => {
        const { Sandbox } = await import('@e2b/code-interpreter');
        try {
          return await Sandbox.create({ apiKey: this.cfg.e2bApiKey, timeoutMs: IDLE_MS, allowInternetAccess: false, metadata: { client: 'datatools' } });
        } catch (e) { throw new ToolError(e2bMessage(e)); }
      })();
      this.sbx = p;
      p.catch(() => { if (this.sbx === p) this.sbx = undefined; });
    }
    return this.sbx;
  }

  private async drop(): Promise<void> {
    const p = this.sbx;
    this.sbx = undefined;
    this.uploaded.clear();
    if (p) await p.then(s => s.kill(), () => undefined).catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const t = this.queue.then(fn);
    this.queue = t.catch(() => undefined);
    return t;
  }

  /** The working directory, as on the local backend: the workspace folder (or the first data root). */
  private localCwd(): string { return this.cfg.workspaceDir ?? this.cfg.allowedPaths[0] ?? '/tmp'; }

  /** Files under the data roots that the code names (e.g. a query result saved for Python, or 'data/orders.csv'
   *  relative to the working directory) are uploaded to their mirror path in the sandbox first, so code reads
   *  them as it would locally. */
  private async handOver(sbx: Sandbox, code: string, localCwd = this.localCwd()): Promise<void> {
    const policy = new PathPolicy(handoverRoots(this.cfg), this.cfg.limits.maxFileBytes);
    const literals = new Set([...code.matchAll(/(["'])([^"'\n]{1,1024})\1/g)].map(m => m[2]).filter(l => l.startsWith('/') || /[./]/.test(l)));
    for (const lit of literals) {
      const local = path.resolve(localCwd, lit);
      let real: string;
      try { real = await policy.resolveExisting(local); } catch { continue; }
      const st = fs.statSync(real);
      const remote = mirrorPath(local);
      if (!st.isFile() || st.size > this.cfg.limits.maxFileBytes || this.uploaded.get(remote) === st.mtimeMs) continue;
      const buf = fs.readFileSync(real);
      await sbx.files.write(remote, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      this.uploaded.set(remote, st.mtimeMs);
    }
  }

  execute(code: string, o: RunOpts): Promise<Execution> {
    return this.serial(() => this.run(code, o, true));
  }

  private async run(code: string, o: RunOpts, retry: boolean): Promise<Execution> {
    const started = performance.now();
    const sbx = await this.ensure();
    const ms = () => Math.round(performance.now() - started);
    const base = (): Execution => ({ stdout: '', stderr: '', results: [], durationMs: ms(), droppedBytes: 0 });
    let cancelled = false;
    const onAbort = () => { cancelled = true; void this.drop(); };
    o.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.handOver(sbx, code);
      if (this.cwdSet !== sbx) {
        // the session starts in the mirror of the workspace folder, like the local sandbox
        const cwd = mirrorPath(this.localCwd());
        await sbx.runCode(`import os\nos.makedirs(${JSON.stringify(cwd)}, exist_ok=True)\nos.chdir(${JSON.stringify(cwd)})`, { timeoutMs: 30_000 });
        this.cwdSet = sbx;
      }
      // the SDK's own timeout covers the response body; ours also covers a server that never answers
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_r, reject) => {
        timer = setTimeout(() => { const t = new Error('Execution timed out'); t.name = 'TimeoutError'; reject(t); }, o.timeoutMs + 5000);
      });
      // output is bounded as it arrives (the same budget as every backend); the SDK keeps its own copy of the stream
      // lines until the call ends, but each display's data is let go as soon as its bounded copy is taken
      const budget = new OutputBudget();
      const ex = await Promise.race([sbx.runCode(code, {
        timeoutMs: o.timeoutMs,
        onStdout: m => { const kept = budget.stream('stdout', m.line); if (kept) o.onStream?.('stdout', kept); },
        onStderr: m => { const kept = budget.stream('stderr', m.line); if (kept) o.onStream?.('stderr', kept); },
        onResult: r => {
          budget.result({ isMainResult: r.isMainResult, text: r.text, html: r.html, png: r.png, jpeg: r.jpeg, svg: r.svg, json: r.json });
          for (const k of Object.keys(r)) if (k !== 'isMainResult') (r as unknown as Record<string, unknown>)[k] = undefined;
        },
      }), deadline]).finally(() => clearTimeout(timer));
      void sbx.setTimeout(IDLE_MS).catch(() => undefined);
      return {
        stdout: budget.stdout, stderr: budget.stderr, results: budget.results(), durationMs: ms(), droppedBytes: budget.dropped, executionCount: ex.executionCount,
        error: ex.error ? { name: ex.error.name, value: ex.error.value, traceback: ex.error.traceback } : undefined,
      };
    } catch (e) {
      if (cancelled) return { ...base(), restarted: 'cancelled', error: { name: 'Cancelled', value: 'Execution was cancelled; the E2B sandbox was closed', traceback: '' } };
      if (isGone(e)) {
        // the sandbox ended (its lifetime ran out): start a new one transparently and say the state is gone
        await this.drop();
        if (retry) {
          const again = await this.run(code, o, false);
          return { ...again, restarted: 'expired', stderr: `[The E2B sandbox had ended; the code ran in a new sandbox. Variables from earlier calls are gone.]\n${again.stderr}` };
        }
      }
      if ((e as Error)?.name === 'TimeoutError') {
        await this.drop();
        return { ...base(), restarted: 'timeout', error: { name: 'TimeoutError', value: `Execution stopped after its ${o.timeoutMs / 1000} s timeout; the E2B sandbox was replaced`, traceback: '' } };
      }
      if (e instanceof ToolError) throw e;
      throw new ToolError(e2bMessage(e));
    } finally {
      o.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Runs a command-like Python snippet and splits its output from the exit marker it prints last. */
  private async process(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: RunOpts['onStream'] }): Promise<ScriptRun> {
    const started = performance.now();
    const ex = await this.run(code, { ...o }, true);
    const timedOut = ex.restarted === 'timeout';
    return scriptRunOf(ex, started, timedOut);
  }

  runScript(file: string, args: string[], o: { timeoutMs: number; signal: AbortSignal; onStream?: RunOpts['onStream'] }): Promise<ScriptRun> {
    return this.serial(async () => {
      const sbx = await this.ensure();
      // the script runs in (the mirror of) its own folder, as `python x.py` there, with the files it names
      const remote = mirrorPath(file);
      const source = fs.readFileSync(file, 'utf8');
      try {
        await sbx.files.write(remote, source);
        await this.handOver(sbx, source, path.dirname(file));
      } catch (e) { throw e instanceof ToolError ? e : new ToolError(e2bMessage(e)); }
      const code = scriptCode(remote, args, path.dirname(remote));
      return this.process(code, o);
    });
  }

  install(packages: string[], o: { timeoutMs: number; signal: AbortSignal }): Promise<ScriptRun> {
    return this.serial(async () => {
      const sbx = await this.ensure();
      // the internet is opened for pip only, and closed again whatever happens
      try { await sbx.updateNetwork({ allowInternetAccess: true }); } catch (e) { throw new ToolError(e2bMessage(e)); }
      try {
        const code = pipCode(packages);
        return await this.process(code, o);
      } finally {
        await sbx.updateNetwork({ allowInternetAccess: false }).catch(() => undefined);
      }
    });
  }

  async environment(): Promise<EnvironmentInfo> {
    const code = ENVIRONMENT_PROBE;
    const ex = await this.execute(code, { timeoutMs: 60_000, signal: new AbortController().signal });
    if (ex.error) throw new ToolError(`Could not describe the E2B environment: ${ex.error.name}: ${ex.error.value}`);
    const info = JSON.parse(ex.stdout.trim().split('\n').pop() ?? '{}') as { python: string; packages: Record<string, string | null> };
    return { backend: 'e2b', isolation: 'E2B cloud sandbox (a Firecracker microVM per session)', python: info.python, packages: info.packages,
      network: 'off (the sandbox is created without internet access; install_package opens it for pip only)' };
  }

  async restart(): Promise<void> { await this.drop(); }

  async dispose(): Promise<void> { await this.drop(); }
}
