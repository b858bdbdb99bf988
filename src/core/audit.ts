import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Caller } from './tool';
import type { Role } from './config';

export type Outcome = 'ok' | 'error' | 'refused' | 'invalid' | 'cancelled';

export interface AuditEntry {
  time: string;
  role: Role;
  caller: Caller;
  tool: string;
  input: unknown;
  outcome: Outcome;
  error?: string;
  durationMs: number;
  rows?: number;
  bytes?: number;
  /** An id the Runs view uses to reopen the result. */
  id: string;
  /** Over MCP HTTP: the MCP session and the subject of its token (a token's name or a JWT's `sub`; never the token). */
  session?: string;
  subject?: string;
}

const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|credential|authorization/i;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):([^@/\s]+)@/gi;
const REDACTED = '***';
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Removes secrets from anything about to be logged or shown: known secret values, passwords in URLs,
 *  and values of fields whose names say they are secret. */
export class Redactor {
  private secrets: string[];
  constructor(secrets: string[] = []) {
    this.secrets = [...new Set(secrets.filter(s => s && s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  add(...secrets: (string | undefined)[]): void {
    this.pattern = undefined;
    this.secrets = [...new Set([...this.secrets, ...secrets.filter((s): s is string => !!s && s.length >= 4)])]
      .sort((a, b) => b.length - a.length);
  }

  /** Case-insensitive: servers echo secrets folded (PostgreSQL lower-cases an unquoted identifier in its errors). */
  text(s: string): string {
    // (fast path for the many cell values with nothing to redact: a URL password needs "://", a secret a match)
    let out = s.includes('://') ? s.replace(URL_PASSWORD, `$1:${REDACTED}@`) : s;
    if (!this.pattern && this.secrets.length) {
      this.pattern = new RegExp(this.secrets.map(escapeRegExp).join('|'), 'gi');
      this.probe = new RegExp(this.pattern.source, 'i');
    }
    return this.pattern && this.probe!.test(out) ? out.replace(this.pattern, REDACTED) : out;
  }

  private pattern?: RegExp;
  private probe?: RegExp;

  /** Strings anywhere in plain objects and arrays; typed arrays, bigints and other values pass unchanged. */
  value(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') return this.text(v);
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      // an array with nothing to redact is returned as it is (a million rows are not copied for nothing)
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        const y = this.value(x, depth + 1);
        if (!out && !Object.is(x, y)) out = v.slice(0, i);
        if (out) out.push(y);
      }
      return out ?? v;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = SECRET_KEY.test(k) && x !== undefined && x !== null && x !== '' ? REDACTED : this.value(x, depth + 1);
    }
    return out;
  }
}

/** Long inputs (code, file contents) are cut in the log: enough to see what was asked, bounded in size. */
function clip(v: unknown, max = 4000): unknown {
  if (typeof v === 'string') return v.length > max ? `${v.slice(0, max)}… [${v.length - max} more chars]` : v;
  if (Array.isArray(v)) return v.slice(0, 100).map(x => clip(x, max));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clip(x, max)]));
  return v;
}

/** Append-only JSON-lines audit log: one line per tool call. */
export class AuditLog {
  private listeners = new Set<(e: AuditEntry) => void>();
  constructor(readonly file: string, readonly redactor: Redactor) {}

  record(entry: AuditEntry): AuditEntry {
    const safe: AuditEntry = {
      ...entry,
      input: clip(this.redactor.value(entry.input)),
      error: entry.error === undefined ? undefined : this.redactor.text(entry.error),
    };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.appendFileSync(this.file, JSON.stringify(safe) + '\n', { mode: 0o600 });
    } catch (e) {
      // the audit log must never break a tool call; the failure is reported once on stderr
      if (!this.warned) { this.warned = true; process.stderr.write(`datatools: cannot write audit log ${this.file}: ${(e as Error).message}\n`); }
    }
    for (const l of this.listeners) l(safe);
    return safe;
  }
  private warned = false;

  onRecord(l: (e: AuditEntry) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The last `n` entries, newest first. */
  tail(n: number): AuditEntry[] {
    let text: string;
    try { text = fs.readFileSync(this.file, 'utf8'); } catch { return []; }
    const lines = text.split('\n').filter(Boolean).slice(-n).reverse();
    const out: AuditEntry[] = [];
    for (const l of lines) { try { out.push(JSON.parse(l) as AuditEntry); } catch { /* a torn line is skipped */ } }
    return out;
  }
}
