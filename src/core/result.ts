/** What a tool hands back: a compact text for the model, plus structured parts that front ends render. */

export interface ColumnInfo {
  name: string;
  /** A database or inferred type name, e.g. "int4", "text", "float64". */
  type: string;
}

export interface TablePart {
  kind: 'table';
  title?: string;
  columns: ColumnInfo[];
  rows: unknown[][];
  /** Rows the source holds, where known (may exceed rows.length). */
  totalRows?: number;
  truncated: boolean;
  /** The id of the stored whole table (src/core/store.ts), set by the host; page it with get_result. */
  resultId?: string;
  /** Rows in the stored result (exact), where `rows` is only a first window of it. */
  storedRows?: number;
  /** Where `rows` starts in the (filtered, sorted) stored result, for a window get_result returned; totalRows then
   *  counts the matching rows. */
  offset?: number;
}

export interface ImagePart {
  kind: 'image';
  mimeType: 'image/png' | 'image/svg+xml' | 'image/jpeg';
  /** base64 */
  data: string;
  title?: string;
}

export interface StreamPart {
  kind: 'stream';
  name: 'stdout' | 'stderr';
  text: string;
  /** Bytes dropped past the output cap. */
  droppedBytes?: number;
}

export interface ErrorPart {
  kind: 'error';
  name: string;
  value: string;
  traceback: string;
}

export interface FilePart {
  kind: 'file';
  path: string;
  mimeType?: string;
  bytes?: number;
  description?: string;
}

export interface HtmlPart {
  kind: 'html';
  /** Shown as text-safe markup only by the webview's sanitiser; never executed. */
  html: string;
}

export interface JsonPart {
  kind: 'json';
  value: unknown;
}

export type ResultPart = TablePart | ImagePart | StreamPart | ErrorPart | FilePart | HtmlPart | JsonPart;

export interface ToolResult {
  /** Compact, self-describing text for the model. */
  text: string;
  isError?: boolean;
  parts: ResultPart[];
  /** For the audit log. */
  metrics?: { rows?: number; bytes?: number };
}

export function textResult(text: string, parts: ResultPart[] = [], metrics?: ToolResult['metrics']): ToolResult {
  return { text, parts, metrics };
}

export function errorResult(text: string, parts: ResultPart[] = []): ToolResult {
  return { text, isError: true, parts };
}

/** An error whose message is written for the agent: what was wrong and what to do. Anything else a handler
 *  throws is reported as an internal error without its stack. */
export class ToolError extends Error {
  constructor(message: string, readonly parts: ResultPart[] = []) {
    super(message);
    this.name = 'ToolError';
  }
}
