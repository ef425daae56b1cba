/**
 * The language-model tools' inputs, parsed at the edge. The schemas are the MCP tools' (declared in
 * package.json `languageModelTools`, checked equal by a test), so an agent gets the same contract
 * from Copilot agent mode as from an MCP client. vscode-free, so the unit tests read it directly.
 */
import { z } from 'zod';
import { MAX_K, type OutcomeInput, type ServeState } from '../../core/serving/index.js';

const step = z.object({
  action: z.string().optional(),
  observation: z.string().optional(),
  tool: z.string().optional(),
  isError: z.boolean().optional(),
});

const principlesSchema = z.object({
  task: z.string().optional(),
  steps: z.array(step).optional(),
  text: z.string().optional(),
  k: z.number().int().min(1).max(MAX_K).optional(),
  model: z.string().optional(),
  workspace: z.string().optional(),
});

const outcomeSchema = z.object({
  id: z.string().min(1),
  verdict: z.enum(['helpful', 'harmful']),
  note: z.string().max(2000).optional(),
  callId: z.string().optional(),
});

export interface PrinciplesRequest {
  readonly state: ServeState;
  readonly k?: number;
  readonly model?: string;
  readonly workspace?: string;
}

/** Input the tool cannot use; the message names each field and what it must be, for the model to retry. */
export class ToolInputError extends Error {
  override readonly name = 'ToolInputError';
}

function explain(tool: string, error: z.ZodError): ToolInputError {
  const problems = error.issues.map((issue) => `${issue.path.length === 0 ? '(input)' : issue.path.map(String).join('.')}: ${issue.message}`);
  return new ToolInputError(`${tool}: invalid input — ${problems.join('; ')}. Fix these fields and call it again.`);
}

/** The principles tool's input as the serving core takes it. */
export function parsePrinciplesInput(input: unknown): PrinciplesRequest {
  const parsed = principlesSchema.safeParse(input);
  if (!parsed.success) throw explain('internalize_principles_for_state', parsed.error);
  const { task, steps, text, k, model, workspace } = parsed.data;
  return {
    state: { ...(task === undefined ? {} : { task }), ...(steps === undefined ? {} : { steps }), ...(text === undefined ? {} : { text }) },
    ...(k === undefined ? {} : { k }),
    ...(model === undefined || model.trim() === '' ? {} : { model: model.trim() }),
    ...(workspace === undefined || workspace.trim() === '' ? {} : { workspace: workspace.trim() }),
  };
}

/** The outcome tool's input as recordOutcome takes it. */
export function parseOutcomeInput(input: unknown): OutcomeInput {
  const parsed = outcomeSchema.safeParse(input);
  if (!parsed.success) throw explain('internalize_report_principle_outcome', parsed.error);
  const { id, verdict, note, callId } = parsed.data;
  return { principleId: id.trim(), verdict, ...(note === undefined ? {} : { note }), ...(callId === undefined ? {} : { callId }) };
}
