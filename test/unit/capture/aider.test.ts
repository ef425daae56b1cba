import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { createRedactor, importPaths } from '../../../src/core/capture/index.js';
import { detectFormat, mainFileOf } from '../../../src/core/capture/registry.js';
import { defaultLocations } from '../../../src/core/capture/locations.js';
import { scanLocations } from '../../../src/core/capture/scan.js';
import { openStore } from '../../../src/core/store/index.js';
import { danglingCallIds, fixture, parseBytes, parseFixture, tempDir } from './helpers.js';

const afi = (): ReturnType<typeof parseFixture> => parseFixture('aider', 'aider', 'afi-core', '.aider.chat.history.md');

describe('aider adapter on real histories (AFI-Protocol/afi-core, MIT)', () => {
  it('makes one trajectory per launch that got a reply, named by file and start time, in the history file\'s folder', () => {
    const { trajectories, issues } = afi();
    assert.deepEqual(issues, []);
    // Six launches in the file; the one that only offered a pip upgrade (2025-07-16 20:10:38) has no reply.
    assert.deepEqual(
      trajectories.map((t) => t.startedAt),
      ['2025-07-15T11:38:37', '2025-07-15T14:53:34', '2025-07-15T15:06:38', '2025-07-15T15:18:04', '2025-07-16T20:11:30'],
    );
    const path = fixture('aider', 'afi-core', '.aider.chat.history.md');
    for (const t of trajectories) {
      assert.equal(t.source, 'aider');
      assert.equal(t.workspace, dirname(path));
      assert.equal(t.sourcePath, path);
      assert.equal(t.model, 'gpt-4o');
      assert.equal(t.sessionId, `${path}#${t.startedAt ?? ''}`);
      assert.deepEqual(danglingCallIds(t), []);
    }
    assert.deepEqual(
      trajectories.map((t) => t.steps.length),
      [1, 3, 1, 3, 13],
    );
  });

  it('takes the first request as the task, the edit blocks as edit_file calls and "Running" as shell calls', () => {
    const t = afi().trajectories[1]!;
    assert.equal(t.task, 'chmod +x ~/AFI_Modular_Repos/*.sh');
    assert.deepEqual(t.steps[0]!.toolCalls.map((c) => [c.name, c.arguments.command]), [['shell', 'chmod +x ~/AFI_Modular_Repos/*.sh']]);
    const edits = t.steps[2]!.toolCalls;
    assert.deepEqual(edits.map((c) => [c.name, c.arguments.path ?? c.arguments.command]), [
      ['edit_file', 'sync-afi.sh'],
      ['edit_file', 'aider-afi.sh'],
      ['shell', 'chmod +x sync-afi.sh aider-afi.sh'],
    ]);
    assert.equal(edits[0]!.arguments.search, '');
    assert.match(String(edits[0]!.arguments.replace), /^#!\/bin\/bash\n# Script to sync AFI repositories/u);
    const applied = t.steps[2]!.observations.filter((o) => o.content.startsWith('Applied edit to'));
    assert.deepEqual(applied.map((o) => [o.callId, o.content]), [
      [edits[1]!.id, 'Applied edit to aider-afi.sh'],
      [edits[0]!.id, 'Applied edit to sync-afi.sh'],
    ]);
    // Tokens lines become usage: 3.2k+3.2k+3.4k sent, 66+79+184 received.
    assert.deepEqual(t.usage, { inputTokens: 9800, outputTokens: 329 });
    // A follow-up request lands on the step it followed.
    assert.deepEqual(t.steps[0]!.userMessages, ['sync-afi\naider-afi']);
    assert.equal(t.outcome.label, 'unknown');
  });

  it('keeps a multi-line request whole and marks a SEARCH block that failed to match as an error on its call', () => {
    const [, , third, , long] = afi().trajectories;
    assert.equal(third!.task.split('\n').length, 5);
    assert.match(third!.task, /^for dir in ~\/AFI_Modular_Repos\/afi-\*; do\n {2}echo/u);
    const step = long!.steps[11]!;
    assert.deepEqual(step.toolCalls.map((c) => c.arguments.path), ['cli_hooks/validator_invoker.ts', 'tests/poi_validator.test.ts', 'tests/poi_validator.test.ts']);
    const failed = step.observations.find((o) => o.isError);
    assert.ok(failed);
    assert.equal(failed.callId, step.toolCalls[0]!.id);
    assert.match(failed.content, /^# 1 SEARCH\/REPLACE block failed to match!\n\n## SearchReplaceNoExactMatch/u);
    // The retry in the next reply applies it.
    assert.equal(long!.steps[12]!.observations[0]!.content, 'Applied edit to cli_hooks/validator_invoker.ts');
    assert.equal(long!.steps.flatMap((s) => s.toolCalls).filter((c) => c.name === 'edit_file').length, 12);
  });

  it('reads the times of typed lines from .aider.input.history beside it', () => {
    const t = afi().trajectories[1]!;
    assert.equal(t.endedAt, '2025-07-15T14:56:07');
  });
});

describe('aider adapter on a reasoning model\'s history (AlexShchuka/mozgoslav, MIT)', () => {
  it('keeps the thinking apart from the answer and drops the launch that failed before any reply', () => {
    const { trajectories } = parseFixture('aider', 'aider', 'mozgoslav', '.aider.chat.history.md');
    assert.equal(trajectories.length, 1);
    const t = trajectories[0]!;
    assert.equal(t.task, 'hi');
    assert.equal(t.model, 'lm_studio/qwen3.6-35b-a3b-uncensored-hauhaucs-aggressive');
    assert.equal(t.steps.length, 3);
    assert.match(t.steps[0]!.thought ?? '', /^Here's a thinking process:/u);
    assert.match(t.steps[0]!.text ?? '', /^Привет! Готов к работе\./u);
    assert.doesNotMatch(t.steps[0]!.text ?? '', /thinking-content/u);
    assert.equal(t.steps[0]!.userMessages?.[0], 'Про что проект мозгослав и на каком этапе сейчас RAG?');
    assert.deepEqual(t.usage, { inputTokens: 6500, outputTokens: 5400 + 53 });
  });
});

describe('aider adapter: detection and evidence', () => {
  it('detects the history by its name and by its session header; the input history is read with it, not alone', () => {
    const history = readFileSync(fixture('aider', 'afi-core', '.aider.chat.history.md'));
    assert.equal(detectFormat('/p/.aider.chat.history.md', history).adapter?.format, 'aider');
    assert.equal(detectFormat('/p/journal/session.md', history).adapter?.format, 'aider');
    assert.equal(detectFormat('/p/notes.md', Buffer.from('# Notes\n\nnothing here\n')).adapter, undefined);
    const input = fixture('aider', 'afi-core', '.aider.input.history');
    assert.equal(detectFormat(input, readFileSync(input)).adapter, undefined);
    assert.equal(mainFileOf(input), '.aider.chat.history.md');
  });

  it('turns /run and its printed test summary into a shell call whose result decides the outcome', () => {
    const text = [
      '',
      '# aider chat started at 2024-05-01 10:00:00',
      '',
      '#### fix the failing parser test  ',
      '',
      'parser.py',
      '```python',
      '<<<<<<< SEARCH',
      'return None',
      '=======',
      'return tokens',
      '>>>>>>> REPLACE',
      '```',
      '',
      '> Applied edit to parser.py  ',
      '',
      '#### /run pytest  ',
      '> ..........',
      '============================== 10 passed in 0.12s ===============================  ',
      '',
    ].join('\n');
    const t = parseBytes('aider', '/w/.aider.chat.history.md', text).trajectories[0]!;
    assert.equal(t.steps.length, 2);
    assert.deepEqual(t.steps[1]!.toolCalls.map((c) => [c.name, c.arguments]), [['shell', { command: 'pytest', by: 'user' }]]);
    assert.equal(t.steps[1]!.observations[0]!.content, '..........\n============================== 10 passed in 0.12s ===============================');
    assert.equal(t.outcome.label, 'success');
    assert.equal(t.outcome.evidence[0]?.detail, 'pytest: 10 passed');
  });

  it('counts lint errors left after the last edit as a failure, and a clean later edit as none', () => {
    const reply = (n: number, lint: boolean): string[] => [
      '',
      `#### change ${String(n)}  `,
      '',
      'a.py',
      '```',
      '<<<<<<< SEARCH',
      'x = 1',
      '=======',
      `x = ${String(n)}`,
      '>>>>>>> REPLACE',
      '```',
      '',
      '> Applied edit to a.py  ',
      ...(lint ? ['> # Fix any errors below, if possible.', '', '## Running: flake8 a.py', '', "a.py:1:1: F821 undefined name 'y'  ", '> Attempt to fix lint errors? (Y)es/(N)o [Yes]: n  '] : []),
    ];
    const head = ['# aider chat started at 2024-05-01 10:00:00'];
    const failed = parseBytes('aider', '/w/.aider.chat.history.md', [...head, ...reply(1, true)].join('\n')).trajectories[0]!;
    assert.equal(failed.outcome.label, 'failure');
    assert.equal(failed.outcome.evidence[0]?.detail, 'lint errors after the last edit (flake8 a.py)');
    assert.equal(failed.steps[0]!.observations.find((o) => o.isError)?.content.includes("F821 undefined name 'y'"), true);
    const fixed = parseBytes('aider', '/w/.aider.chat.history.md', [...head, ...reply(1, true), ...reply(2, false)].join('\n')).trajectories[0]!;
    assert.equal(fixed.outcome.label, 'unknown');
  });

  it('re-imports a history that grew by a session: earlier sessions keep their ids, nothing is duplicated', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, '.aider.chat.history.md');
    copyFileSync(fixture('aider', 'mozgoslav', '.aider.chat.history.md'), path);
    const store = openStore(':memory:');
    t.after(() => {
      store.close();
    });
    const redactor = await createRedactor();
    await importPaths(store, redactor, [dir]);
    const first = store.trajectories.list({}).map((r) => r.id);
    assert.equal(first.length, 1);
    await importPaths(store, redactor, [dir]);
    assert.deepEqual(store.trajectories.list({}).map((r) => r.id), first);
    appendFileSync(path, '\n# aider chat started at 2026-04-23 09:00:00\n\n#### add a test  \n\nDone.\n\n> Tokens: 1k sent, 5 received.  \n');
    const report = await importPaths(store, redactor, [dir]);
    assert.equal(report.errors.length, 0);
    const second = store.trajectories.list({}).map((r) => r.id);
    assert.equal(second.length, 2);
    assert.ok(first.every((id) => second.includes(id)));
    assert.equal(store.trajectories.get(first[0]!)?.steps.length, 3);
  });

  it('is looked for in the open project folders and at an absolute AIDER_CHAT_HISTORY_FILE', () => {
    const project = dirname(fixture('aider', 'afi-core', '.aider.chat.history.md'));
    const locations = defaultLocations({ platform: 'linux', home: '/nonexistent-home', env: { AIDER_CHAT_HISTORY_FILE: fixture('aider', 'mozgoslav', '.aider.chat.history.md') }, workspaceFolders: [project] }).filter(
      (l) => l.source === 'aider',
    );
    assert.equal(locations.length, 2);
    const found = scanLocations(locations).files.map((f) => f.path);
    assert.deepEqual(found, [fixture('aider', 'afi-core', '.aider.chat.history.md'), fixture('aider', 'mozgoslav', '.aider.chat.history.md')]);
  });
});
