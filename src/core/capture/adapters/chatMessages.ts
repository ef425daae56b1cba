import type { TrajectoryBuilder } from '../builder.js';
import { asArray, asRecord, parseArguments, parseLooseJson, str, textOf } from '../values.js';

/**
 * Feeds an OpenAI chat `messages` array (system/user/assistant/tool, `tool_calls`, legacy
 * `function_call`) into a builder. Shared by the generic rollout adapter and SWE-agent histories.
 */
export function feedChatMessages(builder: TrajectoryBuilder, messages: readonly unknown[], options: { model?: string } = {}): void {
  for (const raw of messages) {
    const message = asRecord(raw);
    if (!message) continue;
    const role = str(message.role) ?? str(message.from);
    const content = textOf(message.content ?? message.value);
    const model = str(message.model) ?? options.model;
    if (role === 'system') {
      builder.systemPrompt ??= content;
      continue;
    }
    if (role === 'user' || role === 'human') {
      builder.user(content);
      continue;
    }
    if (role === 'tool' || role === 'function' || role === 'ipython' || role === 'observation') {
      const ids = asArray(message.tool_call_ids);
      const callId = str(message.tool_call_id) ?? str(ids[0]) ?? builder.pendingCall(str(message.name));
      builder.observe({ callId, content, isError: message.is_error === true || message.error === true });
      continue;
    }
    if (role === 'assistant' || role === 'gpt' || role === 'model') {
      const reasoning = str(message.reasoning_content) ?? str(message.reasoning) ?? str(message.thinking);
      if (reasoning !== undefined) builder.thought(reasoning, { model });
      const thought = str(message.thought);
      if (thought !== undefined && thought !== content) builder.thought(thought, { model });
      builder.text(content, { model });
      let calls = message.tool_calls;
      // Some published rollouts store tool_calls as the Python repr of the list.
      if (typeof calls === 'string') calls = parseLooseJson(calls);
      for (const rawCall of asArray(calls)) {
        const call = asRecord(rawCall);
        const fn = asRecord(call?.function) ?? call;
        if (!fn) continue;
        builder.call(str(fn.name) ?? 'unknown', parseArguments(fn.arguments ?? fn.args), str(call?.id), { model });
      }
      const legacy = asRecord(message.function_call);
      if (legacy) builder.call(str(legacy.name) ?? 'unknown', parseArguments(legacy.arguments), undefined, { model });
      builder.closeStep();
      continue;
    }
  }
}
