import { z } from 'zod';

/**
 * Messages between the extension host and the trajectory timeline webview. Both ends parse what
 * they receive with these schemas; nothing unvalidated crosses the boundary.
 */

const toolCall = z.object({ id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()) });
const observation = z.object({ callId: z.string().optional(), content: z.string(), isError: z.boolean(), exitCode: z.number().optional() });
const step = z.object({
  index: z.number().int().nonnegative(),
  text: z.string().optional(),
  thought: z.string().optional(),
  toolCalls: z.array(toolCall),
  observations: z.array(observation),
  userMessages: z.array(z.string()).optional(),
  startedAt: z.string().optional(),
  model: z.string().optional(),
});
const outcomeLabel = z.enum(['success', 'failure', 'unknown']);

export const trajectoryViewSchema = z.object({
  id: z.string(),
  source: z.string(),
  sessionId: z.string(),
  workspace: z.string().optional(),
  task: z.string(),
  model: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  outcome: z.object({
    label: outcomeLabel,
    reward: z.number().optional(),
    evidence: z.array(z.object({ kind: z.string(), detail: z.string(), stepIndex: z.number().optional() })),
  }),
  redactions: z.record(z.string(), z.number()),
  steps: z.array(step),
});
export type TrajectoryView = z.infer<typeof trajectoryViewSchema>;

export const trajectoryHostMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('show'), trajectory: trajectoryViewSchema, focusStep: z.number().int().optional() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type TrajectoryHostMessage = z.infer<typeof trajectoryHostMessage>;

export const trajectoryWebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('setOutcome'), trajectoryId: z.string(), label: outcomeLabel }),
  z.object({ type: z.literal('copy'), text: z.string().max(1_000_000) }),
  /** The toolbar's Preview Injection button. */
  z.object({ type: z.literal('previewInjection'), trajectoryId: z.string().min(1).max(200) }),
]);
export type TrajectoryWebviewMessage = z.infer<typeof trajectoryWebviewMessage>;
