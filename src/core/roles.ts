import type { Role } from './config';

/** What a tool needs to be offered. Roles and workspace trust grant capabilities, never tool names. */
export const CAPABILITIES = ['code.execute', 'code.install', 'code.script', 'env.read', 'db.read', 'files.read', 'files.write'] as const;
export type Capability = (typeof CAPABILITIES)[number];

const ALL: readonly Capability[] = CAPABILITIES;

/** The seed's matrix: data scientists cannot write files or run scripts, data engineers cannot install
 *  packages, ML engineers cannot run scripts. */
export const ROLE_CAPABILITIES: Readonly<Record<Role, readonly Capability[]>> = {
  data_scientist: ALL.filter(c => c !== 'code.script' && c !== 'files.write'),
  data_engineer: ALL.filter(c => c !== 'code.install'),
  ml_engineer: ALL.filter(c => c !== 'code.script'),
};

/** Capabilities that run code or change files: withheld in an untrusted workspace. */
export const UNTRUSTED_WITHHELD: readonly Capability[] = ['code.execute', 'code.install', 'code.script', 'files.write'];

export interface Grant {
  role: Role;
  /** false in an untrusted VS Code workspace. */
  trusted: boolean;
}

export function grantedCapabilities(g: Grant): Set<Capability> {
  return new Set(ROLE_CAPABILITIES[g.role].filter(c => g.trusted || !UNTRUSTED_WITHHELD.includes(c)));
}

/** Callers that are the person's own actions (commands, editor buttons, the Data view): they run with the person's
 *  authority. The role restricts what agents may do; workspace trust still withholds code and writes for everyone. */
export const PERSON_CALLERS: readonly string[] = ['command', 'explorer'];

/** What a caller may do: an agent gets its role's capabilities, the person every capability trust allows. */
export function capabilitiesFor(g: Grant, caller?: string): Set<Capability> {
  if (caller !== undefined && PERSON_CALLERS.includes(caller)) return new Set(ALL.filter(c => g.trusted || !UNTRUSTED_WITHHELD.includes(c)));
  return grantedCapabilities(g);
}

export function rolesWith(cap: Capability): Role[] {
  return (Object.keys(ROLE_CAPABILITIES) as Role[]).filter(r => ROLE_CAPABILITIES[r].includes(cap));
}

export const ROLE_LABELS: Readonly<Record<Role, string>> = {
  data_scientist: 'Data scientist',
  data_engineer: 'Data engineer',
  ml_engineer: 'ML engineer',
};

/** Each capability as a person reads it. */
export const CAPABILITY_TEXT: Readonly<Record<Capability, string>> = {
  'db.read': 'query databases', 'files.read': 'read data files', 'code.execute': 'run Python code', 'code.install': 'install Python packages',
  'env.read': 'describe the Python environment', 'files.write': 'write files', 'code.script': 'run Python files',
};

/** One line for a role in a picker: what agents with it may do, and what not. */
export function roleSummary(role: Role): string {
  const order = Object.keys(CAPABILITY_TEXT) as Capability[];
  const has = order.filter(c => ROLE_CAPABILITIES[role].includes(c));
  const not = order.filter(c => !has.includes(c));
  // what the role withholds first: a picker cuts a long line at its end
  const may = has.filter(c => c !== 'env.read').map(c => CAPABILITY_TEXT[c]).join(', ');
  return not.length ? `Agents may not ${not.map(c => CAPABILITY_TEXT[c]).join(' or ')}; they may ${may}.` : `Agents may ${may}.`;
}
