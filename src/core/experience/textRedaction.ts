/**
 * The last-moment check on text that leaves the machine: the same detectors that redact captured
 * trajectories (src/core/redaction: provider rules, secret-naming keys and URLs, the entropy
 * fallback, secretlint), applied to one prompt.
 * Captured text was redacted when stored; this catches what a user typed into a principle, a
 * trajectory imported before a detector rule existed, or anything assembled since.
 */
import type { Redactor } from '../redaction/index.js';
import type { TextRedactor } from './pipeline.js';

export function textRedactor(redactor: Redactor): TextRedactor {
  return async (text) => {
    const [out] = await redactor.redact([
      { trajectory: { id: 'prompt', source: 'openai-messages', sessionId: 'prompt', task: text, outcome: { label: 'unknown', evidence: [] }, steps: [] }, redactFrom: 0 },
    ]);
    const count = Object.values(out?.redactions ?? {}).reduce((n, c) => n + c, 0);
    return { text: out?.task ?? text, count };
  };
}
