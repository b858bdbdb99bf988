import { randomUUID } from 'node:crypto';
import { AuditLog, Redactor, type AuditEntry, type Outcome } from './audit';
import { configSecrets, type DataToolsConfig } from './config';
import { ToolError, errorResult, type ToolResult } from './result';
import { capabilitiesFor, grantedCapabilities, rolesWith, ROLE_LABELS } from './roles';
import { Services } from './services';
import type { AnyTool, Caller, ToolContext } from './tool';
import { formatIssues, inputJsonSchema, usageOf, type JsonSchema } from './validate';
import { CATALOG } from './catalog';
import { boundReply, requestRefusal, requestSummary } from './bounds';
import { ResultStore } from './store';
import type { ColumnInfo, TablePart } from './result';

export interface ToolInfo {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema;
  readOnly: boolean;
  needsConfirmation: boolean;
}

export interface CallOptions {
  caller: Caller;
  signal?: AbortSignal;
  onProgress?: ToolContext['onProgress'];
  /** Rows of the call's table as they arrive (a streamed query): its result id is open in the store from the first
   *  batch on (page serves the rows so far; the final CallResult names the same id). `rows`: rows so far. A returned
   *  promise pauses the reading of more rows until it settles. */
  onRows?: (event: { resultId: string; columns: ColumnInfo[]; rows: number }) => void | Promise<void>;
}

export interface CallResult extends ToolResult {
  auditId: string;
  outcome: Outcome;
  durationMs: number;
}

const schemaCache = new WeakMap<AnyTool, JsonSchema>();
export function toolSchema(t: AnyTool): JsonSchema {
  let s = schemaCache.get(t);
  if (!s) { s = inputJsonSchema(t.input); schemaCache.set(t, s); }
  return s;
}

export function toolInfo(t: AnyTool): ToolInfo {
  return { name: t.name, title: t.title, description: t.description, inputSchema: toolSchema(t), readOnly: t.readOnly, needsConfirmation: !!t.confirm };
}

/** The one place every front end calls tools through: role and trust, input validation, audit, and
 *  containment (a tool call never throws; every failure is a tool error the agent can act on). */
export class ToolHost {
  readonly services = new Services();
  readonly redactor: Redactor;
  readonly audit: AuditLog;
  /** Every table a tool call produced, by result id (get_result, MCP resources, the grid). */
  readonly results: ResultStore;
  private trusted: boolean;

  /** Who calls, for the audit log (an MCP HTTP session and its token's subject). */
  private readonly identity?: { session?: string; subject?: string };

  constructor(private cfg: DataToolsConfig, opts: { trusted?: boolean; tools?: readonly AnyTool[]; identity?: { session?: string; subject?: string } } = {}) {
    this.trusted = opts.trusted ?? true;
    this.identity = opts.identity;
    this.tools = opts.tools ?? CATALOG;
    this.redactor = new Redactor(configSecrets(cfg));
    this.audit = new AuditLog(cfg.auditLogPath, this.redactor);
    this.results = new ResultStore({
      workDir: () => this.cfg.workDir,
      limits: () => ({ memoryBytes: this.cfg.limits.resultMemoryMb * 1048576, diskBytes: this.cfg.limits.resultDiskMb * 1048576, idleSeconds: this.cfg.limits.resultIdleSeconds }),
    });
  }
  private readonly tools: readonly AnyTool[];

  get config(): DataToolsConfig { return this.cfg; }
  get isTrusted(): boolean { return this.trusted; }

  /** Applies new settings. Backends are rebuilt on their next use when anything they depend on changed. */
  async reconfigure(cfg: DataToolsConfig, trusted = this.trusted): Promise<void> {
    const backendsChanged = JSON.stringify({ ...this.cfg, role: 0, auditLogPath: 0 }) !== JSON.stringify({ ...cfg, role: 0, auditLogPath: 0 });
    this.cfg = cfg;
    this.trusted = trusted;
    this.redactor.add(...configSecrets(cfg));
    (this as { audit: AuditLog }).audit = this.audit.file === cfg.auditLogPath ? this.audit : new AuditLog(cfg.auditLogPath, this.redactor);
    if (backendsChanged) await this.services.dispose();
  }

  /** Every tool in the catalog, whatever the role. */
  all(): readonly AnyTool[] { return this.tools; }

  /** The tools the active role (and workspace trust) may use: the only ones a front end offers. */
  available(): AnyTool[] {
    const caps = grantedCapabilities({ role: this.cfg.role, trusted: this.trusted });
    return this.tools.filter(t => caps.has(t.capability));
  }

  find(name: string): AnyTool | undefined { return this.tools.find(t => t.name === name); }

  /** What a tool may do under the active role, as MCP's annotations say it: code that runs where the role's data roots
   *  are writable may destroy data; installing packages reaches the network. */
  hints(t: AnyTool): { readOnly: boolean; destructive: boolean; openWorld: boolean } {
    const writes = grantedCapabilities({ role: this.cfg.role, trusted: this.trusted }).has('files.write');
    const runsCode = t.capability === 'code.execute' || t.capability === 'code.script';
    return {
      readOnly: t.readOnly,
      destructive: !t.readOnly && (t.capability === 'files.write' || (runsCode && writes)),
      openWorld: t.capability === 'code.install' || t.name === 'install_package',
    };
  }

  /** A context for reads that browse rather than act (tree views): same config and backends, not audited. */
  context(signal: AbortSignal = new AbortController().signal): ToolContext {
    return { config: this.cfg, services: this.services, signal, caller: 'explorer', results: this.results };
  }

  /** Why a tool may not be called now by this caller, or undefined if it may (the person's own commands are not
   *  limited by the role, only by workspace trust). */
  refusal(name: string, caller?: Caller): string | undefined {
    const t = this.find(name);
    if (!t) return `Unknown tool \`${name}\`. Available tools: ${this.available().map(x => x.name).join(', ')}.`;
    const caps = capabilitiesFor({ role: this.cfg.role, trusted: this.trusted }, caller);
    if (caps.has(t.capability)) return undefined;
    const inRole = capabilitiesFor({ role: this.cfg.role, trusted: true }, caller).has(t.capability);
    if (inRole) return `\`${name}\` is disabled because this workspace is not trusted: it would ${t.capability === 'files.write' ? 'write files' : 'run code'}. Trust the workspace to enable it.`;
    const roles = rolesWith(t.capability).map(r => `${ROLE_LABELS[r]} (${r})`).join(' or ');
    return `\`${name}\` is not allowed for the role ${ROLE_LABELS[this.cfg.role]} (${this.cfg.role}). It is available to: ${roles}. Ask the user to switch roles if this is needed.`;
  }

  async call(name: string, rawInput: unknown, opts: CallOptions): Promise<CallResult> {
    const started = performance.now();
    const id = randomUUID();
    const signal = opts.signal ?? new AbortController().signal;
    let outcome: Outcome = 'ok';
    let result: ToolResult;
    /** The id of the result whose rows were streamed while the call ran (opts.onRows). */
    let streamed: string | undefined;
    let streamedRows = 0;
    const refusal = this.refusal(name, opts.caller);
    const tool = this.find(name);
    // before validation or logging: an oversized or deeply nested request is refused by its shape alone
    const tooBig = requestRefusal(name, rawInput, this.cfg.limits);
    let auditInput = rawInput;
    if (refusal || !tool) {
      outcome = 'refused';
      result = errorResult(refusal ?? `Unknown tool \`${name}\`.`);
      if (tooBig) auditInput = requestSummary(rawInput, this.cfg.limits);
    } else if (tooBig) {
      outcome = 'refused';
      result = errorResult(tooBig);
      auditInput = requestSummary(rawInput, this.cfg.limits);
    } else {
      const parsed = tool.input.safeParse(rawInput ?? {}, { reportInput: true });
      if (!parsed.success) {
        outcome = 'invalid';
        result = errorResult(formatIssues(name, parsed.error.issues, usageOf(toolSchema(tool))));
      } else {
        try {
          if (signal.aborted) throw new ToolError('Cancelled before it started.');
          const onRows: ToolContext['onRows'] = opts.onRows && (e => {
            if (!streamed) streamed = this.results.open(name, e.columns).id;
            // redacted as the final reply is (the rows on screen while loading, and those kept when the call fails);
            // the store's spill to disk and the consumer both hold back the next rows
            const stored = this.results.append(streamed, this.redactor.value(e.rows) as unknown[][]);
            streamedRows += e.rows.length;
            const shown = opts.onRows!({ resultId: streamed, columns: e.columns, rows: streamedRows });
            return Promise.all([stored, shown]).then(() => undefined);
          });
          result = await tool.handler(parsed.data, { config: this.cfg, services: this.services, signal, caller: opts.caller, onProgress: opts.onProgress, onRows, results: this.results });
          if (result.isError) outcome = signal.aborted ? 'cancelled' : 'error';
        } catch (e) {
          outcome = signal.aborted ? 'cancelled' : 'error';
          result = e instanceof ToolError
            ? errorResult(e.message, e.parts)
            : errorResult(`${name} failed unexpectedly: ${(e as Error)?.message ?? String(e)}. This is a bug in the tool, not in your input; try again or use another approach.`);
        }
      }
    }
    // every part of the reply (MCP structuredContent and the result view are built from the parts), not only the text
    result = { ...result, text: this.redactor.text(result.text), parts: this.redactor.value(result.parts) as ToolResult['parts'] };
    // every table is kept whole in the result store under an id the reply names; over MCP only a first window is inlined
    let storedText = '';
    if (streamed && (result.isError || !result.parts.some(p => p.kind === 'table'))) {
      // the rows that arrived before the call failed stay, labelled with what stopped them
      this.results.fail(streamed, result.text);
    }
    if (!result.isError && tool) {
      try {
        const s = await this.storeTables(name, result, opts.caller === 'mcp' ? this.cfg.limits.mcpInlineRows : undefined, streamed);
        result = s.result;
        storedText = s.lines.join('\n');
      } catch (e) {
        if (streamed) this.results.fail(streamed, (e as Error)?.message ?? String(e));
        storedText = `[The result could not be stored for paging (${(e as Error)?.message ?? String(e)}); it is not available to get_result.]`;
      }
    }
    // a reply never exceeds its budget, whatever the tool read (over MCP a reply past the transport's limit ends the
    // session; the model's text is bounded for every caller, the structured data where it goes over a protocol)
    try {
      // the result id lines come last and are never cut: the text budget leaves room for them
      const room = storedText ? storedText.length + 1 : 0;
      result = boundReply(result, { ...this.cfg.limits, replyTextChars: this.cfg.limits.replyTextChars - room }, { structured: opts.caller === 'mcp' });
      if (storedText) result = { ...result, text: `${result.text}\n${storedText}` };
    } catch (e) {
      outcome = 'error';
      result = errorResult(`${name} produced a reply that could not be bounded (${(e as Error)?.message ?? String(e)}); ask for fewer rows or columns, or use save_as.`);
    }
    const entry: AuditEntry = {
      time: new Date().toISOString(), id, role: this.cfg.role, caller: opts.caller, tool: name, input: auditInput,
      outcome, error: result.isError ? result.text.slice(0, 2000) : undefined,
      durationMs: Math.round(performance.now() - started), rows: result.metrics?.rows, bytes: result.metrics?.bytes, ...this.identity,
    };
    this.audit.record(entry);
    return { ...result, auditId: id, outcome, durationMs: entry.durationMs };
  }

  /** Puts each table part (not already a stored result's window) into the store, names its id in the text, and
   *  keeps only `inlineRows` rows in the part when given. */
  private async storeTables(tool: string, r: ToolResult, inlineRows: number | undefined, streamed?: string): Promise<{ result: ToolResult; lines: string[] }> {
    const lines: string[] = [];
    const first = r.parts.findIndex(p => p.kind === 'table');
    const parts = await Promise.all(r.parts.map(async (p, i) => {
      if (p.kind !== 'table' || p.resultId || tool === 'get_result') return p;
      // the streamed table is completed under the id its first rows were shown with
      const info = streamed && i === first ? await this.results.finish(streamed, p, tool) : await this.results.put(tool, p);
      const n = info.rows.toLocaleString('en-US');
      lines.push(`Result ${info.id}: ${n} row${info.rows === 1 ? '' : 's'} × ${info.columns.length.toLocaleString('en-US')} column${info.columns.length === 1 ? '' : 's'} stored`
        + `${p.title && r.parts.filter(x => x.kind === 'table').length > 1 ? ` (${p.title.slice(0, 60)})` : ''}; page, sort, filter or describe it with get_result, save it with get_result save_as.`);
      const part: TablePart = { ...p, resultId: info.id, storedRows: info.rows };
      if (inlineRows !== undefined && p.rows.length > inlineRows) {
        part.rows = p.rows.slice(0, inlineRows);
        part.truncated = true;
        part.totalRows = p.totalRows ?? (p.truncated ? undefined : info.rows);
      }
      return part;
    }));
    return { result: lines.length ? { ...r, parts } : r, lines: lines.slice(0, 20) };
  }

  async dispose(): Promise<void> {
    await this.results.dispose();
    await this.services.dispose();
  }
}
