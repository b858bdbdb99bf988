import { loadModule, parseSync } from 'libpg-query';

/** Functions refused by default (the seed's query deny list, an extra layer over the catalog allow-list);
 *  `*` matches any suffix. The `deniedFunctions` setting replaces this list. */
export const DEFAULT_DENIED_FUNCTIONS: readonly string[] = [
  'dblink*', 'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_read_file',
  'pg_read_binary_file', 'pg_ls_*', 'pg_stat_file', 'lo_*', 'loread', 'lowrite', 'set_config', 'pg_import_system_collations',
  'pg_advisory*', 'pg_try_advisory*', 'pg_notify', 'pg_logical_*', 'pg_replication_*', 'pg_create_*', 'pg_drop_replication_slot',
  'pg_switch_wal', 'pg_promote', 'pg_file_*', 'query_to_xml*', 'table_to_xml*', 'database_to_xml*', 'cursor_to_xml*',
  'schema_to_xml*', 'pg_stat_reset*', 'pg_stat_statements_reset', 'brin_summarize*', 'brin_desummarize_range',
  'gin_clean_pending_list', 'pg_prewarm', 'setseed', 'nextval', 'setval', 'txid_current', 'pg_current_xact_id',
];

/** Functions that run SQL handed to them as text (or built from names): the guard would only see a string
 *  literal while the server runs the statement inside it. Always refused, whatever the settings say. */
const SQL_AS_TEXT: readonly string[] = [
  'query_to_xml*', 'cursor_to_xml*', 'table_to_xml*', 'schema_to_xml*', 'database_to_xml*', 'ts_stat', 'dblink*',
];

/** Functions that change the server (or the pooled session) without writing a table, so READ ONLY does not stop
 *  them and ROLLBACK does not undo them. They are VOLATILE and so refused anyway; this list names the reason. */
const SERVER_STATE: readonly string[] = [
  'pg_stat_reset*', 'pg_stat_statements_reset', 'pg_stat_clear_snapshot', 'pg_stat_force_next_flush', 'brin_summarize*',
  'brin_desummarize_range', 'gin_clean_pending_list', 'pg_prewarm', 'pg_advisory*', 'pg_try_advisory*', 'pg_notify',
  'lo_*', 'loread', 'lowrite', 'set_config', 'setseed', 'nextval', 'setval', 'pg_cancel_backend', 'pg_terminate_backend',
  'pg_reload_conf', 'pg_rotate_logfile', 'pg_switch_wal', 'pg_promote', 'pg_create_*', 'pg_drop_replication_slot',
  'pg_replication_*', 'pg_logical_*', 'pg_import_system_collations', 'pg_log_backend_memory_contexts', 'txid_current',
  'pg_current_xact_id', 'pg_backup_*', 'pg_wal_replay_*', 'pg_ls_*', 'pg_read_*', 'pg_stat_file', 'pg_file_*',
];

/** VOLATILE functions of pg_catalog reviewed as harmless: they read a clock, a random source, or a size, and change
 *  nothing that outlives the call. (`setseed` is not here: it changes the session's random sequence, which would
 *  leak into the next call on the pooled connection. `nextval` changes a sequence for good.) */
export const REVIEWED_VOLATILE: readonly string[] = [
  'random', 'random_normal', 'gen_random_uuid', 'clock_timestamp', 'timeofday', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until',
  'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_database_size', 'pg_tablespace_size',
  'pg_is_in_recovery', 'pg_partition_tree', 'pg_partition_ancestors', 'pg_stat_have_stats', 'txid_status', 'pg_xact_status',
  'pg_notification_queue_usage',
];

export interface GuardPolicy {
  /** Patterns of function names that are refused (ignored when `allowedFunctions` is set). */
  deniedFunctions: readonly string[];
  /** When set, only these functions (patterns) may be called. An exact name (no `*`) here is also the
   *  administrator's opt-in for a VOLATILE function the catalog check would refuse. */
  allowedFunctions?: readonly string[];
  /** Statement timeout in seconds: `pg_sleep` with a literal longer than this is refused. */
  timeoutSec: number;
}

export type StatementKind = 'select' | 'show' | 'explain';

/** Why a query was refused: each class is a documented decision (README, "Refusal classes"). */
export type RefusalClass =
  | 'syntax' | 'empty' | 'multiple-statements' | 'not-read-only' | 'explain-analyze-write' | 'select-into' | 'row-locks'
  | 'writable-cte' | 'sql-as-text-function' | 'server-state-function' | 'denied-function' | 'not-allowed-function'
  | 'volatile-function' | 'unknown-function' | 'volatile-operator' | 'sleep-over-timeout';

/** A function (or operator) the statement calls, as written: resolved against the server's catalog later. */
export interface FunctionRef {
  kind: 'function' | 'operator';
  schema?: string;
  name: string;
  /** Arguments as written (count(*) counts 0). */
  nargs: number;
  /** Only inside a plain EXPLAIN: planned, never executed. */
  planOnly: boolean;
}

export interface GuardOk {
  ok: true;
  kind: StatementKind;
  functions: string[];
  refs: FunctionRef[];
  /** The statement's own text (without a trailing `;` or leading comments) and where it starts in the query, in
   *  characters (code points, as PostgreSQL counts error positions). */
  statement: string;
  statementOffset: number;
}
export interface GuardRefusal { ok: false; reason: string; class: RefusalClass }

let loaded: Promise<void> | undefined;
/** The parser is WebAssembly: load it once before the first check. */
export function loadParser(): Promise<void> {
  return (loaded ??= loadModule());
}

const ALLOWED_HINT = 'Only one read-only statement is allowed: SELECT, WITH ... SELECT, VALUES, TABLE, SHOW, or EXPLAIN (EXPLAIN ANALYZE only of a read-only query).';

type Node = Record<string, unknown>;

class Refused extends Error { constructor(readonly cls: RefusalClass, message: string) { super(message); } }

/** Decides whether a query may run, from PostgreSQL's own parse tree (never a regex). Functions are checked
 *  against the deny/allow settings here and against the server's catalog by `checkFunctions`. */
export function checkQuery(sql: string, policy: GuardPolicy): GuardOk | GuardRefusal {
  let tree: { stmts?: { stmt: Node; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = parseSync(sql) as unknown as typeof tree;
  } catch (e) {
    const err = e as { message?: string; sqlDetails?: { cursorPosition?: number } };
    if (e instanceof RangeError || /call stack/i.test(String(err.message))) {
      // valid SQL whose parse tree is too deep to check (e.g. thousands of terms chained with + or AND)
      return { ok: false, class: 'syntax', reason: 'The query is nested too deeply for the read-only check to read it (for example thousands of terms chained with + or AND, or deeply nested parentheses). Write it flatter: an IN list or = ANY($1) with an array, sum() over rows, or several smaller queries.' };
    }
    const cur = err.sqlDetails?.cursorPosition;
    const at = typeof cur === 'number' ? ` at character ${cur + 1} (${lineCol(sql, cur + 1)})` : '';
    return { ok: false, class: 'syntax', reason: `The query does not parse: ${err.message}${at}. Fix the SQL syntax.` };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return { ok: false, class: 'empty', reason: `The query is empty. ${ALLOWED_HINT}` };
  if (stmts.length > 1) {
    return { ok: false, class: 'multiple-statements', reason: `The query has ${stmts.length} statements (${stmts.map(s => stmtName(s.stmt)).join(', ')}). ${ALLOWED_HINT} Send one statement per call.` };
  }
  const { stmt, stmt_location: loc = 0, stmt_len: len = 0 } = stmts[0];
  try {
    const kind = classify(stmt);
    const refs: FunctionRef[] = [];
    walk(stmt, refs, policy, kind === 'explain' && !explainAnalyzes(stmt));
    const { statement, statementOffset } = statementText(sql, loc, len);
    return { ok: true, kind, functions: refs.filter(r => r.kind === 'function').map(fullName), refs, statement, statementOffset };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, class: e.cls, reason: e.message };
    throw e;
  }
}

/** The text of the statement the parser found at byte `loc` (length `len`, 0: to the end), and its offset in
 *  characters (the parser counts bytes). */
function statementText(sql: string, loc: number, len: number): { statement: string; statementOffset: number } {
  const bytes = Buffer.from(sql, 'utf8');
  return { statement: bytes.subarray(loc, len > 0 ? loc + len : bytes.length).toString('utf8'), statementOffset: [...bytes.subarray(0, loc).toString('utf8')].length };
}

/** The text of a query's one statement when it is a SELECT (WITH, VALUES and TABLE included), as PostgreSQL's parser
 *  delimits it (no trailing semicolon); undefined for anything else or text that does not parse. The parser must be
 *  loaded (loadParser). */
export function selectStatement(sql: string): string | undefined {
  let tree: { stmts?: { stmt: Node; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = parseSync(sql) as unknown as typeof tree;
  } catch {
    return undefined;
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1 || Object.keys(stmts[0].stmt)[0] !== 'SelectStmt') return undefined;
  return statementText(sql, stmts[0].stmt_location ?? 0, stmts[0].stmt_len ?? 0).statement;
}

/** "line 2, column 3" (or "column 8" on one line) of a 1-based character position, counted in code points as
 *  PostgreSQL counts them. */
export function lineCol(text: string, pos: number): string {
  const before = [...text].slice(0, pos - 1).join('');
  const line = before.split('\n').length;
  const col = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  return line > 1 ? `line ${line}, column ${col}` : `column ${col}`;
}

function fullName(r: FunctionRef): string {
  return r.schema ? `${r.schema}.${r.name}` : r.name;
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

function explainAnalyzes(stmt: Node): boolean {
  const body = stmt.ExplainStmt as Node | undefined;
  if (!body) return false;
  const options = (body.options as { DefElem: { defname: string; arg?: Node } }[] | undefined) ?? [];
  return options.some(o => o.DefElem.defname === 'analyze' && optionTrue(o.DefElem.arg));
}

function classify(stmt: Node): StatementKind {
  const [k, body] = Object.entries(stmt)[0] as [string, Node];
  if (k === 'SelectStmt') {
    if (body.intoClause) throw new Refused('select-into', 'SELECT INTO creates a table and is refused. Run the SELECT alone; to keep a result, use save_as.');
    if (body.lockingClause) throw new Refused('row-locks', 'SELECT ... FOR UPDATE/SHARE takes row locks and is refused (EXPLAIN of it is allowed). Remove the locking clause.');
    return 'select';
  }
  if (k === 'VariableShowStmt') return 'show';
  if (k === 'ExplainStmt') {
    // plain EXPLAIN plans without executing: any statement PostgreSQL can explain is fine
    if (!explainAnalyzes(stmt)) return 'explain';
    const inner = body.query as Node;
    const innerKind = Object.keys(inner)[0];
    if (innerKind === 'SelectStmt') { classify(inner); return 'explain'; }
    throw new Refused('explain-analyze-write', `EXPLAIN ANALYZE would execute a ${stmtName(inner)}, which is refused. Use plain EXPLAIN (it plans without executing). ${ALLOWED_HINT}`);
  }
  throw new Refused('not-read-only', `${stmtName(stmt)} is not allowed: this tool is read-only. ${ALLOWED_HINT}`);
}

/** An EXPLAIN option's value: absent means true; false/off/0/no mean false. */
function optionTrue(arg: Node | undefined): boolean {
  if (!arg) return true;
  const a = (arg.A_Const as Node | undefined) ?? arg;
  if (a.Boolean) return Boolean((a.Boolean as { boolval?: boolean }).boolval);
  if (a.boolval) return Boolean((a.boolval as { boolval?: boolean }).boolval);
  if (a.Integer) return Boolean((a.Integer as { ival?: number }).ival);
  if (a.ival) return Boolean((a.ival as { ival?: number }).ival);
  const s = ((a.String as { sval?: string } | undefined)?.sval ?? (a.sval as { sval?: string } | undefined)?.sval ?? '').toLowerCase();
  return !['false', 'off', '0', 'no'].includes(s);
}

export function matchName(name: string, patterns: readonly string[]): boolean {
  return patterns.some(p => (p.endsWith('*') ? name.startsWith(p.slice(0, -1).toLowerCase()) : name === p.toLowerCase()));
}

function names(list: unknown): string[] {
  return ((list as { String?: { sval: string } }[] | undefined) ?? []).map(p => p.String?.sval ?? '').filter(Boolean);
}

/** Walks the whole tree: data-modifying statements anywhere, every function call against the settings, and
 *  every function and operator collected for the catalog check. Inside a plain EXPLAIN nothing executes. */
function walk(node: unknown, refs: FunctionRef[], policy: GuardPolicy, planOnly: boolean): void {
  if (Array.isArray(node)) { for (const n of node) walk(n, refs, policy, planOnly); return; }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Node)) {
    if (!planOnly) {
      if (k === 'CommonTableExpr') {
        const q = (v as Node).ctequery as Node;
        if (Object.keys(q)[0] !== 'SelectStmt') throw new Refused('writable-cte', `A WITH clause containing ${stmtName(q)} modifies data and is refused. ${ALLOWED_HINT}`);
      }
      if (['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(k)) throw new Refused('not-read-only', `${stmtName({ [k]: v })} is not allowed: this tool is read-only.`);
    }
    if (k === 'FuncCall') {
      const fc = v as { funcname: unknown; args?: Node[]; agg_star?: boolean };
      const parts = names(fc.funcname).map(s => s.toLowerCase());
      const name = parts[parts.length - 1];
      const ref: FunctionRef = { kind: 'function', name, nargs: fc.agg_star ? 0 : (fc.args?.length ?? 0), planOnly };
      if (parts.length > 1) ref.schema = parts[parts.length - 2];
      refs.push(ref);
      checkSetting(ref, policy);
      if (!planOnly && (name === 'pg_sleep' || name === 'pg_sleep_for')) {
        const lit = literalNumber(fc.args?.[0]);
        if (lit !== undefined && lit > policy.timeoutSec) throw new Refused('sleep-over-timeout', `pg_sleep(${lit}) is longer than the ${policy.timeoutSec} s query timeout and is refused.`);
      }
    }
    // operators are functions too: A_Expr (a + b, LIKE, IN, ...), ORDER BY ... USING op, ANY/ALL subqueries
    const opName = k === 'A_Expr' ? (v as Node).name : k === 'SortBy' ? (v as Node).useOp : k === 'SubLink' ? (v as Node).operName : undefined;
    if (opName) {
      const parts = names(opName);
      if (parts.length) refs.push({ kind: 'operator', name: parts[parts.length - 1], schema: parts.length > 1 ? parts[parts.length - 2] : undefined, nargs: 2, planOnly });
    }
    walk(v, refs, policy, planOnly);
  }
}

/** The deny/allow settings and the SQL-as-text list: decided from the name alone, before the query reaches the server. */
function checkSetting(ref: FunctionRef, policy: GuardPolicy): void {
  const full = fullName(ref);
  const is = (patterns: readonly string[]) => matchName(ref.name, patterns) || matchName(full, patterns);
  if (is(SQL_AS_TEXT) || (ref.name === 'ts_rewrite' && ref.nargs === 2)) {
    throw new Refused('sql-as-text-function', `The function ${full}() runs SQL given to it as text (or built from names), which would bypass these checks; it is refused. Write that query directly instead.`);
  }
  if (policy.allowedFunctions) {
    if (!is(policy.allowedFunctions)) throw new Refused('not-allowed-function', `The function ${full}() is not on the allowed list of this connection. Rewrite the query without it.`);
    if (optedIn(ref, policy)) return;
  }
  // changes the server whatever pg_proc says (txid_current is STABLE yet consumes a transaction id)
  if (is(SERVER_STATE)) throw new Refused('server-state-function', serverStateReason(full));
  if (!policy.allowedFunctions && is(policy.deniedFunctions)) {
    throw new Refused('denied-function', `The function ${full}() is refused by this connection's deny list. Rewrite the query without it.`);
  }
}

/** An exact name (no wildcard) in `allowedFunctions`: the administrator's opt-in for that function. */
function optedIn(ref: FunctionRef, policy: GuardPolicy): boolean {
  const full = fullName(ref);
  return !!policy.allowedFunctions?.some(p => !p.endsWith('*') && (p.toLowerCase() === ref.name || p.toLowerCase() === full));
}

function serverStateReason(full: string): string {
  return `The function ${full}() is refused: it changes the server or the session (statistics, locks, notifications, large objects, settings, sequences, index maintenance) or reads outside the database, and READ ONLY does not stop that nor does ROLLBACK undo it. Rewrite the query without it.`;
}

function literalNumber(n: Node | undefined): number | undefined {
  const c = (n as { A_Const?: { ival?: { ival?: number }; fval?: { fval?: string } } } | undefined)?.A_Const;
  if (!c) return undefined;
  if (c.ival) return c.ival.ival ?? 0;
  if (c.fval?.fval) return Number(c.fval.fval);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The catalog check: what the connected database says about each function.

interface ProcInfo { volatile: string; nargs: number; ndefaults: number; variadic: boolean }

/** The server's functions and volatile operators, read once per connection: `pg_proc` by schema and name. */
export class FunctionCatalog {
  private readonly procs = new Map<string, ProcInfo[]>();
  private readonly volatileOps = new Set<string>();
  private readonly types = new Set<string>();

  /** Names whose functions and types are loaded (undefined: every name is). */
  private readonly loaded?: Set<string>;

  /** With `names`, the rows are those of these names only, and more can be added with `add`; without, the rows
   *  are the whole catalog. */
  constructor(readonly searchPath: string[], procRows: unknown[][], volatileOpRows: unknown[][], typeRows: unknown[][] = [], names?: string[]) {
    if (names) this.loaded = new Set();
    this.add(procRows, typeRows, names ?? []);
    for (const [nsp, name] of volatileOpRows) this.volatileOps.add(`${nsp}.${name}`);
  }

  /** The function names of these refs not loaded yet. */
  missing(refs: FunctionRef[]): string[] {
    if (!this.loaded) return [];
    return [...new Set(refs.filter(r => r.kind === 'function' && !r.planOnly && !this.loaded!.has(r.name)).map(r => r.name))];
  }

  add(procRows: unknown[][], typeRows: unknown[][], names: string[]): void {
    for (const n of names) this.loaded?.add(n);
    for (const [nsp, name] of typeRows) this.types.add(`${nsp}.${name}`);
    for (const [nsp, name, vol, nargs, ndef, variadic] of procRows) {
      const key = `${nsp}.${name}`;
      let list = this.procs.get(key);
      if (!list) this.procs.set(key, list = []);
      list.push({ volatile: String(vol), nargs: Number(nargs), ndefaults: Number(ndef), variadic: variadic === true || variadic === 't' });
    }
  }

  /** The SQL that fills a catalog: functions of every schema, volatile operators, and the effective search path. */
  static readonly SQL = {
    procs: `SELECT n.nspname, p.proname, p.provolatile::text, p.pronargs::int4, p.pronargdefaults::int4, p.provariadic <> 0
              FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace`,
    volatileOps: `SELECT n.nspname, o.oprname FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
              JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode WHERE p.provolatile = 'v'`,
    searchPath: `SELECT s::text FROM unnest(pg_catalog.current_schemas(true)) s`,
    types: `SELECT n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace`,
    /** Functions and types of some names only ($1: text[]), in one round trip. */
    byName: `SELECT 'f', n.nspname, p.proname, p.provolatile::text, p.pronargs::int4, p.pronargdefaults::int4, p.provariadic <> 0
               FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ANY($1::text[])
             UNION ALL SELECT 't', n.nspname, t.typname, NULL, NULL, NULL, NULL
               FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = ANY($1::text[])`,
  };

  /** `name(x)` with no such function is a function-style cast when `name` is a type (`regproc('f')`). */
  isType(ref: FunctionRef): boolean {
    const schemas = ref.schema ? [ref.schema] : this.searchPath;
    return ref.nargs === 1 && schemas.some(s => this.types.has(`${s}.${ref.name}`));
  }

  /** Every function PostgreSQL could pick for this call: the name in the schema given, or in every schema of the
   *  search path (pg_catalog included), narrowed to those whose argument count accepts the call (if any does). */
  candidates(ref: FunctionRef): { schema: string; info: ProcInfo }[] {
    const schemas = ref.schema ? [ref.schema === 'pg_temp' ? this.searchPath.find(s => s.startsWith('pg_temp')) ?? 'pg_temp' : ref.schema] : this.searchPath;
    const all = schemas.flatMap(s => (this.procs.get(`${s}.${ref.name}`) ?? []).map(info => ({ schema: s, info })));
    const fits = all.filter(({ info }) => (ref.nargs <= info.nargs && ref.nargs >= info.nargs - info.ndefaults) || (info.variadic && ref.nargs >= info.nargs - 1));
    return fits.length ? fits : all;
  }

  volatileOperator(ref: FunctionRef): boolean {
    const schemas = ref.schema ? [ref.schema] : this.searchPath;
    return schemas.some(s => this.volatileOps.has(`${s}.${ref.name}`));
  }
}

/** The allow-list: every function the query calls must be IMMUTABLE or STABLE for every candidate PostgreSQL could
 *  resolve it to, or a reviewed harmless VOLATILE one of pg_catalog; an exact name in `allowedFunctions` is the
 *  administrator's opt-in. Inside a plain EXPLAIN volatility does not matter: the planner never runs a VOLATILE
 *  function (SQL-as-text functions and the deny list were refused by `checkQuery` already). */
export function checkFunctions(refs: FunctionRef[], cat: FunctionCatalog, policy: GuardPolicy): GuardRefusal | undefined {
  for (const ref of refs) {
    if (ref.planOnly) continue;
    const full = fullName(ref);
    if (ref.kind === 'operator') {
      if (cat.volatileOperator(ref)) return { ok: false, class: 'volatile-operator', reason: `The operator ${full} calls a VOLATILE function, which may change the database; it is refused.` };
      continue;
    }
    if (optedIn(ref, policy)) continue;
    const cands = cat.candidates(ref);
    if (!cands.length) {
      if (cat.isType(ref)) continue; // a cast, written as a call
      return { ok: false, class: 'unknown-function', reason: `The function ${full}() does not exist in this database (searched: ${ref.schema ?? cat.searchPath.join(', ')}). Check the name, or look it up in pg_proc.` };
    }
    const unsafe = cands.filter(c => c.info.volatile === 'v' && !(c.schema === 'pg_catalog' && REVIEWED_VOLATILE.includes(ref.name)));
    if (unsafe.length) {
      if (matchName(ref.name, SERVER_STATE)) return { ok: false, class: 'server-state-function', reason: serverStateReason(full) };
      const where = [...new Set(unsafe.map(c => c.schema))].join(', ');
      return { ok: false, class: 'volatile-function', reason: `The function ${full}() (in ${where}) is VOLATILE: the database does not promise it leaves the server unchanged, so it is refused. Only IMMUTABLE and STABLE functions run, plus a reviewed few (${REVIEWED_VOLATILE.slice(0, 5).join(', ')}, ...). EXPLAIN of the query is allowed.` };
    }
  }
  return undefined;
}
