import { z } from 'zod';
import { defineTool } from '../tool';
import { notYet } from './common';

const timeout = z.number().positive().max(3600).optional()
  .describe('Wall-clock limit in seconds (default 60, from settings).');

export const executeCode = defineTool({
  name: 'execute_code',
  title: 'Execute Python code',
  description: 'Runs Python code in a stateful sandbox session, like a notebook cell: variables, imports and '
    + 'DataFrames survive between calls. The value of the last expression is displayed; matplotlib figures come back '
    + 'as PNG images and DataFrames as tables. Returns stdout, stderr, rich results and errors with tracebacks. '
    + 'pandas, numpy, matplotlib and scikit-learn are available. No network access. Limits: 60 s and 2 GB by default; '
    + 'on a timeout or memory error the session restarts and its state is lost. Files under the allowed data roots '
    + 'are readable at their usual paths; hand query results over as files rather than pasting rows into code.',
  input: z.strictObject({
    code: z.string().min(1, 'must not be empty').max(1_000_000).describe('Python source to run.'),
    timeout,
  }),
  capability: 'code.execute',
  readOnly: false,
  confirm: i => ({ title: 'Run Python code in the sandbox?', message: '```python\n' + i.code + '\n```' }),
  summary: i => `Running ${i.code.split('\n').length} line(s) of Python`,
  handler: async () => notYet('Python execution'),
});

export const installPackage = defineTool({
  name: 'install_package',
  title: 'Install Python packages',
  description: 'Installs Python packages with pip into the sandbox session\'s environment (a per-workspace virtual '
    + 'environment on the local sandbox). Give requirement specifiers such as "polars" or "scipy>=1.10". This is the '
    + 'only call that may use the network. Check get_environment first: the common data-science stack is preinstalled.',
  input: z.strictObject({
    packages: z.array(z.string().min(1).max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*((==|>=|<=|~=|!=|>|<)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*$/,
        'must be a pip requirement such as "polars" or "scipy>=1.10" (no options, URLs or paths)'))
      .min(1).max(50).describe('Requirement specifiers, e.g. ["polars", "scipy>=1.10"].'),
  }),
  capability: 'code.install',
  readOnly: false,
  confirm: i => ({ title: 'Install Python packages?', message: `pip install ${i.packages.map(p => '`' + p + '`').join(' ')}` }),
  summary: i => `Installing ${i.packages.join(', ')}`,
  handler: async () => notYet('Package installation'),
});

export const runScript = defineTool({
  name: 'run_script',
  title: 'Run a Python script',
  description: 'Runs a Python script file (inside an allowed root) in the sandbox as `python script.py args...`, '
    + 'in a fresh process with the same limits as execute_code. Returns stdout, stderr and the exit code.',
  input: z.strictObject({
    script_path: z.string().min(1).max(4096).describe('Path of the .py file, inside an allowed root.'),
    args: z.array(z.string().max(10_000)).max(100).optional().describe('Command-line arguments.'),
    timeout,
  }),
  capability: 'code.script',
  readOnly: false,
  confirm: i => ({ title: 'Run this Python script?', message: `\`python ${[i.script_path, ...(i.args ?? [])].join(' ')}\`` }),
  summary: i => `Running ${i.script_path}`,
  handler: async () => notYet('Running scripts'),
});

export const getEnvironment = defineTool({
  name: 'get_environment',
  title: 'Describe the Python environment',
  description: 'Describes the Python sandbox: backend (local or E2B), Python version, key packages and their versions, '
    + 'limits (timeout, memory), network policy and the data roots it can read. Call it before writing code that '
    + 'depends on a package.',
  input: z.strictObject({}),
  capability: 'env.read',
  readOnly: true,
  summary: () => 'Describing the Python environment',
  handler: async () => notYet('The Python environment'),
});
