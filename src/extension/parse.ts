/** Text readings behind the editor features, without VS Code (unit-tested): query error positions, the tables of a
 *  statement, its CTEs and subqueries, Jupyter-style cells. */
import { loadModule, parseSync } from 'libpg-query';

/** The server's (or the parser's) error position in a query error: "at character N (line L, column C)", or "(column C)" for a one-line query. */
export function errorPosition(text: string): number | undefined {
  const m = /at character (\d+) \((?:line \d+, )?column \d+\)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

const NOT_ALIAS = new Set(['where', 'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'group', 'order', 'limit', 'offset',
  'having', 'union', 'except', 'intersect', 'window', 'fetch', 'for', 'lateral', 'as', 'select', 'returning', 'tablesample', 'outer']);

export const unquote = (s: string) => s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase();

/** The tables a statement reads (FROM and JOIN items) with their aliases: `FROM public.users u` gives
 *  { schema: 'public', table: 'users', alias: 'u' }. A lexical reading, enough to offer completions. */
export function fromTables(stmt: string): { schema?: string; table: string; alias?: string }[] {
  const ident = '(?:"(?:[^"]|"")+"|[A-Za-z_][\\w$]*)';
  const re = new RegExp(`\\b(?:from|join)\\s+(${ident})(?:\\s*\\.\\s*(${ident}))?(?:\\s+(?:as\\s+)?(${ident}))?`, 'gi');
  const out: { schema?: string; table: string; alias?: string }[] = [];
  const also = new RegExp(`,\\s*(${ident})(?:\\s*\\.\\s*(${ident}))?(?:\\s+(?:as\\s+)?(${ident}))?`, 'y');
  for (const m of stmt.matchAll(re)) {
    const push = (a: string, b: string | undefined, c: string | undefined) => {
      const alias = c && !NOT_ALIAS.has(c.toLowerCase()) ? unquote(c) : undefined;
      out.push(b ? { schema: unquote(a), table: unquote(b), alias } : { table: unquote(a), alias });
    };
    push(m[1], m[2], m[3]);
    // "FROM a x, b y": the comma-separated items after the first
    also.lastIndex = m.index + m[0].length;
    for (let n = also.exec(stmt); n; n = also.exec(stmt)) push(n[1], n[2], n[3]);
  }
  return out;
}

/** The statement around an offset: the text between the semicolons before and after it. */
export function statementAround(text: string, offset: number): { text: string; start: number } {
  const start = text.lastIndexOf(';', offset - 1) + 1;
  const end = text.indexOf(';', offset);
  return { text: text.slice(start, end < 0 ? text.length : end), start };
}

/** A relation a statement defines itself: a CTE (`WITH t AS (…)`) or a subquery in FROM (`(SELECT …) s`), with the
 *  columns it yields. `stars` are the `*` / `x.*` items of its select list, whose columns come from the catalog: the
 *  caller expands them with `tables` (the FROM items of its body). */
export interface DerivedRelation { name: string; kind: 'cte' | 'subquery'; columns: string[]; stars: { qualifier?: string }[]; tables: ReturnType<typeof fromTables> }

const DERIVED_NOT_ALIAS = new Set([...NOT_ALIAS].filter(k => k !== 'as'));
const IDENT = '(?:"(?:[^"]|"")+"|[A-Za-z_][\\w$]*)';

/** The offset of the ")" closing the "(" at `open`, skipping strings, quoted names and comments; -1 when the text
 *  ends first (the person is still typing). */
export function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') { const end = text.indexOf(c, i + 1); if (end < 0) return -1; i = end; continue; }
    if (c === '-' && text[i + 1] === '-') { const end = text.indexOf('\n', i); if (end < 0) return -1; i = end; continue; }
    if (c === '/' && text[i + 1] === '*') { const end = text.indexOf('*/', i + 2); if (end < 0) return -1; i = end + 1; continue; }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

type Node = Record<string, unknown>;
const sval = (n: unknown) => ((n as { String?: { sval?: string } })?.String?.sval);

/** The output column names of a SELECT (as PostgreSQL names them) and its `*` items; undefined when it does not
 *  parse (it is being typed). */
function selectColumns(body: string): { columns: string[]; stars: { qualifier?: string }[] } | undefined {
  let stmt: Node | undefined;
  try { stmt = (parseSync(body) as { stmts?: { stmt?: Node }[] }).stmts?.[0]?.stmt; } catch { return undefined; }
  let sel = stmt?.SelectStmt as Node | undefined;
  // a UNION / INTERSECT / EXCEPT takes its names from the first SELECT
  while (sel && sel.larg) sel = sel.larg as Node;
  if (!sel) return undefined;
  if (Array.isArray(sel.valuesLists)) {
    const first = (sel.valuesLists[0] as { List?: { items?: unknown[] } })?.List?.items ?? [];
    return { columns: first.map((_, i) => `column${i + 1}`), stars: [] };
  }
  const columns: string[] = [];
  const stars: { qualifier?: string }[] = [];
  for (const t of (sel.targetList as { ResTarget?: { name?: string; val?: Node } }[] | undefined) ?? []) {
    const r = t.ResTarget;
    if (!r) continue;
    if (r.name) { columns.push(r.name); continue; }
    let v = r.val;
    while (v?.TypeCast) v = (v.TypeCast as { arg?: Node }).arg;
    const ref = v?.ColumnRef as { fields?: unknown[] } | undefined;
    if (ref?.fields) {
      const last = ref.fields[ref.fields.length - 1] as Node;
      if (last && 'A_Star' in last) { stars.push(ref.fields.length > 1 ? { qualifier: sval(ref.fields[ref.fields.length - 2]) } : {}); continue; }
      columns.push(sval(last) ?? '?column?');
      continue;
    }
    const fn = (v?.FuncCall as { funcname?: unknown[] } | undefined)?.funcname;
    if (fn?.length) { columns.push(sval(fn[fn.length - 1]) ?? '?column?'); continue; }
    // an expression without a name: PostgreSQL calls it ?column?; no use for completion
  }
  return { columns, stars };
}

/** Whether the "(" at `open` is an item of a FROM clause: the nearest clause keyword before it at its own nesting
 *  level is FROM, JOIN or LATERAL. */
function inFromClause(stmt: string, open: number): boolean {
  let depth = 0;
  for (let k = open - 1; k >= 0; k--) {
    const c = stmt[k];
    if (c === ')') depth++;
    else if (c === '(') { if (depth === 0) return false; depth--; }
    else if (depth === 0 && /[A-Za-z]/.test(c) && (k === 0 || !/[\w$]/.test(stmt[k - 1]))) {
      const w = /^[A-Za-z_]+/.exec(stmt.slice(k))![0].toLowerCase();
      if (w === 'from' || w === 'join' || w === 'lateral') return true;
      if (CLAUSE.has(w)) return false;
    }
  }
  return false;
}
const CLAUSE = new Set(['select', 'where', 'group', 'having', 'order', 'limit', 'offset', 'on', 'using', 'returning', 'values', 'set', 'window', 'with']);

/** The CTEs and FROM subqueries of a statement with their columns, read with PostgreSQL's own parser body by body,
 *  so a statement still being typed (`SELECT t. FROM t`) keeps what can be read; a body that does not parse yet is
 *  left out. */
export async function derivedRelations(stmt: string): Promise<DerivedRelation[]> {
  await loadModule();
  const out: DerivedRelation[] = [];
  // WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED] ( body ), name2 AS ( … )
  const cte = new RegExp(`(?:\\bwith\\s+(?:recursive\\s+)?|,\\s*)(${IDENT})\\s*(\\([^()]*\\))?\\s+as\\s+(?:not\\s+)?(?:materialized\\s+)?\\(`, 'gi');
  for (const m of stmt.matchAll(cte)) {
    const open = m.index + m[0].length - 1;
    const close = closingParen(stmt, open);
    const body = stmt.slice(open + 1, close < 0 ? stmt.length : close);
    const listed = m[2] ? m[2].slice(1, -1).split(',').map(x => unquote(x.trim())).filter(Boolean) : undefined;
    const read = close < 0 ? undefined : selectColumns(body);
    if (!listed && !read) continue;
    out.push({ name: unquote(m[1]), kind: 'cte', columns: listed ?? read!.columns, stars: listed ? [] : read!.stars, tables: fromTables(body) });
  }
  // ( SELECT … ) [AS] alias [(cols)]
  for (let i = stmt.indexOf('('); i >= 0; i = stmt.indexOf('(', i + 1)) {
    if (!/^\(\s*(select|with|values)\b/i.test(stmt.slice(i, i + 12))) continue;
    const close = closingParen(stmt, i);
    if (close < 0) continue;
    const after = new RegExp(`^\\s*(?:as\\s+)?(${IDENT})(\\s*\\([^()]*\\))?`, 'i').exec(stmt.slice(close + 1));
    if (!after || DERIVED_NOT_ALIAS.has(after[1].toLowerCase())) continue;
    // only a subquery in FROM / JOIN is a relation (not one in the select list or WHERE, nor a CTE's body)
    if (!inFromClause(stmt, i)) continue;
    const body = stmt.slice(i + 1, close);
    const listed = after[2] ? after[2].trim().slice(1, -1).split(',').map(x => unquote(x.trim())).filter(Boolean) : undefined;
    const read = selectColumns(body);
    if (!listed && !read) continue;
    out.push({ name: unquote(after[1]), kind: 'subquery', columns: listed ?? read!.columns, stars: listed ? [] : read!.stars, tables: fromTables(body) });
  }
  return out;
}

export interface Cell { index: number; start: number; end: number; code: string }

const MARKER = /^#\s*%%/;

/** Jupyter-style cells of a .py file: each "# %%" line starts one, running to the next (code before the first
 *  marker is not a cell, as in VS Code's Jupyter extension). */
export function cellsOf(text: string): Cell[] {
  const lines = text.split(/\r?\n/);
  const starts = lines.map((l, i) => (MARKER.test(l) ? i : -1)).filter(i => i >= 0);
  return starts.map((start, index) => {
    const end = (starts[index + 1] ?? lines.length) - 1;
    return { index, start, end, code: lines.slice(start + 1, end + 1).join('\n') };
  });
}
