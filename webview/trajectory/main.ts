import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { trajectoryHostMessage, type TrajectoryView, type TrajectoryWebviewMessage } from '../../src/protocol/trajectory.js';
import { el, icon, vscodeApi } from '../shared/vscode.js';

const vscode = vscodeApi<TrajectoryWebviewMessage>();
const app = document.getElementById('app');

type Step = TrajectoryView['steps'][number];

function stepHasError(step: Step): boolean {
  return step.observations.some((o) => o.isError || (o.exitCode !== undefined && o.exitCode !== 0));
}

function renderArguments(args: Record<string, unknown>): string {
  const keys = Object.keys(args);
  const first = keys[0];
  // A single string argument (a shell command, a path) reads best as itself, not as JSON.
  if (keys.length === 1 && first !== undefined && typeof args[first] === 'string') return args[first];
  // Otherwise one `key: value` per argument, multi-line strings (file contents, patches) as written.
  return keys
    .map((key) => {
      const value = args[key];
      if (typeof value === 'string') return value.includes('\n') ? `${key}:\n${value.replace(/^/gmu, '  ')}` : `${key}: ${value}`;
      return `${key}: ${JSON.stringify(value)}`;
    })
    .join('\n');
}

function renderStep(step: Step): HTMLLIElement {
  const error = stepHasError(step);
  const li = el('li', { tabindex: '0', 'data-step': String(step.index), class: error ? 'has-error' : '', 'aria-label': `Step ${String(step.index + 1)}${error ? ', with an error' : ''}` });
  li.append(el('div', { class: 'row' }, el('h2', {}, `Step ${String(step.index + 1)}`), step.startedAt === undefined ? undefined : el('span', { class: 'muted' }, step.startedAt.replace('T', ' ').slice(0, 19))));
  if (step.thought !== undefined && step.thought !== '') li.append(el('p', { class: 'thought' }, step.thought));
  if (step.text !== undefined && step.text !== '') li.append(el('p', { class: 'text' }, step.text));
  for (const call of step.toolCalls) {
    const answers = step.observations.filter((o) => o.callId === call.id);
    const block = el('div', { class: 'call' }, el('div', { class: 'row' }, icon('tools'), el('span', { class: 'call-name' }, call.name)), el('pre', {}, renderArguments(call.arguments)));
    for (const o of answers) {
      const status = o.isError ? 'error' : o.exitCode !== undefined && o.exitCode !== 0 ? `exit ${String(o.exitCode)}` : undefined;
      block.append(el('div', { class: 'row muted' }, icon(o.isError ? 'error' : 'output'), status === undefined ? 'output' : status));
      block.append(el('pre', { class: o.isError || (o.exitCode ?? 0) !== 0 ? 'error' : '' }, o.content));
    }
    li.append(block);
  }
  for (const o of step.observations.filter((x) => x.callId === undefined)) {
    li.append(el('pre', { class: o.isError ? 'error' : '' }, o.content));
  }
  for (const m of step.userMessages ?? []) li.append(el('p', { class: 'user' }, el('strong', {}, 'User: '), m));
  return li;
}

function outcomeSelect(t: TrajectoryView): HTMLElement {
  const select = document.createElement('vscode-single-select');
  select.setAttribute('aria-label', 'Outcome');
  for (const label of ['success', 'failure', 'unknown'] as const) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', label);
    if (label === t.outcome.label) option.setAttribute('selected', '');
    option.textContent = label;
    select.append(option);
  }
  select.addEventListener('change', () => {
    const value = (select as HTMLElement & { value: string }).value;
    if (value === 'success' || value === 'failure' || value === 'unknown') vscode.postMessage({ type: 'setOutcome', trajectoryId: t.id, label: value });
  });
  return select;
}

function previewButton(t: TrajectoryView): HTMLElement {
  const button = document.createElement('vscode-button');
  button.setAttribute('icon', 'eye');
  button.setAttribute('secondary', '');
  button.setAttribute('title', 'Which principles would be injected at each step, and the teacher and student views');
  button.textContent = 'Preview Injection';
  button.addEventListener('click', () => {
    vscode.postMessage({ type: 'previewInjection', trajectoryId: t.id });
  });
  return button;
}

function render(t: TrajectoryView, focusStep?: number): void {
  if (app === null) return;
  const redacted = Object.values(t.redactions).reduce((a, b) => a + b, 0);
  const errors = t.steps.filter(stepHasError).length;
  const header = el(
    'header',
    { class: 'sticky' },
    el('h1', {}, t.task),
    el(
      'div',
      { class: 'row' },
      el('span', { class: `badge ${t.outcome.label}` }, t.outcome.label),
      el('span', { class: 'muted' }, `${t.source} · ${String(t.steps.length)} steps · ${String(errors)} with errors${t.model === undefined ? '' : ` · ${t.model}`}`),
      redacted > 0 ? el('span', { class: 'badge', title: Object.entries(t.redactions).map(([k, v]) => `${k}: ${String(v)}`).join('\n') }, icon('shield'), `${String(redacted)} redacted`) : undefined,
    ),
    el('div', { class: 'row' }, el('label', {}, 'Outcome '), outcomeSelect(t), el('span', { class: 'muted' }, t.outcome.evidence.map((e) => e.detail).join('; '))),
    el('div', { class: 'row', role: 'toolbar', 'aria-label': 'Trajectory actions' }, previewButton(t)),
    el('p', { class: 'muted' }, 'Keys: j / k or ↓ / ↑ move between steps, e jumps to the next error.'),
  );
  const list = el('ol', { class: 'timeline', 'aria-label': 'Steps' });
  for (const step of t.steps) list.append(renderStep(step));
  app.replaceChildren(header, list);
  if (focusStep !== undefined) {
    const target = list.querySelector<HTMLElement>(`li[data-step="${String(focusStep)}"]`);
    target?.scrollIntoView({ block: 'center' });
    target?.focus();
  }
}

function moveFocus(delta: number, onlyErrors = false): void {
  const items = [...document.querySelectorAll<HTMLElement>('ol.timeline > li')];
  const current = items.findIndex((i) => i === document.activeElement);
  for (let i = current + delta; i >= 0 && i < items.length; i += delta) {
    const item = items[i];
    if (item !== undefined && (!onlyErrors || item.classList.contains('has-error'))) {
      item.focus();
      item.scrollIntoView({ block: 'nearest' });
      return;
    }
  }
}

document.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement | null;
  if (target !== null && /^(INPUT|TEXTAREA|VSCODE-TEXTFIELD|VSCODE-SINGLE-SELECT)$/u.test(target.tagName)) return;
  if (event.key === 'j' || event.key === 'ArrowDown') moveFocus(1);
  else if (event.key === 'k' || event.key === 'ArrowUp') moveFocus(-1);
  else if (event.key === 'e') moveFocus(1, true);
  else return;
  event.preventDefault();
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = trajectoryHostMessage.safeParse(event.data);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'show') render(message.trajectory, message.focusStep);
  else app?.replaceChildren(el('p', { class: 'error-text' }, message.message));
});

vscode.postMessage({ type: 'ready' });
