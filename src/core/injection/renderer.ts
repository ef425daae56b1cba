/**
 * A trajectory as the model reads it at one decision state: the student view (no principles) and
 * the teacher view (principles injected), as chat messages. The two differ only by injected text,
 * so distillation can compare them turn by turn.
 *
 * Messages: the system prompt (when the log has one), the task as the first user message, then per
 * earlier step an assistant message (what it said and the tool calls it made) and a user message
 * with what came back (tool results, then any user follow-ups). Chat roles have no `tool`, so
 * results are user messages labelled with their call.
 *
 * Where the block goes: appended to the latest observation, i.e. the user message right before the
 * step (the task, for the first step). A step that got no result and no user message leaves the
 * assistant with the last word; the teacher view then gets a user message holding only the block,
 * and that message is wholly injected text.
 */
import type { ChatMessage } from '../llm/languageModel.js';
import type { Step, Trajectory } from '../trajectory.js';
import { stepPosition } from './state.js';
import type { InjectionPlan, RenderedViews } from './types.js';

function assistantContent(step: Step): string {
  const parts: string[] = [];
  const said = step.text ?? step.thought;
  if (said !== undefined && said.trim() !== '') parts.push(said.trim());
  for (const call of step.toolCalls) parts.push(`<tool_call id="${call.id}" name="${call.name}">${JSON.stringify(call.arguments)}</tool_call>`);
  return parts.join('\n');
}

function observationContent(step: Step): string | undefined {
  const parts: string[] = [];
  const names = new Map(step.toolCalls.map((c) => [c.id, c.name]));
  for (const obs of step.observations) {
    const name = obs.callId === undefined ? undefined : names.get(obs.callId);
    const attrs = [obs.callId === undefined ? '' : ` id="${obs.callId}"`, name === undefined ? '' : ` name="${name}"`, obs.isError ? ' error="true"' : '', obs.exitCode === undefined ? '' : ` exit="${String(obs.exitCode)}"`].join('');
    parts.push(`<tool_result${attrs}>${obs.content}</tool_result>`);
  }
  for (const message of step.userMessages ?? []) parts.push(message);
  return parts.length === 0 ? undefined : parts.join('\n');
}

interface Conversation {
  readonly messages: ChatMessage[];
  /** Per decision-state position p (0…position), the index of the user message the block of step p is appended to, or -1 (none: the teacher gets a block-only message). */
  readonly anchors: number[];
  /** Per earlier step position, the index of its assistant message. */
  readonly assistantAt: number[];
}

function conversation(trajectory: Trajectory, position: number): Conversation {
  const messages: ChatMessage[] = [];
  const anchors: number[] = [];
  const assistantAt: number[] = [];
  if (trajectory.systemPrompt !== undefined && trajectory.systemPrompt.trim() !== '') messages.push({ role: 'system', content: trajectory.systemPrompt });
  messages.push({ role: 'user', content: trajectory.task });
  anchors.push(messages.length - 1);
  for (let i = 0; i < position; i++) {
    const step = trajectory.steps[i];
    if (step === undefined) break;
    messages.push({ role: 'assistant', content: assistantContent(step) });
    assistantAt.push(messages.length - 1);
    const obs = observationContent(step);
    if (obs !== undefined) messages.push({ role: 'user', content: obs });
    anchors.push(obs === undefined ? -1 : messages.length - 1);
  }
  return { messages, anchors, assistantAt };
}

/**
 * Both views of the conversation up to and including the decision state before step `stepIndex`.
 * Ephemeral: only this step's block. Cumulative: every earlier step's block too, each where it was
 * injected. Global: the plan's global block at the end of the system prompt.
 */
export function renderViews(trajectory: Trajectory, plan: InjectionPlan, stepIndex: number): RenderedViews {
  if (plan.trajectoryId !== trajectory.id) throw new RangeError(`The plan is for trajectory ${plan.trajectoryId}, not ${trajectory.id}.`);
  const position = stepPosition(trajectory, stepIndex);
  const { messages, anchors, assistantAt } = conversation(trajectory, position);
  const student: ChatMessage[] = messages;
  const teacher: ChatMessage[] = messages.map((m) => ({ ...m }));
  const ranges: [number, number][][] = teacher.map(() => []);

  const append = (index: number, block: string): void => {
    const m = teacher[index];
    if (m === undefined) return;
    const sep = m.content === '' ? '' : '\n\n';
    ranges[index]?.push([m.content.length + sep.length, m.content.length + sep.length + block.length]);
    teacher[index] = { ...m, content: `${m.content}${sep}${block}` };
  };

  if (plan.options.mode === 'global') {
    const block = plan.globalBlock ?? '';
    if (block !== '') {
      if (teacher[0]?.role === 'system') append(0, block);
      else {
        teacher.unshift({ role: 'system', content: block });
        ranges.unshift([[0, block.length]]);
      }
    }
    return { student, teacher, injectedRanges: ranges };
  }

  const blockFor = new Map(plan.steps.map((s) => [s.stepIndex, s.block]));
  const from = plan.options.persistence === 'cumulative' ? 0 : position;
  // Block-only messages shift later indices: they go in after the appends, from the last backwards.
  const inserts: { at: number; block: string }[] = [];
  for (let p = from; p <= position; p++) {
    const step = trajectory.steps[p];
    const block = step === undefined ? (p === position ? blockFor.get(stepIndex) : undefined) : blockFor.get(step.index);
    if (block === undefined || block === '') continue;
    const anchor = anchors[p] ?? -1;
    if (anchor >= 0) append(anchor, block);
    else inserts.push({ at: (assistantAt[p - 1] ?? teacher.length - 1) + 1, block });
  }
  for (const { at, block } of inserts.reverse()) {
    teacher.splice(at, 0, { role: 'user', content: block });
    ranges.splice(at, 0, [[0, block.length]]);
  }
  return { student, teacher, injectedRanges: ranges };
}
