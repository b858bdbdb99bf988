import { loadModule, parseSync } from 'libpg-query';

/** Functions refused by default (the seed's query deny list); `*` matches any suffix. */
export const DEFAULT_DENIED_FUNCTIONS: readonly string[] = [
  'dblink*', 'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_read_file',
  'pg_read_binary_file', 'pg_ls_*', 'pg_stat_file', 'lo_*', 'loread', 'lowrite', 'set_config', 'pg_import_system_collations',
  'pg_advisory*', 'pg_try_advisory*', 'pg_notify', 'pg_logical_*', 'pg_replication_*', 'pg_create_*', 'pg_drop_replication_slot',
  'pg_switch_wal', 'pg_promote', 'pg_file_*', 'query_to_xml*', 'table_to_xml*', 'database_to_xml*', 'cursor_to_xml*',
];

export interface GuardPolicy {
  /** Patterns of function names that are refused (ignored when `allowedFunctions` is set). */
  deniedFunctions: readonly string[];
  /** When set, only these functions (patterns) may be called. */
  allowedFunctions?: readonly string[];
  /** Statement timeout in seconds: `pg_sleep` with a literal longer than this is refused. */
  timeoutSec: number;
}

export type StatementKind = 'select' | 'show' | 'explain';

export interface GuardOk { ok: true; kind: StatementKind; functions: string[] }
export interface GuardRefusal { ok: false; reason: string }

let loaded: Promise<void> | undefined;
/** The parser is WebAssembly: load it once before the first check. */
export function loadParser(): Promise<void> {
  return (loaded ??= loadModule());
}

const ALLOWED_HINT = 'Only one read-only statement is allowed: SELECT, WITH ... SELECT, VALUES, TABLE, SHOW, or EXPLAIN (without ANALYZE of a write).';

type Node = Record<string, unknown>;

/** Decides whether a query may run, from PostgreSQL's own parse tree (never a regex). */
export function checkQuery(sql: string, policy: GuardPolicy): GuardOk | GuardRefusal {
  let tree: { stmts?: { stmt: Node }[] };
  try {
    tree = parseSync(sql) as unknown as typeof tree;
  } catch (e) {
    return { ok: false, reason: `The query does not parse: ${(e as Error).message}. Fix the SQL syntax.` };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return { ok: false, reason: `The query is empty. ${ALLOWED_HINT}` };
  if (stmts.length > 1) {
    return { ok: false, reason: `The query has ${stmts.length} statements (${stmts.map(s => stmtName(s.stmt)).join(', ')}). ${ALLOWED_HINT} Send one statement per call.` };
  }
  const stmt = stmts[0].stmt;
  const kind = classify(stmt);
  if (typeof kind === 'string' && !['select', 'show', 'explain'].includes(kind)) return { ok: false, reason: kind };
  const functions: string[] = [];
  const refusal = walk(stmt, functions, policy);
  if (refusal) return { ok: false, reason: refusal };
  return { ok: true, kind: kind as StatementKind, functions };
}

function stmtName(stmt: Node): string {
  const k = Object.keys(stmt)[0] ?? 'unknown';
  const map: Record<string, string> = { SelectStmt: 'SELECT', TransactionStmt: 'a transaction command (COMMIT/ROLLBACK/BEGIN)', DropStmt: 'DROP',
    InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE', DoStmt: 'DO', CopyStmt: 'COPY',
    CreateStmt: 'CREATE TABLE', VariableSetStmt: 'SET', VariableShowStmt: 'SHOW', ExplainStmt: 'EXPLAIN', TruncateStmt: 'TRUNCATE',
    CreateTableAsStmt: 'CREATE TABLE AS', GrantStmt: 'GRANT', AlterTableStmt: 'ALTER TABLE', LockStmt: 'LOCK', ListenStmt: 'LISTEN',
    NotifyStmt: 'NOTIFY', PrepareStmt: 'PREPARE', ExecuteStmt: 'EXECUTE', DeclareCursorStmt: 'DECLARE CURSOR', FetchStmt: 'FETCH',
    CallStmt: 'CALL', VacuumStmt: 'VACUUM', CreateFunctionStmt: 'CREATE FUNCTION', DiscardStmt: 'DISCARD' };
  return map[k] ?? k.replace(/Stmt$/, '').toUpperCase();
}

function classify(stmt: Node): StatementKind | string {
  const [k, body] = Object.entries(stmt)[0] as [string, Node];
  if (k === 'SelectStmt') {
    if (body.intoClause) return 'SELECT INTO creates a table and is refused. Run the SELECT alone; to keep a result, use save_as.';
    if (body.lockingClause) return 'SELECT ... FOR UPDATE/SHARE takes row locks and is refused. Remove the locking clause.';
    return 'select';
  }
  if (k === 'VariableShowStmt') return 'show';
  if (k === 'ExplainStmt') {
    const options = (body.options as { DefElem: { defname: string; arg?: Node } }[] | undefined) ?? [];
    const analyze = options.some(o => o.DefElem.defname === 'analyze' && !isFalse(o.DefElem.arg));
    const inner = classify(body.query as Node);
    if (inner === 'select') return 'explain';
    if (analyze) return `EXPLAIN ANALYZE would execute a ${stmtName(body.query as Node)}, which is refused. ${ALLOWED_HINT}`;
    // a plain EXPLAIN of a write only plans it; still refused to keep the rule simple to state
    return `EXPLAIN of a ${stmtName(body.query as Node)} is refused. Only EXPLAIN of a read-only query is allowed.`;
  }
  return `${stmtName(stmt)} is not allowed: this tool is read-only. ${ALLOWED_HINT}`;
}

function isFalse(arg: Node | undefined): boolean {
  if (!arg) return false;
  const s = JSON.stringify(arg).toLowerCase();
  return /"(false|off|0)"|"boolval":\{\}|"ival":0\b/.test(s) && !/"true"|"on"/.test(s);
}

function match(name: string, patterns: readonly string[]): boolean {
  return patterns.some(p => (p.endsWith('*') ? name.startsWith(p.slice(0, -1).toLowerCase()) : name === p.toLowerCase()));
}

/** Walks the whole tree: data-modifying CTEs anywhere, and every function call against the policy. */
function walk(node: unknown, functions: string[], policy: GuardPolicy): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) { const r = walk(n, functions, policy); if (r) return r; }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  for (const [k, v] of Object.entries(node as Node)) {
    if (k === 'CommonTableExpr') {
      const q = (v as Node).ctequery as Node;
      const qk = Object.keys(q)[0];
      if (qk !== 'SelectStmt') return `A WITH clause containing ${stmtName(q)} modifies data and is refused. ${ALLOWED_HINT}`;
    }
    if (['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(k)) return `${stmtName({ [k]: v })} is not allowed: this tool is read-only.`;
    if (k === 'FuncCall') {
      const fc = v as { funcname: { String: { sval: string } }[]; args?: Node[] };
      const parts = fc.funcname.map(p => p.String.sval.toLowerCase());
      const name = parts[parts.length - 1];
      const full = parts.join('.');
      functions.push(full);
      if (policy.allowedFunctions) {
        if (!match(name, policy.allowedFunctions) && !match(full, policy.allowedFunctions)) {
          return `The function ${full}() is not on the allowed list of this connection. Rewrite the query without it.`;
        }
      } else if (match(name, policy.deniedFunctions) || match(full, policy.deniedFunctions)) {
        return `The function ${full}() is refused (it can affect the server or read outside the database). Rewrite the query without it.`;
      }
      if (name === 'pg_sleep' || name === 'pg_sleep_for') {
        const lit = literalNumber(fc.args?.[0]);
        if (lit !== undefined && lit > policy.timeoutSec) return `pg_sleep(${lit}) is longer than the ${policy.timeoutSec} s query timeout and is refused.`;
      }
    }
    const r = walk(v, functions, policy);
    if (r) return r;
  }
  return undefined;
}

function literalNumber(n: Node | undefined): number | undefined {
  const c = (n as { A_Const?: { ival?: { ival?: number }; fval?: { fval?: string } } } | undefined)?.A_Const;
  if (!c) return undefined;
  if (c.ival) return c.ival.ival ?? 0;
  if (c.fval?.fval) return Number(c.fval.fval);
  return undefined;
}
