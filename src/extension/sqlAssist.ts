import * as vscode from 'vscode';
import type { ToolHost, CallResult } from '../core/host';
export { errorPosition, fromTables, statementAround } from './parse';
import { derivedRelations, errorPosition, fromTables, statementAround, unquote, type DerivedRelation } from './parse';
import { listColumns, listRelations, listSchemas, type ColumnDetail, type RelationInfo, type SchemaInfo } from '../core/db/explore';

/** Query errors as squiggles at the position the server named; cleared by the next successful run or an edit. */
export class SqlDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('datatools-sql');
  private readonly sub: vscode.Disposable;

  constructor(private readonly log?: vscode.LogOutputChannel) {
    this.sub = vscode.workspace.onDidChangeTextDocument(e => {
      if (e.contentChanges.length && this.collection.has(e.document.uri)) {
        this.collection.delete(e.document.uri);
        this.log?.info(`${e.document.uri.fsPath}: edited, query error mark cleared`);
      }
    });
  }

  /** After a run of `sql`, which starts at `base` (a character offset) in the document. */
  report(doc: vscode.TextDocument, base: number, r: CallResult | undefined): void {
    if (!r || r.outcome === 'cancelled') return;
    if (!r.isError) { this.collection.delete(doc.uri); return; }
    const at = errorPosition(r.text);
    if (at === undefined) { this.collection.delete(doc.uri); return; }
    const start = doc.positionAt(base + at - 1);
    const word = doc.getWordRangeAtPosition(start, /[\w$"]+/);
    const range = word ?? new vscode.Range(start, doc.positionAt(doc.offsetAt(start) + 1));
    const d = new vscode.Diagnostic(range, r.text.split('\n')[0].replace(/ at character \d+ \((?:line \d+, )?column \d+\)( of the query)?/, ''), vscode.DiagnosticSeverity.Error);
    d.source = 'PostgreSQL';
    this.collection.set(doc.uri, [d]);
    this.log?.info(`${doc.uri.fsPath}: query error marked at line ${start.line + 1}, column ${start.character + 1}`);
  }

  get(uri: vscode.Uri): readonly vscode.Diagnostic[] { return this.collection.get(uri) ?? []; }

  dispose(): void { this.sub.dispose(); this.collection.dispose(); }
}

const quoteIfNeeded = (s: string) => /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;

/** Completion of schemas, tables and columns in .sql files from the catalog of the file's connection, read with
 *  the same catalog queries as the Data view (core's explore.ts), cached for a short while. */
export class SqlCompletion implements vscode.CompletionItemProvider {
  private cache = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(private readonly host: ToolHost, private readonly connectionOf: (doc: vscode.TextDocument) => string) {}

  clear(): void { this.cache.clear(); }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 60_000) return hit.value as Promise<T>;
    const value = load();
    value.catch(() => this.cache.delete(key));
    this.cache.set(key, { at: Date.now(), value });
    return value;
  }
  private schemas(conn: string) { return this.cached<SchemaInfo[]>(`s:${conn}`, () => listSchemas(this.host.context(), conn)); }
  private relations(conn: string, schema: string) { return this.cached<RelationInfo[]>(`r:${conn}:${schema}`, async () => (await listRelations(this.host.context(), schema, conn)).items); }
  private columns(conn: string, schema: string, table: string) { return this.cached<ColumnDetail[]>(`c:${conn}:${schema}.${table}`, () => listColumns(this.host.context(), schema, table, conn)); }

  /** The schema holding a table named without one: the first schema (public first) that has it. */
  private async resolve(conn: string, t: { schema?: string; table: string }): Promise<{ schema: string; table: string } | undefined> {
    if (t.schema) return { schema: t.schema, table: t.table };
    for (const s of await this.schemas(conn)) {
      if ((await this.relations(conn, s.name)).some(r => r.name === t.table)) return { schema: s.name, table: t.table };
    }
    return undefined;
  }

  /** The columns of a CTE or subquery: its named outputs, and for its `*` items the catalog columns of its tables. */
  private async derivedColumns(conn: string, d: DerivedRelation, all: DerivedRelation[]): Promise<ColumnDetail[]> {
    const cols: ColumnDetail[] = d.columns.map(name => ({ name, type: d.kind === 'cte' ? 'CTE column' : 'subquery column', nullable: true, primaryKey: false, foreignKey: null, comment: null }));
    for (const star of d.stars) {
      for (const t of d.tables.filter(x => !star.qualifier || x.alias === star.qualifier || (!x.alias && x.table === star.qualifier))) {
        // a CTE read by another CTE's "*" (not itself)
        const inner = !t.schema ? all.find(x => x.name === t.table && x !== d) : undefined;
        if (inner) { cols.push(...(await this.derivedColumns(conn, inner, all.filter(x => x !== inner)))); continue; }
        const target = await this.resolve(conn, t);
        if (target) cols.push(...(await this.columns(conn, target.schema, target.table)));
      }
    }
    return cols;
  }

  private columnItems(cols: ColumnDetail[], table: string, range?: vscode.Range): vscode.CompletionItem[] {
    return cols.map(c => {
      const item = new vscode.CompletionItem({ label: c.name, description: `${c.type}${c.primaryKey ? ' · key' : ''}`, detail: ` ${table}` }, vscode.CompletionItemKind.Field);
      item.insertText = quoteIfNeeded(c.name);
      item.sortText = `0${c.name}`;
      if (c.comment) item.documentation = c.comment;
      if (range) item.range = range;
      return item;
    });
  }

  async provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.CompletionItem[]> {
    const conn = this.connectionOf(doc);
    const text = doc.getText();
    const offset = doc.offsetAt(pos);
    const stmt = statementAround(text, offset);
    const before = text.slice(stmt.start, offset);
    try {
      const tables = fromTables(stmt.text);
      // the statement's own relations (CTEs, subqueries in FROM) come before the catalog's
      const derived = await derivedRelations(stmt.text).catch(() => [] as DerivedRelation[]);
      const own = (t: { schema?: string; table: string; alias?: string }) => (t.schema ? undefined : derived.find(d => d.name === t.table));
      const dotted = /("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\.\s*([A-Za-z_][\w$]*)?$/.exec(before);
      if (dotted) {
        const q = unquote(dotted[1]);
        const typed = dotted[2] ?? '';
        const range = new vscode.Range(pos.translate(0, -typed.length), pos);
        // an alias or a table of this statement: its columns
        const byAlias = tables.find(t => t.alias === q) ?? tables.find(t => t.table === q && !t.alias) ?? tables.find(t => t.table === q);
        const d = derived.find(x => x.kind === 'subquery' && x.name === q) ?? (byAlias ? own(byAlias) : undefined) ?? (!byAlias ? derived.find(x => x.name === q) : undefined);
        if (d) return this.columnItems(await this.derivedColumns(conn, d, derived), d.name, range);
        const target = byAlias ? await this.resolve(conn, byAlias) : await this.resolve(conn, { table: q });
        if (target) return this.columnItems(await this.columns(conn, target.schema, target.table), `${target.schema}.${target.table}`, range);
        // a schema: its tables and views
        if ((await this.schemas(conn)).some(s => s.name === q)) {
          return (await this.relations(conn, q)).map(r => {
            const item = new vscode.CompletionItem({ label: r.name, description: r.kind }, r.kind.includes('view') ? vscode.CompletionItemKind.Interface : vscode.CompletionItemKind.Struct);
            item.insertText = quoteIfNeeded(r.name);
            item.range = range;
            return item;
          });
        }
        return [];
      }
      const items: vscode.CompletionItem[] = [];
      // columns of the statement's tables (after SELECT, in WHERE, ...)
      for (const t of tables) {
        const d = own(t);
        if (d) { items.push(...this.columnItems(await this.derivedColumns(conn, d, derived), t.alias ?? d.name)); continue; }
        const target = await this.resolve(conn, t);
        if (target) items.push(...this.columnItems(await this.columns(conn, target.schema, target.table), t.alias ?? target.table));
      }
      for (const d of derived.filter(x => x.kind === 'subquery')) items.push(...this.columnItems(await this.derivedColumns(conn, d, derived), d.name));
      for (const d of derived.filter(x => x.kind === 'cte')) {
        const item = new vscode.CompletionItem({ label: d.name, description: 'CTE' }, vscode.CompletionItemKind.Struct);
        item.insertText = quoteIfNeeded(d.name);
        item.sortText = `1${d.name}`;
        items.push(item);
      }
      const schemas = await this.schemas(conn);
      for (const s of schemas) {
        const item = new vscode.CompletionItem({ label: s.name, description: 'schema' }, vscode.CompletionItemKind.Module);
        item.insertText = quoteIfNeeded(s.name);
        item.sortText = `2${s.name}`;
        items.push(item);
      }
      // tables of the first schema (public when there is one) without a prefix
      if (schemas[0]) {
        for (const r of await this.relations(conn, schemas[0].name)) {
          const item = new vscode.CompletionItem({ label: r.name, description: `${schemas[0].name} · ${r.kind}` }, r.kind.includes('view') ? vscode.CompletionItemKind.Interface : vscode.CompletionItemKind.Struct);
          item.insertText = quoteIfNeeded(r.name);
          item.sortText = `1${r.name}`;
          items.push(item);
        }
      }
      return items;
    } catch {
      // the catalog could not be read (connection down): no completions rather than an error popup while typing
      return [];
    }
  }
}
