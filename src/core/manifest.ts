import { CATALOG } from './catalog';
import { toolSchema } from './host';

const FAMILY: Record<string, string> = {
  'code.execute': 'python', 'code.install': 'python', 'code.script': 'python', 'env.read': 'python',
  'db.read': 'database', 'files.read': 'files', 'files.write': 'files',
};

/** The `contributes.languageModelTools` entries, derived from the catalog (package.json must equal this). */
export function languageModelToolsContribution(): Record<string, unknown>[] {
  return CATALOG.map(t => ({
    name: t.name,
    displayName: t.title,
    toolReferenceName: t.name,
    canBeReferencedInPrompt: true,
    icon: `$(${FAMILY[t.capability] === 'python' ? 'play' : FAMILY[t.capability] === 'database' ? 'database' : 'file'})`,
    tags: ['datatools', FAMILY[t.capability]],
    when: `datatools.tool.${t.name}`,
    userDescription: t.title,
    modelDescription: t.description,
    inputSchema: toolSchema(t),
  }));
}
