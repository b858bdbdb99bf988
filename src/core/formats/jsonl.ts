import type { Readable } from 'node:stream';
import * as readline from 'node:readline';
import type { ColumnInfo } from '../result';

export interface JsonlHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  more: boolean;
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  return 'json';
}

function merge(a: string, b: string): string {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if ((a === 'int64' && b === 'float64') || (a === 'float64' && b === 'int64')) return 'float64';
  return 'json';
}

/** Reads the first rows of a JSON Lines file (one object per line), stopping as soon as it has them. */
export async function readJsonlHead(stream: Readable, o: { nRows: number; columns?: string[] }): Promise<JsonlHead> {
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const objects: Record<string, unknown>[] = [];
  let more = false;
  let lineNo = 0;
  try {
    for await (const line of rl) {
      lineNo++;
      if (!line.trim()) continue;
      if (objects.length >= o.nRows) { more = true; break; }
      let v: unknown;
      try { v = JSON.parse(line); } catch (e) { throw new Error(`line ${lineNo} is not valid JSON (${(e as Error).message})`); }
      objects.push(v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : { value: v });
    }
  } finally {
    rl.close();
    stream.destroy();
  }
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of objects) for (const k of Object.keys(r)) if (!seen.has(k)) { seen.add(k); names.push(k); }
  let use = names;
  if (o.columns) {
    const missing = o.columns.filter(c => !seen.has(c));
    if (missing.length && objects.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the rows read have ${names.join(', ')}`);
    use = o.columns;
  }
  const types = use.map(n => objects.reduce((t, r) => merge(t, kindOf(r[n])), 'null'));
  return {
    columns: use.map((n, i) => ({ name: n, type: types[i] === 'null' ? 'string' : types[i] })),
    rows: objects.map(r => use.map(n => { const v = r[n]; return v !== null && typeof v === 'object' ? JSON.stringify(v) : v ?? null; })),
    more,
  };
}
