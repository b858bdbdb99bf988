import type { AnyTool } from './tool';
import { executeCode, getEnvironment, installPackage, runScript } from './tools/exec';
import { describeTable, executeQuery, getSchema, getTableSample, listTables } from './tools/db';
import { getResult } from './tools/results';
import { listFiles, readCsv, readFile, readParquet, writeFile } from './tools/files';

/** Every tool, written once; MCP, the LM tools API, @data and commands all serve this list. */
export const CATALOG: readonly AnyTool[] = [
  executeCode, installPackage, runScript, getEnvironment,
  executeQuery, getSchema, listTables, getTableSample, describeTable,
  readFile, readCsv, readParquet, listFiles, writeFile,
  getResult,
] as unknown as readonly AnyTool[];
