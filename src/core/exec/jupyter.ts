import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Kernel, KernelMessage, ServerConnection } from '@jupyterlab/services';
import { handoverRoots, type DataToolsConfig } from '../config';
import { pipCode, scriptCode, scriptRunOf } from './kernelScripts';
import { OutputBudget } from './output';
import { ToolError } from '../result';
import { PathPolicy } from '../storage/paths';
import { ENVIRONMENT_PROBE, type EnvironmentInfo, type Execution, type ExecutionBackend, type RichResult, type ScriptRun } from './types';

/** How long an interrupted cell may take to stop before the kernel is restarted instead. */
const INTERRUPT_GRACE_MS = 5000;
/** How often a request the kernel answered with "aborted" (it did not run the code) is sent again, and the pause. */
const ABORT_RETRIES = 3;
const ABORT_BACKOFF_MS = 200;
/** Where this backend keeps its uploads, relative to the server's contents root (not hidden: servers refuse hidden paths by default). */
const UPLOAD_ROOT = 'datatools-sessions';

/** Run silently in each new (or restarted) kernel: pandas DataFrames and Series also display as a table part, as in
 *  the local sandbox (first 1,000 rows). Registered by name, so pandas is not imported until the code does. */
const KERNEL_SETUP = `def _dt_setup():
    ip = get_ipython()
    if ip is None: return
    def jsonable(v):
        try:
            import numpy as np
            if isinstance(v, np.generic): v = v.item()
        except Exception: pass
        if v is None or isinstance(v, (bool, int, float, str)):
            if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))): return None
            return v
        return str(v)
    def table(obj, include=None, exclude=None):
        import pandas as pd
        df = obj.to_frame() if isinstance(obj, pd.Series) else obj
        head = df.head(1000)
        if not isinstance(df.index, pd.RangeIndex): head = head.reset_index()
        columns = [{"name": str(c), "type": str(t)} for c, t in zip(head.columns, head.dtypes)]
        rows = [[jsonable(v) for v in r] for r in head.itertuples(index=False, name=None)]
        return {"application/vnd.datatools.table+json": {"columns": columns, "rows": rows, "totalRows": int(len(df)), "truncated": len(df) > 1000}}
    f = ip.display_formatter.mimebundle_formatter
    f.for_type_by_name("pandas.core.frame", "DataFrame", table)
    f.for_type_by_name("pandas.core.series", "Series", table)
_dt_setup()
del _dt_setup`;

type Services = typeof import('@jupyterlab/services');
type RunOpts = { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void };

interface Conn {
  settings: ServerConnection.ISettings;
  kernel: Kernel.IKernelConnection;
  /** The kernel's working directory when it started: the server's contents root seen from the kernel. */
  cwd: string;
  /** This session's folder, relative to the contents root. */
  dir: string;
  /** Whether the server has a contents API (Enterprise Gateway has none): files then travel over the kernel channel. */
  contents: boolean;
}

/** The URL without credentials or query (a token may ride in `?token=`): safe to show. */
export function safeUrl(url: string): string {
  try { const u = new URL(url); u.username = ''; u.password = ''; u.search = ''; u.hash = ''; return u.toString(); } catch { return '(invalid URL)'; }
}

/** Maps client errors to sentences an agent (and a user) can act on; never includes the token. */
export function jupyterMessage(e: unknown, url: string): string {
  const err = e as { name?: string; message?: string; response?: { status?: number }; cause?: { code?: string; message?: string } };
  const where = safeUrl(url);
  const status = err?.response?.status;
  if (status === 401 || status === 403) {
    return `The Jupyter server at ${where} rejected the token (HTTP ${status}). Set the server's token (command "Data Tools: Set Jupyter Token" or DATATOOLS_JUPYTER_TOKEN), or switch the executor back to local.`;
  }
  if (status === 404) return `${where} answered, but not as a Jupyter server API (HTTP 404 for the kernels API). For JupyterHub use your single-user server URL (…/user/<name>/); check the URL (setting datatools.jupyter.url or DATATOOLS_JUPYTER_URL).`;
  if (status !== undefined) return `The Jupyter server at ${where} refused the request (HTTP ${status}): ${(err.message ?? '').split('\n')[0].slice(0, 300)}`;
  const code = err?.cause?.code ?? /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH)\b/.exec(`${err?.message} ${err?.cause?.message}`)?.[1];
  if (err?.name === 'NetworkError' || err?.name === 'TypeError' || code) {
    return `Could not reach the Jupyter server at ${where}${code ? ` (${code})` : ''}. Check that it is running and the URL (setting datatools.jupyter.url or DATATOOLS_JUPYTER_URL), or switch the executor back to local.`;
  }
  return `Jupyter error: ${(err?.message ?? String(e)).replace(/token=[^&\s]+/g, 'token=…').slice(0, 500)}`;
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const text = (v: unknown): string | undefined => v === undefined ? undefined : Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : JSON.stringify(v);

/** A mime bundle from execute_result/display_data in the shared result model. */
function richResult(data: Record<string, unknown>, isMainResult: boolean): RichResult {
  return {
    isMainResult,
    text: text(data['text/plain']),
    html: text(data['text/html']),
    png: text(data['image/png'])?.replace(/\s+/g, ''),
    jpeg: text(data['image/jpeg'])?.replace(/\s+/g, ''),
    svg: text(data['image/svg+xml']),
    json: data['application/json'],
    table: data['application/vnd.datatools.table+json'] as RichResult['table'],
  };
}

/** A kernel on a remote Jupyter Server / JupyterHub single-user server / Enterprise Gateway, through the maintained
 *  client (@jupyterlab/services): one kernel per session, started on first use and shut down on dispose; a timeout
 *  interrupts the kernel (REST) and replaces it only if the interrupt does not stop the cell. Files go through the
 *  contents API into a folder of this session. Results come back in the same model as the local sandbox. */
export class JupyterKernel implements ExecutionBackend {
  readonly name = 'jupyter' as const;
  private conn?: Promise<Conn>;
  private queue: Promise<unknown> = Promise.resolve();
  /** Remote absolute path → local mtime of the copy uploaded there. */
  private uploaded = new Map<string, number>();
  private readonly url: string;

  constructor(private readonly cfg: DataToolsConfig) {
    if (!cfg.jupyterUrl) throw new ToolError('No Jupyter server URL is set. Set datatools.jupyter.url (or DATATOOLS_JUPYTER_URL), or use the local sandbox.');
    let protocol = '';
    try { protocol = new URL(cfg.jupyterUrl).protocol; } catch { /* reported below */ }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ToolError(`The Jupyter server URL ${JSON.stringify(safeUrl(cfg.jupyterUrl))} is not an http(s) URL such as http://127.0.0.1:8888/. Fix datatools.jupyter.url (or DATATOOLS_JUPYTER_URL).`);
    this.url = cfg.jupyterUrl;
  }

  private async services(): Promise<Services> { return import('@jupyterlab/services'); }

  private ensure(): Promise<Conn> {
    if (!this.conn) {
      const p = this.connect();
      this.conn = p;
      p.catch(() => { if (this.conn === p) this.conn = undefined; });
    }
    return this.conn;
  }

  private async connect(): Promise<Conn> {
    const { ServerConnection, KernelAPI, KernelConnection } = await this.services();
    const u = new URL(this.url);
    const token = this.cfg.jupyterToken ?? u.searchParams.get('token') ?? '';
    u.search = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    // Node: the client falls back to its own `ws` dependency for WebSocket and to Node's fetch
    // the client wraps fetch failures in its NetworkError with the message only: keep the cause's code in it
    const fetchWithCode: typeof fetch = (input, init) => globalThis.fetch(input, init).catch((e: { message?: string; cause?: { code?: string } }) => {
      throw new TypeError(e?.cause?.code ? `${e.message} (${e.cause.code})` : e?.message ?? String(e));
    });
    const settings = ServerConnection.makeSettings({ baseUrl: u.toString(), token, appendToken: true, fetch: fetchWithCode, Request, Headers });
    let model: Kernel.IModel;
    try {
      model = await KernelAPI.startNew({ name: this.cfg.jupyterKernel || undefined } as { name?: string }, settings);
    } catch (e) {
      const status = (e as { response?: { status?: number } }).response?.status;
      if (this.cfg.jupyterKernel && status !== undefined && status !== 401 && status !== 403) {
        // a kernel name the server does not have gets a 500 "Unhandled error": say which names it has
        const specs = await (await this.services()).KernelSpecAPI.getSpecs(settings).catch(() => undefined);
        if (specs && !specs.kernelspecs[this.cfg.jupyterKernel]) {
          throw new ToolError(`The Jupyter server at ${safeUrl(this.url)} has no kernel named "${this.cfg.jupyterKernel}"; it has ${Object.keys(specs.kernelspecs).map(k => `"${k}"`).join(', ') || 'none'} (default "${specs.default}"). Fix datatools.jupyter.kernelName (or DATATOOLS_JUPYTER_KERNEL).`);
        }
      }
      throw new ToolError(jupyterMessage(e, this.url));
    }
    const kernel = new KernelConnection({ model, serverSettings: settings, handleComms: false, username: 'datatools' });
    try {
      await withTimeout(kernel.info, 60_000, 'the kernel did not answer within 60 s');
    } catch (e) {
      kernel.dispose();
      await KernelAPI.shutdownKernel(model.id, settings).catch(() => undefined);
      throw new ToolError(`The Jupyter server at ${safeUrl(this.url)} started kernel "${model.name}", but it did not connect: ${(e as Error).message}`);
    }
    const dir = `${UPLOAD_ROOT}/${crypto.randomBytes(6).toString('hex')}`;
    const conn: Conn = { settings, kernel, cwd: '', dir, contents: true };
    try {
      conn.cwd = (await this.quiet(conn, 'import os\nprint(os.getcwd())')).trim();
      conn.contents = await this.hasContents(settings);
      await this.quiet(conn, KERNEL_SETUP);
    } catch (e) {
      kernel.dispose();
      await KernelAPI.shutdownKernel(model.id, settings).catch(() => undefined);
      throw e instanceof ToolError ? e : new ToolError(`The Jupyter kernel "${model.name}" started but could not be set up: ${(e as Error).message}`);
    }
    return conn;
  }

  /** Whether the server offers the contents API (Jupyter Server and JupyterHub do; Enterprise Gateway does not). */
  private async hasContents(settings: ServerConnection.ISettings): Promise<boolean> {
    const { ServerConnection } = await this.services();
    try {
      const r = await ServerConnection.makeRequest(`${settings.baseUrl}api/contents?content=0`, {}, settings);
      await r.body?.cancel();
      return r.ok;
    } catch { return false; }
  }

  private async drop(): Promise<void> {
    const p = this.conn;
    this.conn = undefined;
    this.uploaded.clear();
    if (!p) return;
    const c = await p.catch(() => undefined);
    if (!c) return;
    const { KernelAPI } = await this.services();
    await KernelAPI.shutdownKernel(c.kernel.id, c.settings).catch(() => undefined);
    c.kernel.dispose();
    if (c.contents) await this.removeDir(c, c.dir).catch(() => undefined);
  }

  private async removeDir(c: Conn, dir: string): Promise<void> {
    const { ContentsManager } = await this.services();
    const cm = new ContentsManager({ serverSettings: c.settings });
    try {
      const m = await cm.get(dir, { content: true });
      for (const item of (m.content ?? []) as { path: string; type: string }[]) {
        if (item.type === 'directory') await this.removeDir(c, item.path); else await cm.delete(item.path);
      }
      await cm.delete(dir);
      const parent = await cm.get(UPLOAD_ROOT, { content: true }).catch(() => undefined);
      if (parent && Array.isArray(parent.content) && !parent.content.length) await cm.delete(UPLOAD_ROOT).catch(() => undefined);
    } finally { cm.dispose(); }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const t = this.queue.then(fn);
    this.queue = t.catch(() => undefined);
    return t;
  }

  /** Runs bookkeeping code without touching the history or the execution count; returns its stdout. */
  private async quiet(c: Conn, code: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      let out = '';
      let err = '';
      const f = c.kernel.requestExecute({ code, silent: true, store_history: false, allow_stdin: false, stop_on_error: false });
      f.onIOPub = msg => {
        if (msg.header.msg_type === 'stream') out += (msg.content as KernelMessage.IStreamMsg['content']).text;
        if (msg.header.msg_type === 'error') { const e = msg.content as KernelMessage.IErrorMsg['content']; err = `${e.ename}: ${e.evalue}`; }
      };
      const reply = await withTimeout(f.done, 60_000, 'the kernel did not answer within 60 s');
      // "aborted": the kernel did not run the code (see run()); it is safe to send it again
      if (reply?.content.status === 'aborted') {
        if (attempt < ABORT_RETRIES) { await sleep(ABORT_BACKOFF_MS * attempt); continue; }
        throw new ToolError('The Jupyter kernel refused a bookkeeping step (it answered "aborted" each time).');
      }
      if (err) throw new ToolError(`The Jupyter kernel failed a bookkeeping step: ${err}`);
      return out;
    }
  }

  /** Writes a file into this session's folder on the server; returns its path as the kernel sees it. */
  private async upload(c: Conn, rel: string, data: Buffer): Promise<string> {
    const remote = `${c.dir}/${rel}`;
    if (c.contents) {
      const { ContentsManager } = await this.services();
      const cm = new ContentsManager({ serverSettings: c.settings });
      try {
        const parts = remote.split('/');
        for (let i = 1; i < parts.length; i++) {
          const d = parts.slice(0, i).join('/');
          try { await cm.get(d, { content: false }); } catch { await cm.save(d, { type: 'directory' }); }
        }
        await cm.save(remote, { type: 'file', format: 'base64', content: data.toString('base64') });
      } catch (e) {
        throw new ToolError(`Could not upload ${rel} through the Jupyter contents API: ${jupyterMessage(e, this.url)}`);
      } finally { cm.dispose(); }
    }
    const full = path.posix.join(c.cwd, remote);
    if (!c.contents) {
      // no contents API (Enterprise Gateway): the file travels over the kernel channel
      await this.quiet(c, `import base64, os\nos.makedirs(os.path.dirname(${JSON.stringify(full)}), exist_ok=True)\nopen(${JSON.stringify(full)}, "wb").write(base64.b64decode(${JSON.stringify(data.toString('base64'))}))`);
    }
    return full;
  }

  /** Files under the data roots that the code names (e.g. a query result saved for Python) are uploaded into this
   *  session's folder and linked at the same absolute path on the server, so code reads them as it would locally.
   *  A different file that already exists at that path on the server is left alone, and the code is told so. */
  private async handOver(c: Conn, code: string): Promise<string> {
    const policy = new PathPolicy(handoverRoots(this.cfg), this.cfg.limits.maxFileBytes);
    const literals = new Set([...code.matchAll(/(["'])(\/[^"'\n]{1,1024})\1/g)].map(m => m[2]));
    const notes: string[] = [];
    for (const lit of literals) {
      let real: string;
      try { real = await policy.resolveExisting(lit); } catch { continue; }
      const st = fs.statSync(real);
      if (!st.isFile() || st.size > this.cfg.limits.maxFileBytes || this.uploaded.get(lit) === st.mtimeMs) continue;
      const buf = fs.readFileSync(real);
      const sha = crypto.createHash('sha256').update(buf).digest('hex');
      const src = await this.upload(c, `files${lit}`, buf);
      const verdict = (await this.quiet(c, `import os, hashlib
src, dst, sha = ${JSON.stringify(src)}, ${JSON.stringify(lit)}, ${JSON.stringify(sha)}
def _dt_place():
    if os.path.islink(dst) and os.readlink(dst).startswith(${JSON.stringify(path.posix.join(c.cwd, UPLOAD_ROOT))}):
        os.unlink(dst)
    if os.path.lexists(dst):
        try:
            with open(dst, "rb") as f: same = hashlib.sha256(f.read()).hexdigest() == sha
        except OSError: same = False
        return "same" if same else "differs"
    try:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink(src, dst)
        return "linked"
    except OSError as e:
        return "failed " + str(e)
print(_dt_place())
del _dt_place`)).trim();
      if (verdict === 'differs') notes.push(`[${lit}: a different file already exists at this path on the Jupyter server and was left alone; the local copy is at ${src}]`);
      else if (verdict.startsWith('failed')) notes.push(`[${lit}: could not be placed at this path on the Jupyter server (${verdict.slice(7)}); the local copy is at ${src}]`);
      this.uploaded.set(lit, st.mtimeMs);
    }
    return notes.length ? `${notes.join('\n')}\n` : '';
  }

  execute(code: string, o: RunOpts): Promise<Execution> {
    return this.serial(async () => {
      const c = await this.ensure();
      let notes = '';
      try { notes = await this.handOver(c, code); } catch (e) { throw e instanceof ToolError ? e : new ToolError(jupyterMessage(e, this.url)); }
      const ex = await this.run(c, code, o, true);
      return notes ? { ...ex, stderr: notes + ex.stderr } : ex;
    });
  }

  /** Runs a cell. Each request goes with stop_on_error false: cells are sent one at a time, so there is never a
   *  queue for the kernel to stop, and with true an error puts ipykernel into "aborting" mode until its event loop
   *  turns once more (a call_later, stop_on_error_timeout); under CPU load the next request can arrive inside that
   *  window and is answered "aborted" without running: no execute_input, no result, an empty success. A request
   *  answered "aborted" anyway (another client of the kernel, a kernel configured to keep aborting) did not run
   *  and is sent again; if it keeps being aborted that is reported, never shown as a run with no output. */
  private async run(c: Conn, code: string, o: RunOpts, history: boolean): Promise<Execution> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const ex = await this.runOnce(c, code, o, history, started);
      if (ex.aborted === undefined) return ex.execution;
      if (attempt >= ABORT_RETRIES) {
        return { ...ex.aborted, error: { name: 'KernelAborted', traceback: '',
          value: `The Jupyter kernel did not run this code: it answered "aborted" to ${ABORT_RETRIES} requests in a row (a kernel aborts requests for a while after an error, e.g. one from another client of the same kernel). Nothing ran; send the code again.` } };
      }
      await sleep(ABORT_BACKOFF_MS * attempt);
      if (o.signal.aborted || performance.now() - started >= o.timeoutMs) return { ...ex.aborted, error: { name: o.signal.aborted ? 'Cancelled' : 'TimeoutError', traceback: '', value: 'The Jupyter kernel answered "aborted" and did not run this code before the call ended. Nothing ran; send the code again.' } };
    }
  }

  private async runOnce(c: Conn, code: string, o: RunOpts, history: boolean, started: number): Promise<{ execution: Execution; aborted?: undefined } | { aborted: Execution }> {
    const ms = () => Math.round(performance.now() - started);
    // bounded as the messages arrive: the same budget as every backend
    const budget = new OutputBudget();
    let error: Execution['error'];
    let executionCount: number | undefined;
    let died = false;
    const onStatus = (_k: unknown, s: KernelMessage.Status) => { if (s === 'dead' || s === 'autorestarting' || s === 'restarting') died = true; };
    c.kernel.statusChanged.connect(onStatus);
    const f = c.kernel.requestExecute({ code, silent: false, store_history: history, allow_stdin: false, stop_on_error: false });
    f.onIOPub = msg => {
      const t = msg.header.msg_type;
      if (t === 'stream') {
        const m = msg.content as KernelMessage.IStreamMsg['content'];
        const kept = budget.stream(m.name === 'stderr' ? 'stderr' : 'stdout', m.text);
        if (kept) o.onStream?.(m.name, kept);
      } else if (t === 'execute_result' || t === 'display_data') {
        const m = msg.content as KernelMessage.IExecuteResultMsg['content'];
        budget.result(richResult(m.data as Record<string, unknown>, t === 'execute_result'));
        if (t === 'execute_result') executionCount = m.execution_count ?? executionCount;
      } else if (t === 'execute_input') {
        executionCount = (msg.content as KernelMessage.IExecuteInputMsg['content']).execution_count ?? executionCount;
      } else if (t === 'error') {
        const m = msg.content as KernelMessage.IErrorMsg['content'];
        error = { name: m.ename, value: m.evalue, traceback: m.traceback.join('\n').replace(ANSI, '') };
      }
    };
    const finish = (extra: Partial<Execution> = {}): Execution => ({
      stdout: budget.stdout, stderr: budget.stderr, results: budget.results(), error, executionCount, durationMs: ms(), droppedBytes: budget.dropped, ...extra,
    });
    let why: 'timeout' | 'cancelled' | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<void>(resolve => {
      timer = setTimeout(() => { why = 'timeout'; resolve(); }, Math.max(0, o.timeoutMs - (performance.now() - started)));
      onAbort = () => { why = 'cancelled'; resolve(); };
      if (o.signal.aborted) onAbort(); else o.signal.addEventListener('abort', onAbort, { once: true });
    });
    let reply: KernelMessage.IExecuteReplyMsg | undefined;
    const done = f.done.then(r => { reply = r as KernelMessage.IExecuteReplyMsg; return 'done' as const; }, () => 'failed' as const);
    try {
      const first = await Promise.race([done, stop.then(() => 'stop' as const)]);
      if (first === 'done' && !died) return (reply?.content.status as string) === 'aborted' ? { aborted: finish() } : { execution: finish() };
      if (first !== 'stop') {
        // the kernel died under the cell (memory, a crash): the server restarts it; the state is gone
        await this.recover(c);
        return { execution: finish({ restarted: 'crash', error: { name: 'KernelDied', value: 'The Jupyter kernel died while running this code (out of memory or a crash) and was restarted', traceback: '' } }) };
      }
      // timeout or cancel: interrupt the kernel (REST); restart it only if the cell does not stop
      const label = why === 'timeout' ? `Execution stopped after its ${o.timeoutMs / 1000} s timeout` : 'Execution was cancelled';
      const name = why === 'timeout' ? 'TimeoutError' : 'Cancelled';
      let interrupted = false;
      try { await c.kernel.interrupt(); interrupted = await Promise.race([done.then(() => true), sleep(INTERRUPT_GRACE_MS).then(() => false)]); } catch { interrupted = false; }
      if (interrupted && !died) {
        return { execution: finish({ error: { name, value: `${label}; the Jupyter kernel was interrupted and its state is kept (variables from earlier calls are still defined)`, traceback: '' } }) };
      }
      const failed = await this.replace();
      return { execution: finish({ restarted: why === 'timeout' ? 'timeout' : 'cancelled', error: { name, value: failed
        ? `${label}; the Jupyter kernel did not stop on interrupt and was shut down, and no new one could be started: ${failed}`
        : `${label}; the Jupyter kernel did not stop on interrupt and was replaced by a new one`, traceback: '' } }) };
    } finally {
      clearTimeout(timer);
      if (onAbort) o.signal.removeEventListener('abort', onAbort);
      c.kernel.statusChanged.disconnect(onStatus);
      f.dispose();
    }
  }

  /** After the kernel died, the server restarts it and the client reconnects by itself: wait for that. If the kernel
   *  does not come back (the server gave up), it is dropped and the next call starts a new one. */
  private async recover(c: Conn): Promise<void> {
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      if (c.kernel.isDisposed || c.kernel.status === 'dead') break;
      if (c.kernel.connectionStatus === 'connected' && c.kernel.status === 'idle') {
        try { await this.quiet(c, KERNEL_SETUP); this.uploaded.clear(); return; } catch { break; }
      }
      await sleep(100);
    }
    await this.drop();
  }

  /** Replaces a kernel that ignores interrupts with a new one (the old one is shut down: the server kills it). */
  private async replace(): Promise<string | undefined> {
    await this.drop();
    try { await this.ensure(); return undefined; } catch (e) { return e instanceof Error ? e.message : String(e); }
  }

  /** Runs a command-like Python snippet and splits its output from the exit marker it prints last. */
  private async process(c: Conn, code: string, o: RunOpts): Promise<ScriptRun> {
    const started = performance.now();
    const ex = await this.run(c, code, o, false);
    const timedOut = ex.error?.name === 'TimeoutError';
    return scriptRunOf(ex, started, timedOut);
  }

  runScript(file: string, args: string[], o: RunOpts): Promise<ScriptRun> {
    return this.serial(async () => {
      const c = await this.ensure();
      let remote: string;
      let notes = '';
      const source = fs.readFileSync(file);
      try {
        remote = await this.upload(c, `scripts/${path.basename(file)}`, source);
        // data files the script or its arguments name by absolute path travel with it, as for execute_code
        notes = await this.handOver(c, `${source.toString('utf8')}\n${args.map(a => JSON.stringify(a)).join('\n')}`);
      } catch (e) { throw e instanceof ToolError ? e : new ToolError(jupyterMessage(e, this.url)); }
      const code = scriptCode(remote, args, path.posix.dirname(remote));
      const r = await this.process(c, code, o);
      return notes ? { ...r, stderr: notes + r.stderr } : r;
    });
  }

  /** pip of the kernel's own interpreter, as `%pip install` does, into the kernel's environment; importable at once. */
  install(packages: string[], o: { timeoutMs: number; signal: AbortSignal }): Promise<ScriptRun> {
    return this.serial(async () => {
      const c = await this.ensure();
      const code = pipCode(packages);
      return this.process(c, code, o);
    });
  }

  async environment(): Promise<EnvironmentInfo> {
    return this.serial(async () => {
      const c = await this.ensure();
      const info = JSON.parse((await this.quiet(c, ENVIRONMENT_PROBE)).trim().split('\n').pop() ?? '{}') as { python: string; packages: Record<string, string | null> };
      return {
        backend: 'jupyter', python: info.python, packages: info.packages,
        isolation: `a kernel ("${c.kernel.name}") on the Jupyter server at ${safeUrl(this.url)}; its isolation, memory and CPU are whatever that server gives its kernels. Working directory there: ${c.cwd}`,
        network: 'decided by the Jupyter server (Data Tools does not restrict it)',
      };
    });
  }

  async restart(): Promise<void> { await this.drop(); }

  async dispose(): Promise<void> { await this.drop(); }
}

function sleep(ms: number): Promise<void> { return new Promise(r => setTimeout(r, ms)); }

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_r, reject) => { t = setTimeout(() => reject(new Error(message)), ms); })]).finally(() => clearTimeout(t));
}
