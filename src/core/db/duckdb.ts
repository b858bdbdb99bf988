// DuckDB as a database engine: `duckdb:` (in memory; its SQL reads the data files under the allowed roots) or
// `duckdb:///abs/path/file.duckdb` (opened READ_ONLY). Confinement is DuckDB's own: the settings below are set when
// the instance opens and locked (lock_configuration) before any statement of the user runs; every statement is
// also checked with DuckDB's own parser (one statement, its prepared statement type) and runs inside a
// READ ONLY transaction that is rolled back.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolError } from '../result';
import { dateString, decimalString, timestampString } from '../formats/parquet';
import { BATCH_ROWS, FIRST_BATCH_ROWS, QueryTimeout, RowTooLarge, type ByteBudget, type Database, type Field, type RawResult, type RowSink, type Run } from './types';
import type * as Duck from '@duckdb/node-api';

type DuckApi = typeof import('@duckdb/node-api');
let api: DuckApi | undefined;
/** Loaded on first use: the native binding is only needed when a DuckDB connection is used. */
function duck(): DuckApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (api ??= require('@duckdb/node-api') as DuckApi);
}

/** What a `duckdb:` URL names: an in-memory database, or a database file (absolute path). */
export function parseDuckUrl(url: string): { file?: string } {
  if (!/^duckdb:/i.test(url)) throw new ToolError(`"${url}" is not a duckdb: URL.`);
  const rest = url.slice('duckdb:'.length);
  if (rest === '' || rest === '//' || rest === ':memory:' || rest === '///:memory:') return {};
  if (!rest.startsWith('///')) throw new ToolError('A DuckDB URL is duckdb: (in memory, reading the files under the allowed folders) or duckdb:///absolute/path/file.duckdb (opened read-only).');
  let file: string;
  try { file = decodeURIComponent(rest.slice(2)); } catch { throw new ToolError('The DuckDB URL has a malformed %-escape.'); }
  if (!path.isAbsolute(file)) throw new ToolError('The DuckDB file path must be absolute: duckdb:///absolute/path/file.duckdb.');
  return { file: path.normalize(file) };
}

export const isDuckUrl = (url: string | undefined): boolean => !!url && /^duckdb:/i.test(url);

/** A statement kind the check admits: SELECT (and what DuckDB plans as one: DESCRIBE, SHOW, SUMMARIZE, FROM-first,
 *  VALUES, reading PRAGMAs such as table_info) and EXPLAIN of such a statement. */
export type DuckStatement = 'select' | 'explain';

/** Leading words refused before anything is prepared, with the reason given. */
const REFUSED_WORDS: Record<string, string> = {
  copy: 'COPY reads or writes files outside the query; select from read_csv/read_parquet instead (save_as writes a result)',
  export: 'EXPORT DATABASE writes files',
  import: 'IMPORT DATABASE changes the database',
  attach: 'ATTACH opens another database',
  detach: 'DETACH changes the attached databases',
  install: 'INSTALL downloads or installs an extension',
  force: 'FORCE INSTALL installs an extension',
  load: 'LOAD loads an extension',
  update: 'UPDATE writes',
  set: 'SET changes settings (the engine settings are locked)',
  reset: 'RESET changes settings (the engine settings are locked)',
  create: 'CREATE changes the database (CREATE SECRET stores credentials)',
  insert: 'INSERT writes',
  delete: 'DELETE writes',
  drop: 'DROP changes the database',
  alter: 'ALTER changes the database',
  truncate: 'TRUNCATE writes',
  merge: 'MERGE writes',
  begin: 'transaction control is the tool\'s own (every query runs in a read-only transaction)',
  start: 'transaction control is the tool\'s own',
  commit: 'transaction control is the tool\'s own',
  rollback: 'transaction control is the tool\'s own',
  abort: 'transaction control is the tool\'s own',
  end: 'transaction control is the tool\'s own',
  checkpoint: 'CHECKPOINT writes the database file',
  vacuum: 'VACUUM changes the database',
  analyze: 'ANALYZE changes statistics',
  use: 'USE changes the session',
  call: 'CALL runs a procedure; use SELECT * FROM function(...) for a table function',
  prepare: 'PREPARE/EXECUTE are not needed: pass params',
  execute: 'PREPARE/EXECUTE are not needed: pass params',
  deallocate: 'PREPARE/EXECUTE are not needed',
  pivot_wider: 'not a read',
};
/** Functions refused by name wherever they appear in the text (credentials). */
const REFUSED_FUNCTIONS = /\b(duckdb_secrets|which_secret|duckdb_secret_types)\b/i;
/** Table functions with side effects that DuckDB's parser types as a plain SELECT: they write files (the log and
 *  profile outputs, even under the read-only roots; one pointed outside the roots aborts the process with an
 *  exception DuckDB does not hand back), change settings past lock_configuration, or checkpoint; `query` and
 *  `query_table` run SQL built from strings, past every check of the text. Refused wherever a call of one appears
 *  (quoted or not, comments before its parenthesis included), also inside string literals: a refusal too many is
 *  safe, one too few is not. */
const SIDE_EFFECT_CALL = /\b"?(enable_logging|disable_logging|truncate_duckdb_logs|enable_profiling|disable_profiling|enable_peg_parser|disable_peg_parser|checkpoint|force_checkpoint|query|query_table)"?(?:\s|\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$))*\(/i;

/** The query's first keyword after comments and white space, and where the text after it starts. */
function firstWord(sql: string, from = 0): { word: string; end: number } | undefined {
  let i = from;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) { const n = sql.indexOf('\n', i); i = n < 0 ? sql.length : n + 1; continue; }
    if (sql.startsWith('/*', i)) { const n = sql.indexOf('*/', i + 2); if (n < 0) return undefined; i = n + 2; continue; }
    break;
  }
  const m = /^[A-Za-z_]+/.exec(sql.slice(i));
  return m ? { word: m[0].toLowerCase(), end: i + m[0].length } : undefined;
}

const STATEMENT_TYPE_REASON: Record<string, string> = {
  INSERT: 'INSERT writes', UPDATE: 'UPDATE writes', DELETE: 'DELETE writes', MERGE_INTO: 'MERGE writes',
  CREATE: 'CREATE changes the database', CREATE_FUNC: 'CREATE FUNCTION changes the database', DROP: 'DROP changes the database',
  ALTER: 'ALTER changes the database', COPY: 'COPY reads or writes files outside the query', COPY_DATABASE: 'COPY DATABASE writes',
  EXPORT: 'EXPORT DATABASE writes files', ATTACH: 'ATTACH opens another database', DETACH: 'DETACH changes the attached databases',
  LOAD: 'INSTALL/LOAD installs or loads an extension', EXTENSION: 'extensions cannot be changed', UPDATE_EXTENSIONS: 'extensions cannot be changed',
  SET: 'SET/RESET changes settings (the engine settings are locked)', VARIABLE_SET: 'SET VARIABLE changes the session',
  PRAGMA: 'this PRAGMA changes settings (reading PRAGMAs such as table_info are allowed)', TRANSACTION: 'transaction control is the tool\'s own',
  CALL: 'CALL runs a procedure; use SELECT * FROM function(...)', VACUUM: 'VACUUM changes the database', ANALYZE: 'ANALYZE changes statistics',
  PREPARE: 'PREPARE is not needed: pass params', EXECUTE: 'EXECUTE is not needed: pass params', MULTI: 'exactly one statement is allowed',
};

export type DuckRow = unknown[];

/** One DuckDB database (an instance) for the server's life; one connection per call, so an interrupt stops that
 *  call only. */
export class DuckDBDatabase implements Database {
  readonly kind = 'duckdb' as const;
  readonly label: string;
  readonly inMemory: boolean;
  private instance?: Promise<Duck.DuckDBInstance>;
  private tempDir?: string;

  /** `roots`: the readable folders (real paths); the first one is where relative paths resolve. */
  constructor(url: string, readonly roots: readonly string[]) {
    const { file } = parseDuckUrl(url);
    this.file = file;
    this.inMemory = !file;
    this.label = file ? `duckdb ${file} (read-only)` : 'duckdb (in memory, files under the allowed folders)';
  }
  readonly file?: string;

  private open(): Promise<Duck.DuckDBInstance> {
    this.instance ??= (async () => {
      const d = duck();
      const options: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', allow_persistent_secrets: 'false', allow_community_extensions: 'false' };
      if (this.file) {
        if (!fs.existsSync(this.file)) throw new ToolError(`Cannot open the DuckDB file ${this.file}: it does not exist (a duckdb:/// file is opened read-only, never created).`);
        options.access_mode = 'READ_ONLY';
      }
      const inst = await d.DuckDBInstance.create(this.file ?? ':memory:', options);
      const c = await inst.connect();
      try {
        // spill files go to a private folder, never to the current directory (DuckDB adds it to the allowed ones)
        this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'datatools-duckdb-'));
        const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
        const dirs = this.roots.map(r => (r.endsWith(path.sep) ? r : r + path.sep));
        for (const sql of [
          `SET temp_directory = ${lit(this.tempDir)}`,
          // values and zone-less literals never depend on the host's zone (as PostgreSQL's session is pinned to UTC)
          "SET GLOBAL TimeZone = 'UTC'",
          `SET allowed_directories = [${dirs.map(lit).join(', ')}]`,
          ...(this.roots.length ? [`SET file_search_path = ${lit(this.roots[0])}`] : []),
          'SET enable_external_access = false',
          'SET lock_configuration = true',
        ]) await c.run(sql);
        const check = await c.runAndReadAll(`SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('autoload_known_extensions'), current_setting('autoinstall_known_extensions')`);
        const got = check.getRows()[0] as unknown[];
        if (String(got[0]) !== 'false' || String(got[1]) !== 'true' || String(got[2]) !== 'false' || String(got[3]) !== 'false') {
          throw new ToolError(`Refused: the DuckDB confinement settings did not take (${got.map(String).join(', ')}).`);
        }
      } catch (e) {
        c.closeSync();
        inst.closeSync();
        throw e;
      }
      c.closeSync();
      return inst;
    })();
    this.instance.catch(() => { this.instance = undefined; });
    return this.instance;
  }

  /** Checks one statement with DuckDB's parser: exactly one, of a kind that only reads. Returns its kind. */
  async check(conn: Duck.DuckDBConnection, sql: string): Promise<DuckStatement> {
    if (REFUSED_FUNCTIONS.test(sql)) throw new ToolError('Refused: the secrets functions (duckdb_secrets, which_secret) are not available.');
    const side = SIDE_EFFECT_CALL.exec(sql);
    if (side) throw new ToolError(`Refused: ${side[1].toLowerCase()}() ${/^query/i.test(side[1]) ? 'runs SQL given as a string, which the read-only check cannot see' : 'changes the engine or writes files (logging, profiling, the parser, checkpoints)'}; it is not available on this read-only connection. Write the SQL itself.`);
    let extracted: Duck.DuckDBExtractedStatements;
    try { extracted = await conn.extractStatements(sql); } catch (e) { throw duckError(e, false, this.roots); }
    if (extracted.count === 0) throw new ToolError('Refused: the query holds no statement.');
    if (extracted.count > 1) throw new ToolError(`Refused: exactly one statement is allowed; the query holds ${extracted.count}. Run them one at a time.`);
    const w = firstWord(sql);
    if (w && Object.hasOwn(REFUSED_WORDS, w.word)) throw new ToolError(`Refused: ${REFUSED_WORDS[w.word]}. Only SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, reading PRAGMAs and EXPLAIN run here; the database is read-only.`);
    let explain = false;
    if (w?.word === 'explain') {
      // EXPLAIN [ANALYZE] runs (ANALYZE) or plans the statement after it: that statement must itself pass
      const next = firstWord(sql, w.end);
      const inner = sql.slice(next?.word === 'analyze' || next?.word === 'analyse' ? next.end : w.end);
      const k = await this.check(conn, inner);
      if (k !== 'select') throw new ToolError('Refused: EXPLAIN of an EXPLAIN.');
      explain = true;
    }
    let p: Duck.DuckDBPreparedStatement;
    try { p = await extracted.prepare(0); } catch (e) { throw duckError(e, false, this.roots); }
    const type = duck().StatementType[p.statementType];
    p.destroySync();
    if (type === 'SELECT' && !explain) return 'select';
    if (type === 'EXPLAIN' && explain) return 'explain';
    throw new ToolError(`Refused: ${STATEMENT_TYPE_REASON[type] ?? `a ${type} statement is not a read`}. Only SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, reading PRAGMAs and EXPLAIN run here.`);
  }

  /** One call on its own connection, inside BEGIN TRANSACTION READ ONLY ... ROLLBACK, with a deadline that interrupts it. */
  async session<T>(timeoutMs: number, signal: AbortSignal, fn: (s: DuckSession) => Promise<T>): Promise<T> {
    const inst = await this.open();
    const conn = await inst.connect();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => conn.interrupt();
    try {
      await conn.run('BEGIN TRANSACTION READ ONLY');
      signal.addEventListener('abort', onAbort, { once: true });
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => { conn.interrupt(); reject(new QueryTimeout(timeoutMs)); }, Math.max(1, timeoutMs));
      });
      const s = new DuckSession(this, conn, () => signal.aborted);
      const p = fn(s);
      p.catch(() => undefined);
      const out = await Promise.race([p, deadline]);
      return out;
    } catch (e) {
      if (signal.aborted && !(e instanceof QueryTimeout) && !(e instanceof ToolError)) throw new ToolError('The query was cancelled.');
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try { await conn.run('ROLLBACK'); } catch { /* interrupted: nothing to keep */ }
      conn.closeSync();
    }
  }

  readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>, budget?: ByteBudget): Promise<T> {
    return this.session(timeoutMs, signal, s => fn((sql, params, onRows) => s.query(sql, params, { budget, onRows })));
  }

  async dispose(): Promise<void> {
    const i = this.instance;
    this.instance = undefined;
    if (i) { try { (await i).closeSync(); } catch { /* failed to open */ } }
    if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}

export interface DuckResult extends RawResult {
  /** Set when the rows were cut at `maxRows`: more rows followed. */
  more?: boolean;
}

export class DuckSession {
  constructor(readonly db: DuckDBDatabase, readonly conn: Duck.DuckDBConnection, private readonly aborted: () => boolean) {}

  check(sql: string): Promise<DuckStatement> { return this.db.check(this.conn, sql); }

  /** Runs one statement, streaming its chunks: stops after `maxRows` (with `more` set when a row followed), at the
   *  result byte budget (`stopped`), or with RowTooLarge at a row over the row budget. */
  async query(sql: string, params: unknown[] | undefined, o: { budget?: ByteBudget; onRows?: RowSink; maxRows?: number; onFields?: (f: Field[]) => void } = {}): Promise<DuckResult> {
    let res: Duck.DuckDBResult;
    try {
      res = params?.length ? await this.conn.stream(sql, params.map(toDuckParam)) : await this.conn.stream(sql);
    } catch (e) { throw duckError(e, this.aborted(), this.db.roots); }
    const n = res.columnCount;
    const types: Duck.DuckDBType[] = [];
    const fields: Field[] = [];
    for (let i = 0; i < n; i++) {
      const t = res.columnType(i);
      types.push(t);
      fields.push({ name: res.columnName(i), dataTypeID: t.typeId, typeName: typeName(t) });
    }
    o.onFields?.(fields);
    const convs = types.map(converter);
    const rows: unknown[][] = [];
    let sent = 0;
    let bytes = 0;
    const flush = async () => {
      if (!o.onRows || sent >= rows.length) return;
      const batch = rows.slice(sent);
      sent = rows.length;
      await o.onRows(batch);
    };
    const cap = o.maxRows ?? Infinity;
    for (;;) {
      let chunk: Duck.DuckDBDataChunk | null;
      try { chunk = await res.fetchChunk(); } catch (e) { throw duckError(e, this.aborted(), this.db.roots); }
      if (!chunk || chunk.rowCount === 0) {
        // an interrupted query ends its stream early with an empty chunk: that is not the end of its rows
        if (this.aborted()) throw new ToolError('The query was cancelled.');
        break;
      }
      const raw = chunk.getRows();
      for (const r of raw) {
        if (rows.length >= cap) { await flush(); return { fields, rows, more: true }; }
        const row = r.map((v, i) => convs[i](v));
        if (o.budget) {
          const size = rowBytes(row);
          if (size > o.budget.maxRowBytes) throw new RowTooLarge(rows.length + 1, size, o.budget.maxRowBytes);
          if (bytes + size > o.budget.maxResultBytes) {
            await flush();
            return { fields, rows, stopped: { atRow: rows.length + 1, bytes, limitBytes: o.budget.maxResultBytes } };
          }
          bytes += size;
        }
        rows.push(row);
        if (o.onRows && rows.length - sent >= (sent === 0 ? FIRST_BATCH_ROWS : BATCH_ROWS)) await flush();
      }
    }
    await flush();
    return { fields, rows };
  }
}

/** A parameter as DuckDB takes it: integers that fit as BIGINT/INTEGER by value (DuckDB casts as needed). */
function toDuckParam(v: unknown): Duck.DuckDBValue {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v as Duck.DuckDBValue;
}

/** A DuckDB error as a tool error: DuckDB's own message (its kind, text and the position it marks). */
export function duckError(e: unknown, aborted = false, roots: readonly string[] = []): Error {
  if (e instanceof ToolError || e instanceof QueryTimeout || e instanceof RowTooLarge) return e;
  const msg = (e as Error)?.message ?? String(e);
  if (/^INTERRUPT Error/i.test(msg) || /Interrupted/i.test(msg)) return aborted ? new ToolError('The query was cancelled.') : new ToolError(`DuckDB: ${msg}`);
  const rel = /^Permission Error: Cannot access (?:file|directory) "([^"]*)"/.exec(msg);
  if (rel && !path.isAbsolute(rel[1]) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(rel[1])) {
    return new ToolError(`Refused by DuckDB: the relative path "${rel[1]}" cannot be read under DuckDB's confinement, which checks paths as written; write it in full${roots[0] ? `, e.g. '${path.join(roots[0], rel[1])}'` : ''} (files under ${roots.length ? roots.join(', ') : 'the allowed folders'} can be read).`);
  }
  if (/^Permission Error/i.test(msg)) return new ToolError(`Refused by DuckDB: ${msg.split('\n')[0]} (only files under the allowed folders can be read; the engine is read-only).`);
  return new ToolError(`DuckDB ${msg.replace(/\n+$/, '')}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Values: DuckDB values into the value model (src/core/values.ts)

type Conv = (v: unknown) => unknown;

/** The column's type name as DuckDB spells it, in lower case for the value model's logicalType
 *  ("decimal(18,3)", "timestamp with time zone", "integer[]", "struct(a integer)"). */
export function typeName(t: Duck.DuckDBType): string {
  return t.toString().toLowerCase();
}

const pad = (n: number | bigint, w = 2) => String(n < 0 ? -n : n).padStart(w, '0');
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN_INF = -I64_MAX; // DuckDB's -infinity timestamp
const DATE_INF = 2 ** 31 - 1;

function timeText(v: bigint, perSecond: bigint): string {
  const secs = Number(v / perSecond);
  const frac = v % perSecond;
  const digits = String(perSecond).length - 1;
  const f = frac ? `.${String(frac).padStart(digits, '0').replace(/0+$/, '')}` : '';
  return `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}${f}`;
}

function offsetText(seconds: number): string {
  const s = Math.abs(seconds);
  const sec = s % 60;
  return `${seconds < 0 ? '-' : '+'}${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}${sec ? `:${pad(sec)}` : ''}`;
}

/** An interval as ISO 8601 with each part's own sign, as PostgreSQL's iso_8601 style writes it. */
export function intervalText(months: number, days: number, micros: bigint): string {
  const y = Math.trunc(months / 12);
  const mo = months % 12;
  const neg = micros < 0n;
  const m = neg ? -micros : micros;
  const h = m / 3_600_000_000n;
  const mi = (m / 60_000_000n) % 60n;
  const us = m % 60_000_000n;
  const sgn = neg ? '-' : '';
  const sec = us ? `${sgn}${us / 1_000_000n}${us % 1_000_000n ? `.${String(us % 1_000_000n).padStart(6, '0').replace(/0+$/, '')}` : ''}S` : '';
  const date = `${y ? `${y}Y` : ''}${mo ? `${mo}M` : ''}${days ? `${days}D` : ''}`;
  const time = `${h ? `${sgn}${h}H` : ''}${mi ? `${sgn}${mi}M` : ''}${sec}`;
  return !date && !time ? 'PT0S' : `P${date}${time ? `T${time}` : ''}`;
}

function tsText(v: bigint, perSecond: bigint, utc: boolean): string {
  if (v === I64_MAX) return 'infinity';
  if (v === I64_MIN_INF) return '-infinity';
  return timestampString(v, perSecond, utc);
}

const bytesOf = (v: unknown) => (v as { bytes: Uint8Array }).bytes;

/** The converter of one column type. */
export function converter(t: Duck.DuckDBType): Conv {
  const { DuckDBTypeId: T } = duck();
  const nul = (f: Conv): Conv => v => (v === null || v === undefined ? null : f(v));
  switch (t.typeId) {
    case T.BOOLEAN: case T.TINYINT: case T.SMALLINT: case T.INTEGER: case T.UTINYINT: case T.USMALLINT: case T.UINTEGER:
    case T.FLOAT: case T.DOUBLE: case T.VARCHAR:
      return nul(v => v);
    case T.BIGINT: case T.UBIGINT: case T.HUGEINT: case T.UHUGEINT: case T.BIGNUM:
      return nul(v => (typeof v === 'bigint' ? v : BigInt(v as number)));
    case T.DECIMAL: return nul(v => { const d = v as Duck.DuckDBDecimalValue; return decimalString(d.value, d.scale); });
    case T.DATE: return nul(v => {
      const d = (v as Duck.DuckDBDateValue).days;
      return d === DATE_INF ? 'infinity' : d === -DATE_INF ? '-infinity' : dateString(d);
    });
    case T.TIME: return nul(v => timeText((v as Duck.DuckDBTimeValue).micros, 1_000_000n));
    case T.TIME_NS: return nul(v => timeText((v as { nanos: bigint }).nanos, 1_000_000_000n));
    case T.TIME_TZ: return nul(v => { const x = v as Duck.DuckDBTimeTZValue; return `${timeText(x.micros, 1_000_000n)}${offsetText(x.offset)}`; });
    case T.TIMESTAMP: return nul(v => tsText((v as Duck.DuckDBTimestampValue).micros, 1_000_000n, false));
    case T.TIMESTAMP_S: return nul(v => tsText((v as Duck.DuckDBTimestampSecondsValue).seconds, 1n, false));
    case T.TIMESTAMP_MS: return nul(v => tsText((v as Duck.DuckDBTimestampMillisecondsValue).millis, 1000n, false));
    case T.TIMESTAMP_NS: return nul(v => tsText((v as Duck.DuckDBTimestampNanosecondsValue).nanos, 1_000_000_000n, false));
    case T.TIMESTAMP_TZ: return nul(v => tsText((v as Duck.DuckDBTimestampTZValue).micros, 1_000_000n, true));
    case T.INTERVAL: return nul(v => { const x = v as Duck.DuckDBIntervalValue; return intervalText(x.months, x.days, x.micros); });
    case T.BLOB: return nul(v => bytesOf(v));
    case T.UUID: case T.ENUM: return nul(v => String(v));
    case T.BIT: return nul(v => String(v));
    case T.LIST: case T.ARRAY: {
      const el = converter((t as Duck.DuckDBListType | Duck.DuckDBArrayType).valueType);
      return nul(v => (v as { items: unknown[] }).items.map(el));
    }
    case T.STRUCT: {
      const st = t as Duck.DuckDBStructType;
      // the driver builds a struct as a plain object: a field named __proto__ is lost there, so it is refused
      if (st.entryNames.includes('__proto__')) throw new ToolError('Refused: a struct field named __proto__ cannot be read exactly here; rename it in the query (e.g. struct_pack(proto := ...)).');
      const convs = new Map(st.entryNames.map((n, i) => [n, converter(st.entryTypes[i])]));
      return nul(v => {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries((v as Duck.DuckDBStructValue).entries)) out[k] = (convs.get(k) ?? (y => y))(x);
        return out;
      });
    }
    case T.MAP: {
      const mt = t as Duck.DuckDBMapType;
      const kc = converter(mt.keyType); const vc = converter(mt.valueType);
      return nul(v => (v as Duck.DuckDBMapValue).entries.map(e => [kc(e.key), vc(e.value)]));
    }
    case T.UNION: {
      const ut = t as Duck.DuckDBUnionType;
      const convs = new Map(ut.memberTags.map((n, i) => [n, converter(ut.memberTypes[i])]));
      // a union as a one-key object {tag: value}: the member it holds is kept
      return nul(v => { const u = v as Duck.DuckDBUnionValue; return { [u.tag]: (convs.get(u.tag) ?? (y => y))(u.value) }; });
    }
    case T.SQLNULL: return () => null;
    default: {
      const name = typeName(t);
      if (name === 'geometry' || /^geometry/.test(name)) return nul(v => bytesOf(v));
      return () => { throw new ToolError(`Refused: DuckDB type ${t.toString()} cannot be returned exactly; cast the column (e.g. ::VARCHAR or to_json(col)).`); };
    }
  }
}

/** A converted row's size, counted as the text and bytes it holds (8 bytes a number). */
function rowBytes(row: unknown[]): number {
  let n = 0;
  const add = (v: unknown): void => {
    if (v === null || v === undefined) { n += 1; return; }
    if (typeof v === 'string') { n += v.length * (/[^\x00-\x7f]/.test(v) ? 3 : 1); return; }
    if (typeof v !== 'object') { n += 8; return; }
    if (v instanceof Uint8Array) { n += v.length; return; }
    if (Array.isArray(v)) { for (const x of v) add(x); n += 2; return; }
    for (const [k, x] of Object.entries(v)) { n += k.length; add(x); }
  };
  for (const v of row) add(v);
  return n;
}
