import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IterationRecord } from '../../../src/core/store/index.js';
import { findCheckpoint, iterationDescription, resumePreset } from '../../../src/extension/commands/iterationsPlan.js';

test('findCheckpoint picks the newest saved adapter folder and ignores the rest', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-ckpt-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(findCheckpoint(undefined), undefined);
  assert.equal(findCheckpoint(join(dir, 'missing')), undefined);
  assert.equal(findCheckpoint(dir), undefined);
  const make = (name: string, seconds: number, adapter = true): string => {
    const path = join(dir, name);
    mkdirSync(path);
    if (adapter) writeFileSync(join(path, 'adapter_config.json'), '{}');
    utimesSync(path, seconds, seconds);
    return path;
  };
  make('checkpoint-epoch1', 1000);
  const interrupted = make('checkpoint-interrupted-step7', 2000);
  make('checkpoint-half-written', 3000, false);
  make('adapter', 4000);
  assert.equal(findCheckpoint(dir), interrupted);
});

function it(number: number, status: IterationRecord['status'], extra: Partial<IterationRecord> = {}): IterationRecord {
  return { number, status, config: {}, ...extra };
}

test('resume presets are recognized only in their exact shape', () => {
  assert.deepEqual(resumePreset({ resume: { kind: 'toy', iteration: 3, checkpoint: '/c' } }), { kind: 'toy', iteration: 3, checkpoint: '/c' });
  assert.equal(resumePreset('toy'), undefined);
  assert.equal(resumePreset({ resume: { kind: 'mine', iteration: 3, checkpoint: '/c' } }), undefined);
  assert.equal(resumePreset({ resume: { kind: 'toy', iteration: 0, checkpoint: '/c' } }), undefined);
  assert.equal(resumePreset(undefined), undefined);
});

test('the row description stays short', () => {
  assert.equal(iterationDescription(it(2, 'done', { config: { world: 'suite' }, metrics: { mean_score: 0.6912, accuracy_without_principles: 0.5 } })), 'done · suite · score 0.69');
  assert.equal(iterationDescription(it(1, 'rolled-back', { config: { world: 'toy' }, metrics: { accuracy_without_principles: 0.875 } })), 'rolled back · toy · acc 0.88');
  assert.equal(iterationDescription(it(3, 'failed')), 'failed');
});
