/**
 * Injection options: the paper's defaults (step-wise, ephemeral, embedding selector, k = 5) and one
 * parser for every place options come from (settings, the CLI, the preview's toggles), so a bad
 * value is refused with the field that is wrong rather than silently replaced.
 */
import { z } from 'zod';
import type { InjectionOptions } from './types.js';

/** The placeholder a block template must contain. */
export const PRINCIPLES_PLACEHOLDER = '{principles}';

export const DEFAULT_BLOCK_TEMPLATE = `<experience>\nPrinciples that may help with the next step:\n${PRINCIPLES_PLACEHOLDER}\n</experience>`;

export const DEFAULT_INJECTION_OPTIONS: InjectionOptions = {
  mode: 'stepwise',
  persistence: 'ephemeral',
  selector: 'embedding',
  k: 5,
  // Below this a dense embedder's cosine is mostly topic overlap, not applicability; the lexical
  // embedder scores lower overall, so the floor is kept permissive and MMR does the rest.
  scoreFloor: 0.05,
  mmrLambda: 0.7,
  stateTokenBudget: 512,
  blockTemplate: DEFAULT_BLOCK_TEMPLATE,
  includeInternalized: false,
};

const optionsSchema = z
  .object({
    mode: z.enum(['stepwise', 'global']),
    persistence: z.enum(['ephemeral', 'cumulative']),
    selector: z.enum(['embedding', 'rerank']),
    k: z.number().int().min(1).max(8),
    scoreFloor: z.number().min(-1).max(1),
    mmrLambda: z.number().min(0).max(1),
    stateTokenBudget: z.number().int().min(32).max(32_768),
    blockTemplate: z
      .string()
      .max(4_000)
      .refine((t) => t.includes(PRINCIPLES_PLACEHOLDER), { message: `must contain ${PRINCIPLES_PLACEHOLDER}, where the numbered principles go` }),
    targetModel: z.string().min(1).optional(),
    includeInternalized: z.boolean(),
    workspace: z.string().min(1).optional(),
  })
  .strict()
  .partial();

export class InjectionOptionsError extends Error {
  override readonly name = 'InjectionOptionsError';
}

/**
 * Fills `value`'s missing fields from the defaults and validates the result. Unknown fields are
 * refused (a typo must not silently fall back to a default); the error names every bad field.
 */
export function parseInjectionOptions(value: unknown, where = 'injection options'): InjectionOptions {
  const parsed = optionsSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InjectionOptionsError(`Invalid ${where}: ${problems.join('; ')}.`);
  }
  // A key present with the value undefined must not wipe out its default.
  const defined: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(parsed.data) as [string, unknown][]) if (v !== undefined) defined[key] = v;
  return { ...DEFAULT_INJECTION_OPTIONS, ...(defined as Partial<InjectionOptions>) };
}
