/**
 * The policy file's JSON Schema, derived from the zod schema that validates it at start, so the
 * two cannot disagree: editors (the YAML language server, IntelliJ, VS Code) complete and check
 * a policy file with it. Published as `docs/policy.schema.json` (`npm run schema:policy` writes
 * it; a test fails when it is stale).
 *
 * It describes what the file may contain *before* `${VAR}` interpolation: wherever a value must
 * match a pattern, a format or a fixed set, a string holding a placeholder is allowed as well
 * (`tokenHash: ${ELEVATE_ADMIN_TOKEN_HASH}`). What JSON Schema cannot say (cross-field rules:
 * a quorum larger than its group, a role a bot names but no one defines) is checked by
 * `elevate config check`, which runs the whole validation.
 */
import { z } from 'zod';
import { policySchema } from './policy.js';

/** Where the published schema says it lives (its `$id`). */
export const POLICY_SCHEMA_ID = 'https://elevate.invalid/schemas/policy-v1.json';

/** A string that holds at least one `${NAME}` or `${NAME:-default}` placeholder. */
const PLACEHOLDER = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}' } as const;

type JsonSchema = Record<string, unknown>;

/** Whether a string schema constrains its value beyond being a string. */
function constrainsString(node: JsonSchema): boolean {
  return (
    node.type === 'string' &&
    ('pattern' in node || 'format' in node || 'enum' in node || 'const' in node || 'minLength' in node)
  );
}

/** Walks the schema and lets a placeholder stand where a constrained string is expected. */
function allowPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowPlaceholders);
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) out[key] = allowPlaceholders(value);
  if (!constrainsString(out)) return out;
  const { description, title, default: defaultValue, ...constraint } = out;
  return {
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
    anyOf: [constraint, PLACEHOLDER],
  };
}

/** The policy file's JSON Schema (draft 2020-12). */
export function policyJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(policySchema, {
    io: 'input',
    target: 'draft-2020-12',
    // Refinements and transforms have no JSON Schema form: they are checked at start.
    unrepresentable: 'any',
  }) as JsonSchema;
  const { $schema, ...rest } = allowPlaceholders(generated) as JsonSchema;
  return {
    $schema,
    $id: POLICY_SCHEMA_ID,
    title: 'Elevate policy file',
    description:
      'Bots, roles, approvers and limits of an Elevate deployment (docs/configuration.md). Placeholders `${NAME}` are replaced from the environment at start; `elevate config check <file>` runs every rule, including those JSON Schema cannot express.',
    ...rest,
  };
}

/** The published file's text: the schema, two-space indented, with a final newline. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
