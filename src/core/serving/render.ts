import type { ServeResult } from './types.js';

/**
 * The answer an agent reads, in words: the chosen principles with their scores and reasons, then how
 * to report back. The MCP tool and the VS Code language-model tool give the same text;
 * `outcomeTool` is the name under which the caller's agent sees the feedback tool.
 */
export function renderServeResult(result: ServeResult, outcomeTool: string): string {
  const lines: string[] = [];
  if (result.principles.length > 0) {
    lines.push(`Principles for this state (callId ${result.callId}):`);
    result.principles.forEach((p, i) => {
      lines.push(`${String(i + 1)}. [${p.id}] ${p.text.replace(/\s+/gu, ' ').trim()}`);
      lines.push(`   score ${p.score.toFixed(3)}: ${p.why}`);
    });
    lines.push(`Apply what fits; report with ${outcomeTool} (id, helpful|harmful, callId).`);
  }
  if (result.message !== undefined) lines.push(result.message);
  if (result.truncated) lines.push('(The state was longer than the budget: long outputs were cut from the middle and older steps left out.)');
  return lines.join('\n');
}
