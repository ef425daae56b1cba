/**
 * Decision states as a running agent sends them to principles_for_state: the task and its most
 * recent steps (what it called with which arguments, or what it said; what came back), taken from
 * captured trajectories. Shared by the latency benchmark and the retrieval check, so both ask the
 * serving core the same kind of question.
 */
import type { ServeState } from '../../src/core/serving/index.js';
import type { Trajectory } from '../../src/core/trajectory.js';

/** The state before the step at `position` (0-based into `trajectory.steps`), with at most `recent` steps. */
export function serveStateAt(trajectory: Trajectory, position: number, recent = Number.POSITIVE_INFINITY): ServeState {
  const steps = trajectory.steps.slice(Math.max(0, position - recent), position);
  return {
    task: trajectory.task,
    steps: steps.map((s) => {
      const call = s.toolCalls[0];
      return {
        ...(call === undefined ? {} : { tool: call.name }),
        action: call === undefined ? (s.text ?? s.thought ?? '') : JSON.stringify(call.arguments),
        observation: s.observations.map((o) => o.content).join('\n'),
        isError: s.observations.some((o) => o.isError),
      };
    }),
  };
}
