import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';

/**
 * The TypeScript side of the trainer's JSON-lines protocol (trainer/internalize_trainer/protocol.py).
 * Every line the worker writes is parsed with these schemas; a line that does not fit is reported,
 * never trusted. The contract test (test/contract/worker.test.ts) runs both sides together.
 */
export const PROTOCOL_VERSION = 1;

const errorBody = z.object({ code: z.string(), message: z.string() });

export const workerEvent = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('progress'),
    id: z.union([z.number(), z.string()]),
    phase: z.string(),
    step: z.number(),
    total: z.number(),
    epoch: z.number().optional(),
    loss: z.number().optional(),
    tokens_per_s: z.number().optional(),
    eta_s: z.number().optional(),
    /** The suite's principle this step is about (calibrate, sample and evaluate phases). */
    principle: z.string().optional(),
  }),
  z.object({ event: z.literal('log'), id: z.union([z.number(), z.string()]), level: z.string(), message: z.string() }),
  z.object({ event: z.literal('metrics'), id: z.union([z.number(), z.string()]), metrics: z.record(z.string(), z.unknown()) }),
  z.object({ event: z.literal('checkpoint'), id: z.union([z.number(), z.string()]), path: z.string(), epoch: z.number().optional(), step: z.number().optional() }),
  z.object({ event: z.literal('done'), id: z.union([z.number(), z.string()]) }),
  z.object({ event: z.literal('error'), id: z.union([z.number(), z.string()]), message: z.string() }),
]);
export type WorkerEvent = z.infer<typeof workerEvent>;

const response = z.object({ id: z.union([z.number(), z.string(), z.null()]), result: z.unknown().optional(), error: errorBody.optional() });

export const helloResult = z.object({ protocol: z.number(), version: z.string(), torch: z.string(), cuda: z.boolean(), methods: z.array(z.string()) });
export type HelloResult = z.infer<typeof helloResult>;

export const distillResult = z.object({ metrics: z.record(z.string(), z.unknown()), model: z.string() });
export type DistillResult = z.infer<typeof distillResult>;

/** One principle's outcome of a suite run: success rates by checker, or divergence where it has none. */
export const principleScore = z.object({
  id: z.string(),
  /** The principle's sentence, as the suite states it. */
  text: z.string().optional(),
  /** Whether calibration kept it (the teacher clearly above the base model); only kept ones are trained. */
  calibrated: z.boolean(),
  reason: z.string(),
  method: z.enum(['checker', 'divergence']),
  base: z.number().nullable(),
  teacher: z.number().nullable(),
  student: z.number().nullable(),
  /** Share of the teacher–base gap the student closed without the principle (1 − KL after/KL before for 'divergence'). */
  score: z.number().nullable(),
  internalized: z.boolean(),
  kl_before: z.number().optional(),
  kl_after: z.number().optional(),
});
export type PrincipleScore = z.infer<typeof principleScore>;

const retention = z.object({ base_nll: z.number(), student_nll: z.number(), ratio: z.number() });
const collapse = z.object({ collapsed: z.boolean(), reasons: z.array(z.string()) });

export const suiteResult = z.object({
  principles: z.array(principleScore),
  retention: retention.nullable(),
  collapse: collapse.nullable(),
  rounds: z.array(z.record(z.string(), z.unknown())),
  calibration: z.record(z.string(), z.record(z.string(), z.unknown())),
  timings: z.record(z.string(), z.number()),
});
export type SuiteResult = z.infer<typeof suiteResult>;

export const generateResult = z.object({
  model: z.string(),
  /** What happens to a prompt longer than the model's context (a warning log event says when it did). */
  truncation_policy: z.string(),
  generations: z.array(z.object({ text: z.string(), tokens: z.number(), truncated: z.number() })),
});
export type GenerateResult = z.infer<typeof generateResult>;

/** Per target turn of each record: mean forward KL(teacher ‖ student) per token of that turn. */
export const scoreResult = z.object({
  scores: z.array(z.object({ record: z.number().int().nonnegative(), turn: z.number().int().nonnegative(), kl_per_token: z.number(), tokens: z.number().int().nonnegative() })),
});
export type ScoreResult = z.infer<typeof scoreResult>;

/** The base model's own answers to the general prompts, written once per model: replay for training, retention for the guard. */
export const generalResult = z.object({ replay: z.string(), retention: z.string(), replay_records: z.number().int(), retention_records: z.number().int() });
export type GeneralResult = z.infer<typeof generalResult>;

/** Own-data scoring of a round (trainer/internalize_trainer/owndata.py): no checkers, so divergence per principle. */
export const roundScoreResult = z.object({
  principles: z.array(
    z.object({
      id: z.string(),
      method: z.literal('divergence'),
      states: z.number().int(),
      tokens: z.number().int(),
      kl_before: z.number(),
      kl_after: z.number(),
      score: z.number().nullable(),
      internalized: z.boolean(),
      reason: z.string(),
    }),
  ),
  action_nll: z.object({ base: z.number(), student: z.number(), tokens: z.number().int(), states: z.number().int() }),
  retention: z.object({ base_nll: z.number(), student_nll: z.number(), ratio: z.number().nullable() }).nullable(),
  collapse: z.object({ collapsed: z.boolean(), reasons: z.array(z.string()) }),
  /** With `answers` > 0: greedy answers of the base and the student without principles, for an LLM judge. */
  answers: z.array(z.object({ record: z.number().int().nonnegative(), principles: z.array(z.string()), base: z.string(), student: z.string() })).optional(),
});
export type RoundScoreResult = z.infer<typeof roundScoreResult>;

/** One teacher sample and the divergence filter's measure of it (trainer/internalize_trainer/teacher_samples.py). */
export const teacherSample = z.object({
  text: z.string(),
  tokens: z.number().int().nonnegative(),
  teacher_nll: z.number().nullable(),
  student_nll: z.number().nullable(),
  margin: z.number().nullable(),
  kept: z.boolean(),
  reason: z.string(),
});
export type TeacherSample = z.infer<typeof teacherSample>;

/** k teacher samples per training record, in the dataset's order, with the counts of kept and rejected ones. */
export const sampleTargetsResult = z.object({
  filter: z.enum(['divergence', 'none']),
  config: z.record(z.string(), z.unknown()),
  records: z.array(z.array(teacherSample)),
  stats: z.object({ states: z.number().int(), sampled: z.number().int(), kept: z.number().int(), rejected: z.record(z.string(), z.number().int()), states_with_kept: z.number().int() }),
});
export type SampleTargetsResult = z.infer<typeof sampleTargetsResult>;

/** A chat message as the worker's generate method takes it (OpenAI style; tool calls travel in content). */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
}

export interface GenerateParams {
  /** A model folder, a .gguf file or the built-in 'smollm2-135m-instruct'. */
  readonly model: string;
  readonly models_dir?: string;
  readonly conversations: readonly (readonly ChatMessage[])[];
  readonly max_new_tokens?: number;
  /** 0 (the default) is greedy decoding. */
  readonly temperature?: number;
  readonly top_p?: number;
  readonly seed?: number;
}

/** A failure of the worker with a message for the user and, where one applies, what to do. */
export class WorkerError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

export interface WorkerOptions {
  /** The Python interpreter with internalize_trainer installed (the project's .venv by default). */
  readonly python: string;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Lines the worker wrote that are not protocol (stderr, warnings): for the log, never parsed. */
  readonly onDiagnostic?: (line: string) => void;
  /** Every event of every request, before its request's own listener (a run dashboard watches them all). */
  readonly onEvent?: (event: WorkerEvent) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent?: (event: WorkerEvent) => void;
}

export class WorkerClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly stderrTail: string[] = [];
  private exited: WorkerError | undefined;

  private constructor(private readonly options: WorkerOptions) {
    this.child = spawn(options.python, ['-m', 'internalize_trainer', 'serve'], {
      cwd: options.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.onLine(line);
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      options.onDiagnostic?.(line);
    });
    this.child.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(
        error.code === 'ENOENT'
          ? new WorkerError(
              `No Python interpreter at ${options.python}. Run \`bash scripts/setup-python.sh\` in the project, or set internalize.trainer.pythonPath to a Python with internalize_trainer installed.`,
              'no-python',
            )
          : new WorkerError(`The training worker could not start: ${error.message}`, 'spawn-failed'),
      );
    });
    this.child.on('exit', (code, signal) => {
      const tail = this.stderrTail.join('\n');
      const missing = /No module named internalize_trainer/u.test(tail);
      this.fail(
        missing
          ? new WorkerError(`${options.python} does not have the internalize_trainer package. Run \`bash scripts/setup-python.sh\`, or point internalize.trainer.pythonPath at the project's .venv.`, 'no-package')
          : new WorkerError(`The training worker exited (${signal ?? `code ${String(code)}`})${tail === '' ? '.' : `: ${tail.split('\n').slice(-3).join(' | ')}`}`, 'exited'),
      );
    });
  }

  static start(options: WorkerOptions): WorkerClient {
    return new WorkerClient(options);
  }

  /** Handshake: fails clearly when the worker speaks another protocol version. */
  async hello(): Promise<HelloResult> {
    const result = helloResult.parse(await this.request('hello', {}));
    if (result.protocol !== PROTOCOL_VERSION) {
      throw new WorkerError(`The training worker speaks protocol ${String(result.protocol)}, this extension ${String(PROTOCOL_VERSION)}: update both from the same release.`, 'protocol-mismatch');
    }
    return result;
  }

  async distill(params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<DistillResult> {
    return distillResult.parse(await this.request('distill', params, onEvent));
  }

  async evaluate(params: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    return z.record(z.string(), z.unknown()).parse(await this.request('evaluate', params));
  }

  /** Runs the principle-following suite: calibration, teacher sampling, distillation, per-principle scores. */
  async suite(params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<SuiteResult> {
    return suiteResult.parse(await this.request('suite', params, onEvent));
  }

  /** One assistant turn per conversation from a local model: the local LM backend's generator. */
  async generate(params: GenerateParams, onEvent?: (event: WorkerEvent) => void): Promise<GenerateResult> {
    return generateResult.parse(await this.request('generate', { ...params }, onEvent));
  }

  /**
   * Teacher–student divergence of dataset records (`{messages, blocks, targets}`, as distill takes
   * them): where the injected principles change the model's next action.
   */
  async score(params: Readonly<Record<string, unknown>>): Promise<ScoreResult> {
    return scoreResult.parse(await this.request('score', params));
  }

  /** Writes (once per model and folder) the model's own answers to the general prompts: replay.jsonl and retention.jsonl. */
  async general(params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<GeneralResult> {
    return generalResult.parse(await this.request('general', params, onEvent));
  }

  /** Scores a round on held-out own-data records: per-principle divergence, action NLL, retention and the guard. */
  async scoreRound(params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<RoundScoreResult> {
    return roundScoreResult.parse(await this.request('score_round', params, onEvent));
  }

  /** Teacher samples for a dataset's training records: k per state from the base model with the block, measured and filtered. */
  async sampleTargets(params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<SampleTargetsResult> {
    return sampleTargetsResult.parse(await this.request('sample_targets', params, onEvent));
  }

  /** The worker's process id, for the log and for tests that end it the hard way. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the worker wrote to stderr: what a failed round's record keeps. */
  logTail(): string[] {
    return [...this.stderrTail];
  }

  /** Asks the running job to stop at its next step; it keeps its last checkpoint. */
  async cancel(): Promise<void> {
    await this.request('cancel', {});
  }

  /** Closes stdin (the worker exits after saving) and kills it if it has not gone within `graceMs`. */
  dispose(graceMs = 5000): void {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    timer.unref();
    this.child.once('exit', () => {
      clearTimeout(timer);
    });
  }

  private request(method: string, params: Readonly<Record<string, unknown>>, onEvent?: (event: WorkerEvent) => void): Promise<unknown> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.child.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private onLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.options.onDiagnostic?.(line);
      return;
    }
    if (typeof value === 'object' && value !== null && 'event' in value) {
      const event = workerEvent.safeParse(value);
      if (!event.success) {
        this.options.onDiagnostic?.(`unrecognized worker event: ${line.slice(0, 200)}`);
        return;
      }
      this.options.onEvent?.(event.data);
      if (typeof event.data.id === 'number') this.pending.get(event.data.id)?.onEvent?.(event.data);
      return;
    }
    const parsed = response.safeParse(value);
    if (!parsed.success || typeof parsed.data.id !== 'number') {
      const message = parsed.success && parsed.data.error !== undefined ? `${parsed.data.error.code}: ${parsed.data.error.message}` : line.slice(0, 200);
      this.options.onDiagnostic?.(`worker message without a request: ${message}`);
      return;
    }
    const waiter = this.pending.get(parsed.data.id);
    if (waiter === undefined) return;
    this.pending.delete(parsed.data.id);
    if (parsed.data.error !== undefined) waiter.reject(new WorkerError(parsed.data.error.message, parsed.data.error.code));
    else waiter.resolve(parsed.data.result);
  }

  private fail(error: WorkerError): void {
    this.exited ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
