/**
 * Agent Trajectory Interchange Format (ATIF, Harbor RFC 0001, v1.0–v1.6): one JSON document
 * `{schema_version: "ATIF-v1.x", session_id, agent: {name, version, model_name}, steps: [{step_id,
 * timestamp, source: system|user|agent, model_name, message, reasoning_content, tool_calls:
 * [{tool_call_id, function_name, arguments}], observation: {results: [{source_call_id, content}]},
 * metrics}], final_metrics, extra}`.
 */
import { basename } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import { verdictFromReward } from '../outcome.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, isoTime, num, parseArguments, parseJsonDocument, str, textOf } from '../values.js';

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const value = parseJsonDocument(file, text, issues);
  if (value === undefined) return [];
  const doc = asRecord(value);
  if (!doc || !Array.isArray(doc.steps)) {
    issues.push({ file: file.path, field: 'steps', message: 'no steps array' });
    return [];
  }
  const sessionId = str(doc.session_id) ?? basename(file.path).replace(/\.json$/u, '');
  // Golden files normalise session ids to a placeholder; the file name keeps them apart.
  const builder = new TrajectoryBuilder('atif', sessionId === 'NORMALIZED_SESSION_ID' ? `${sessionId}:${basename(file.path)}` : sessionId);
  builder.sourcePath = file.path;
  const agent = asRecord(doc.agent);
  const agentModel = str(agent?.model_name);
  if (agentModel !== undefined) builder.model = agentModel;
  for (const raw of asArray(doc.steps)) {
    const step = asRecord(raw);
    if (!step) continue;
    const at = isoTime(step.timestamp);
    const source = str(step.source);
    const message = textOf(step.message);
    if (source === 'system') {
      builder.systemPrompt ??= message;
      continue;
    }
    if (source === 'user') {
      builder.user(message, at);
      continue;
    }
    const options = { at, model: str(step.model_name) ?? agentModel };
    const reasoning = str(step.reasoning_content);
    if (reasoning !== undefined) builder.thought(reasoning, options);
    builder.text(message, options);
    for (const rawCall of asArray(step.tool_calls)) {
      const call = asRecord(rawCall);
      if (!call) continue;
      builder.call(str(call.function_name) ?? 'unknown', parseArguments(call.arguments), str(call.tool_call_id), options);
    }
    builder.assistant(options);
    for (const rawResult of asArray(asRecord(step.observation)?.results)) {
      const result = asRecord(rawResult);
      if (!result) continue;
      const content = textOf(result.content);
      builder.observe({ callId: str(result.source_call_id) ?? undefined, content, isError: /^(error|Error|ERROR)\b/u.test(content) }, at);
    }
    const metrics = asRecord(step.metrics);
    if (metrics) builder.stepUsage({ inputTokens: num(metrics.prompt_tokens) ?? 0, outputTokens: num(metrics.completion_tokens) ?? 0, cacheReadTokens: num(metrics.cached_tokens) ?? 0 });
    builder.closeStep();
  }
  const extra = asRecord(doc.extra);
  for (const field of ['reward', 'success', 'resolved', 'outcome']) {
    const found = verdictFromReward(extra?.[field], `extra.${field}`);
    if (found) {
      builder.verdict(found.verdict);
      if (found.reward !== undefined) builder.reward = found.reward;
      break;
    }
  }
  return [builder.build()];
}

export const atifAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'atif',
  source: 'atif',
  detect(_path, head) {
    return /"schema_version"\s*:\s*"ATIF-v\d/u.test(head.slice(0, 4096)) ? 1 : 0;
  },
  parse,
};
