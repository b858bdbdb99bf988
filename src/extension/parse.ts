/** Text readings behind the editor features, without VS Code (unit-tested): query error positions, the tables of a
 *  statement, Jupyter-style cells. */

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
