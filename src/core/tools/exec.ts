import { resultsDir } from '../config';
import { z } from 'zod';
import { defineTool, type ToolContext } from '../tool';
import { ToolError, type ResultPart, type ToolResult } from '../result';
import { LocalSandbox } from '../exec/local';
import { E2BSandbox } from '../exec/e2b';
import { JupyterKernel } from '../exec/jupyter';
import type { Execution, ExecutionBackend } from '../exec/types';
import { outputCutNote } from '../exec/output';
import { PathPolicy } from '../storage/paths';
import { renderRows, columnsLine, plural } from '../formats/table';
import { ceiling } from './common';

export function getExecutor(ctx: ToolContext): Promise<ExecutionBackend> {
  if (ctx.config.executor === 'jupyter') return ctx.services.get('exec:jupyter', async () => new JupyterKernel(ctx.config));
  if (ctx.config.executor === 'e2b') return ctx.services.get('exec:e2b', async () => new E2BSandbox(ctx.config));
  return ctx.services.get('exec:local', async () => new LocalSandbox(ctx.config));
}

/** Ends the running Python session(s); the next call starts a fresh one. */
export async function restartExecutors(services: ToolContext['services']): Promise<void> {
  await services.reset('exec:local');
  await services.reset('exec:e2b');
  await services.reset('exec:jupyter');
}

const MODEL_TEXT_CAP = 8000;

function clipText(s: string, cap: number): string {
  return s.length > cap ? `${s.slice(0, cap)}\n… [${(s.length - cap).toLocaleString('en-US')} more characters not shown]` : s;
}

/** An execution as compact text for the model plus parts for the result view. */
export function executionResult(e: Execution): ToolResult {
  const text: string[] = [];
  const parts: ResultPart[] = [];
  if (e.stdout) { text.push(`[stdout]\n${clipText(e.stdout, MODEL_TEXT_CAP / 2)}`); parts.push({ kind: 'stream', name: 'stdout', text: e.stdout }); }
  if (e.stderr) { text.push(`[stderr]\n${clipText(e.stderr, MODEL_TEXT_CAP / 4)}`); parts.push({ kind: 'stream', name: 'stderr', text: e.stderr }); }
  if (e.droppedBytes) text.push(outputCutNote(e.droppedBytes));
  let images = 0;
  for (const r of e.results) {
    if (r.png) { images++; parts.push({ kind: 'image', mimeType: 'image/png', data: r.png }); text.push(`[image] PNG figure #${images} (shown to the user in the result view)`); continue; }
    if (r.svg) { parts.push({ kind: 'image', mimeType: 'image/svg+xml', data: Buffer.from(r.svg).toString('base64') }); text.push('[image] SVG figure (shown to the user)'); continue; }
    if (r.table) {
      const { text: rows, shown } = renderRows(r.table.columns, r.table.rows, { budget: 3000 });
      parts.push({ kind: 'table', columns: r.table.columns, rows: r.table.rows, totalRows: r.table.totalRows, truncated: r.table.truncated });
      text.push(`[table] ${plural(r.table.totalRows, 'row')} × ${r.table.columns.length} columns${shown < r.table.totalRows ? ` (first ${shown} shown)` : ''}\n${columnsLine(r.table.columns)}\n${rows}`);
      continue;
    }
    if (r.text !== undefined) text.push(`${r.isMainResult ? `[Out ${e.executionCount ?? ''}]` : '[display]'} ${clipText(r.text, 3000)}`);
  }
  if (e.error) {
    text.push(`[error] ${e.error.name}: ${e.error.value}${e.error.traceback ? `\n${clipText(e.error.traceback, 3000)}` : ''}`);
    parts.push({ kind: 'error', name: e.error.name, value: e.error.value, traceback: e.error.traceback });
  }
  if (e.restarted) text.push(`[session restarted: ${e.restarted}] All variables, imports and loaded data are gone; re-run the setup code before continuing.`);
  if (!text.length) text.push('(no output)');
  text.unshift(`Execution ${e.error ? 'failed' : 'finished'} in ${e.durationMs} ms${e.executionCount ? ` (cell ${e.executionCount})` : ''}.`);
  return { text: text.join('\n'), isError: !!e.error, parts };
}

const timeout = z.number().positive().max(3600).optional()
  .describe('Wall-clock limit in seconds (default 60, from settings).');

export const executeCode = defineTool({
  name: 'execute_code',
  title: 'Execute Python code',
  description: 'Runs Python code in a stateful sandbox session, like a notebook cell: variables, imports and '
    + 'DataFrames survive between calls. The value of the last expression is displayed; matplotlib figures come back '
    + 'as PNG images and DataFrames as tables. Returns stdout, stderr, rich results and errors with tracebacks. '
    + 'pandas, numpy, matplotlib and scikit-learn are available. No network access. Limits: 60 s and 2 GB by default; '
    + 'on a timeout or memory error the session restarts and its state is lost. Files under the allowed data roots '
    + 'are readable at their usual paths; hand query results over as files rather than pasting rows into code.',
  input: z.strictObject({
    code: z.string().min(1, 'must not be empty').max(1_000_000).describe('Python source to run.'),
    timeout,
  }),
  capability: 'code.execute',
  readOnly: false,
  confirm: i => ({ title: 'Run Python code in the sandbox?', message: '```python\n' + i.code + '\n```' }),
  summary: i => `Running ${i.code.split('\n').length} line(s) of Python`,
  handler: async (i, ctx) => {
    const backend = await getExecutor(ctx);
    // the agent may shorten the wall-clock limit, never lengthen it past the configured one
    const cap = ceiling(i.timeout, ctx.config.limits.codeTimeoutSec, ctx.config.limits.codeTimeoutSec, 'timeout', ' s');
    const e = await backend.execute(i.code, {
      timeoutMs: cap.value * 1000, signal: ctx.signal,
      onStream: (name, text) => ctx.onProgress?.({ kind: name, text }),
    });
    const r = executionResult(e);
    if (cap.note) r.text += `\n[limit] ${cap.note}`;
    return r;
  },
});

export const installPackage = defineTool({
  name: 'install_package',
  title: 'Install Python packages',
  description: 'Installs Python packages with pip into the sandbox session\'s environment (a per-workspace virtual '
    + 'environment on the local sandbox). Give requirement specifiers such as "polars" or "scipy>=1.10". This is the '
    + 'only call that may use the network. Check get_environment first: the common data-science stack is preinstalled.',
  input: z.strictObject({
    packages: z.array(z.string().min(1).max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*((==|>=|<=|~=|!=|>|<)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*$/,
        'must be a pip requirement such as "polars" or "scipy>=1.10" (no options, URLs or paths)'))
      .min(1).max(50).describe('Requirement specifiers, e.g. ["polars", "scipy>=1.10"].'),
  }),
  capability: 'code.install',
  readOnly: false,
  confirm: i => ({ title: 'Install Python packages?', message: `pip install ${i.packages.map(p => '`' + p + '`').join(' ')}` }),
  summary: i => `Installing ${i.packages.join(', ')}`,
  handler: async (i, ctx) => {
    const backend = await getExecutor(ctx);
    const timeoutSec = Math.max(300, ctx.config.limits.codeTimeoutSec);
    const r = await backend.install(i.packages, { timeoutMs: timeoutSec * 1000, signal: ctx.signal });
    const parts: ResultPart[] = [{ kind: 'stream', name: 'stdout', text: r.stdout }, { kind: 'stream', name: 'stderr', text: r.stderr }];
    if (r.timedOut) throw new ToolError(`pip install stopped after ${timeoutSec} s. Try fewer packages, or check the network.`, parts);
    if (r.exitCode !== 0) {
      const tail = r.stderr.trim().split('\n').filter(l => /error|could not|no matching/i.test(l)).slice(-4).join('\n') || r.stderr.trim().split('\n').slice(-4).join('\n');
      const offline = /No matching distribution|Could not find a version|NewConnectionError|Failed to establish|Temporary failure in name resolution/i.test(r.stderr);
      throw new ToolError(`pip install ${i.packages.join(' ')} failed (exit ${r.exitCode}):\n${tail}${offline ? '\nThe package index may be unreachable from here, or the name/version does not exist. Check the name, or use what get_environment lists.' : ''}`, parts);
    }
    const done = /Successfully installed (.+)/.exec(r.stdout)?.[1];
    const already = /Requirement already satisfied/.test(r.stdout);
    const text = done ? `Installed ${done.trim().split(/\s+/).join(', ')}; importable now in this session.` : already ? `Already installed: ${i.packages.join(', ')}.` : `pip finished: ${r.stdout.trim().split('\n').pop()}`;
    return { text, parts };
  },
});

export const runScript = defineTool({
  name: 'run_script',
  title: 'Run a Python script',
  description: 'Runs a Python script file (inside an allowed root) in the sandbox as `python script.py args...`, '
    + 'in a fresh process with the same limits as execute_code. Returns stdout, stderr and the exit code; matplotlib '
    + 'figures the script shows (plt.show()) or leaves open come back as PNG images.',
  input: z.strictObject({
    script_path: z.string().min(1).max(4096).describe('Path of the .py file, inside an allowed root.'),
    args: z.array(z.string().max(10_000)).max(100).optional().describe('Command-line arguments.'),
    timeout,
  }),
  capability: 'code.script',
  readOnly: false,
  confirm: i => ({ title: 'Run this Python script?', message: `\`python ${[i.script_path, ...(i.args ?? [])].join(' ')}\`` }),
  summary: i => `Running ${i.script_path}`,
  handler: async (i, ctx) => {
    if (!i.script_path.endsWith('.py')) throw new ToolError(`${i.script_path} is not a .py file.`);
    const policy = new PathPolicy(ctx.config.allowedPaths, ctx.config.limits.maxFileBytes);
    const opened = await policy.openForRead(i.script_path);
    await opened.handle.close();
    const backend = await getExecutor(ctx);
    const cap = ceiling(i.timeout, ctx.config.limits.codeTimeoutSec, ctx.config.limits.codeTimeoutSec, 'timeout', ' s');
    const timeoutSec = cap.value;
    const r = await backend.runScript(opened.path, i.args ?? [], { timeoutMs: timeoutSec * 1000, signal: ctx.signal, onStream: (name, text) => ctx.onProgress?.({ kind: name, text }) });
    const text = [`python ${[opened.path, ...(i.args ?? [])].join(' ')}: ${r.timedOut ? `stopped after its ${timeoutSec} s timeout` : `exit code ${r.exitCode}`} in ${r.durationMs} ms.`];
    if (r.stdout) text.push(`[stdout]\n${clipText(r.stdout, MODEL_TEXT_CAP / 2)}`);
    if (r.stderr) text.push(`[stderr]\n${clipText(r.stderr, MODEL_TEXT_CAP / 2)}`);
    if (r.droppedBytes) text.push(outputCutNote(r.droppedBytes));
    if (r.note) text.push(`[limit] ${r.note}`);
    if (cap.note) text.push(`[limit] ${cap.note}`);
    const figures = r.figures ?? [];
    if (figures.length) text.push(`[figures] ${plural(figures.length, 'matplotlib figure')} captured as PNG (shown with plt.show() or open at exit; shown to the user in the result view).`);
    return { text: text.join('\n'), isError: r.timedOut || r.exitCode !== 0,
      parts: [{ kind: 'stream', name: 'stdout', text: r.stdout }, { kind: 'stream', name: 'stderr', text: r.stderr },
        ...figures.map(data => ({ kind: 'image' as const, mimeType: 'image/png' as const, data }))] };
  },
});

export const getEnvironment = defineTool({
  name: 'get_environment',
  title: 'Describe the Python environment',
  description: 'Describes the Python sandbox: backend (local, E2B or a Jupyter server), Python version, key packages and their versions, '
    + 'limits (timeout, memory), network policy and the data roots it can read. Call it before writing code that '
    + 'depends on a package.',
  input: z.strictObject({}),
  capability: 'env.read',
  readOnly: true,
  summary: () => 'Describing the Python environment',
  handler: async (_i, ctx) => {
    const env = await (await getExecutor(ctx)).environment();
    const l = ctx.config.limits;
    const pk = Object.entries(env.packages).map(([k, v]) => `${k} ${v ?? '(not installed)'}`).join(', ');
    const w = env.walls;
    const text = [`Backend: ${env.backend}; isolation: ${env.isolation}.`, `Python ${env.python}${env.interpreter ? `: ${env.interpreter}` : ''}.`, `Packages: ${pk}.`,
      `Limits: ${l.codeTimeoutSec} s per call, ${l.memoryMb} MB memory, output capped at 1 MB per call.`,
      ...(w ? [`Memory: ${w.memory}.`, `Processes: ${w.processes}.`, `/tmp: ${w.tmp}; home: ${w.home}.`,
        ...(w.user ? [`User: ${w.user}.`] : []), ...(w.seccomp ? [`System calls: ${w.seccomp}.`] : []),
        ...(w.writes ? [`Writes: ${w.writes}.`] : []), ...(w['data roots'] ? [`Data roots: ${w['data roots']}.`] : []),
        ...(w.sysctl ? [`Kernel settings: ${w.sysctl}.`] : [])] : []),
      `Network: ${env.network}.`,
      ...(env.cwd ? [`Working directory (relative paths start here): ${env.cwd}.`] : []),
      `Data roots visible to code: ${ctx.config.allowedPaths.join(', ')}.`,
      `Results saved by plain name (save_as "x.parquet") are in ${resultsDir(ctx.config)}, which code can read.`, ...(env.notes ?? []),
      ...(ctx.config.workDirNote ? [`Note: ${ctx.config.workDirNote}.`] : [])].join('\n');
    return { text, parts: [{ kind: 'json', value: { ...env, limits: l, roots: ctx.config.allowedPaths } }] };
  },
});
