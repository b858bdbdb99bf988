import type { z } from 'zod';
import type { DataToolsConfig } from './config';
import type { Capability } from './roles';
import type { ColumnInfo, ToolResult } from './result';
import type { Services } from './services';
import type { ResultStore } from './store';

export type Caller = 'copilot' | 'chat' | 'command' | 'explorer' | 'mcp' | 'test';

export interface ToolContext {
  config: DataToolsConfig;
  services: Services;
  signal: AbortSignal;
  caller: Caller;
  /** The result store of the host (get_result reads it); absent in contexts that do not store results. */
  results?: ResultStore;
  /** Streamed output while a tool runs (stdout of code, progress), if the front end shows it. */
  onProgress?: (event: { kind: 'stdout' | 'stderr' | 'status'; text: string }) => void;
  /** Rows of a table as they arrive (a streamed query), before the call ends, if the front end shows them early.
   *  Optional and extra: the final result still carries every row. `columns` are the table's final columns. A returned
   *  promise pauses the reading of more rows until it settles (e.g. while the first rows are painted). */
  onRows?: (event: { columns: ColumnInfo[]; rows: unknown[][] }) => void | Promise<void>;
}

export interface Confirmation {
  title: string;
  /** Markdown shown to the user before the tool runs. */
  message: string;
}

export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Short human title, e.g. "Execute Python code". */
  title: string;
  /** Written for a model: what it does, when to use it, its limits. */
  description: string;
  /** A strict object schema: unknown fields are refused. */
  input: S;
  capability: Capability;
  /** Hints for MCP clients and VS Code. */
  readOnly: boolean;
  /** Confirmation shown before the tool runs (code, scripts, installs, writes). */
  confirm?: (input: z.output<S>, config: DataToolsConfig) => Confirmation;
  /** A one-line summary of the call, shown while it runs. */
  summary: (input: z.output<S>) => string;
  handler: (input: z.output<S>, ctx: ToolContext) => Promise<ToolResult>;
}

/** Keeps `input` and `handler` in step when a definition is written. */
export function defineTool<S extends z.ZodType>(def: ToolDefinition<S>): ToolDefinition<S> {
  return def;
}

export type AnyTool = ToolDefinition<z.ZodType>;
