import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import {
  injectionHostMessage,
  MAX_DIVERGENCE_STEPS,
  previewOptionsSchema,
  type InjectionHostMessage,
  type InjectionWebviewMessage,
  type PreviewOptions,
  type ShownMessage,
  type StepDetail,
  type StepRow,
} from '../../src/protocol/injection.js';
import { el, icon, vscodeApi } from '../shared/vscode.js';

const vscode = vscodeApi<InjectionWebviewMessage>();
const app = document.getElementById('app');

type Plan = Extract<InjectionHostMessage, { type: 'plan' }>;

/** Every row has this height, so a row's place is its index times it and only visible rows exist. */
const ROW_HEIGHT = 26;
/** Rows are fetched in aligned blocks of this many, so scrolling asks for each block once. */
const BLOCK = 100;
/** Rows rendered beyond the visible ones, above and below, so a fast scroll shows no gap. */
const OVERSCAN = 10;

const MODES: readonly { value: PreviewOptions['mode']; label: string }[] = [
  { value: 'stepwise-ephemeral', label: 'Step-wise, ephemeral' },
  { value: 'stepwise-cumulative', label: 'Step-wise, cumulative' },
  { value: 'global', label: 'Global (system prompt)' },
];

interface State {
  plan: Plan | undefined;
  rows: Map<number, StepRow>;
  requested: Set<number>;
  active: number;
  opened: number | undefined;
  divergenceOn: boolean;
  divergence: Map<number, number>;
  divergenceAsked: Set<number>;
  divergenceNote: { text: string; action?: 'startWorker' | 'trust' } | undefined;
}

const state: State = {
  plan: undefined,
  rows: new Map(),
  requested: new Set(),
  active: 0,
  opened: undefined,
  divergenceOn: false,
  divergence: new Map(),
  divergenceAsked: new Set(),
  divergenceNote: undefined,
};

let list: HTMLElement | undefined;
let spacer: HTMLElement | undefined;
let detailPane: HTMLElement | undefined;
let divergenceLine: HTMLElement | undefined;
let statusLine: HTMLElement | undefined;

function post(message: InjectionWebviewMessage): void {
  vscode.postMessage(message);
}

function select(label: string, options: readonly { value: string; label: string; disabled?: string }[], value: string, onChange: (value: string) => void): HTMLElement {
  const node = document.createElement('vscode-single-select');
  node.setAttribute('aria-label', label);
  for (const o of options) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', o.value);
    if (o.value === value) option.setAttribute('selected', '');
    if (o.disabled !== undefined) {
      option.setAttribute('disabled', '');
      option.setAttribute('description', o.disabled);
    }
    option.textContent = o.label;
    node.append(option);
  }
  node.addEventListener('change', () => {
    onChange((node as HTMLElement & { value: string }).value);
  });
  return el('label', { class: 'row' }, `${label} `, node);
}

function checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void): HTMLElement {
  const node = document.createElement('vscode-checkbox');
  node.setAttribute('label', label);
  node.setAttribute('aria-label', label);
  if (checked) node.setAttribute('checked', '');
  node.addEventListener('change', () => {
    onChange((node as HTMLElement & { checked: boolean }).checked);
  });
  return node;
}

function button(label: string, iconName: string, onClick: () => void, secondary = false): HTMLElement {
  const node = document.createElement('vscode-button');
  node.setAttribute('icon', iconName);
  if (secondary) node.setAttribute('secondary', '');
  node.textContent = label;
  node.addEventListener('click', onClick);
  return node;
}

/** Sends the toggles after validating them with the same schema the host uses. */
function changeOptions(patch: Partial<PreviewOptions>): void {
  if (state.plan === undefined) return;
  const parsed = previewOptionsSchema.safeParse({ ...state.plan.options, ...patch });
  if (parsed.success) post({ type: 'setOptions', options: parsed.data });
}

function toolbar(plan: Plan): HTMLElement {
  const o = plan.options;
  const modes = select('Mode', MODES, o.mode, (v) => {
    const mode = MODES.find((m) => m.value === v)?.value;
    if (mode !== undefined) changeOptions({ mode });
  });
  const ks = select('k', Array.from({ length: 8 }, (_, i) => ({ value: String(i + 1), label: String(i + 1) })), String(o.k), (v) => {
    changeOptions({ k: Number(v) });
  });
  const selectors = select(
    'Selector',
    [
      { value: 'embedding', label: 'Embedding (cosine + MMR)' },
      { value: 'rerank', label: 'LLM re-rank', disabled: plan.rerankUnavailable },
    ],
    o.selector,
    (v) => {
      if (v === 'embedding' || v === 'rerank') changeOptions({ selector: v });
    },
  );
  if (plan.rerankUnavailable !== undefined) selectors.title = plan.rerankUnavailable;
  const internalized = checkbox('Show internalized', o.includeInternalized, (checked) => {
    changeOptions({ includeInternalized: checked });
  });
  const divergence = checkbox('Divergence', state.divergenceOn, (checked) => {
    state.divergenceOn = checked;
    list?.classList.toggle('with-divergence', checked);
    if (checked) requestDivergence();
    renderDivergenceLine();
    renderRows();
  });
  return el('div', { class: 'row toolbar', role: 'toolbar', 'aria-label': 'Injection options' }, modes, ks, selectors, internalized, divergence);
}

function renderDivergenceLine(): void {
  if (divergenceLine === undefined) return;
  divergenceLine.replaceChildren();
  if (!state.divergenceOn) return;
  const note = state.divergenceNote;
  if (note === undefined) {
    divergenceLine.append(icon('pulse'), ' Divergence: mean KL(teacher ‖ student) per token of the recorded next action, for the visible steps.');
    return;
  }
  divergenceLine.append(icon('info'), ` ${note.text} `);
  if (note.action === 'startWorker') {
    divergenceLine.append(
      button('Start the worker', 'play', () => {
        state.divergenceNote = { text: 'Starting the training worker…' };
        renderDivergenceLine();
        post({ type: 'startWorker' });
      }),
    );
  } else if (note.action === 'trust') {
    divergenceLine.append(
      button('Manage Workspace Trust', 'shield', () => {
        post({ type: 'run', action: 'trust' });
      }),
    );
  }
}

/** The positions in view (plus the overscan), clamped to the plan. */
function visibleRange(): { first: number; last: number } {
  const count = state.plan?.rowCount ?? 0;
  if (list === undefined || count === 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(list.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(count - 1, Math.ceil((list.scrollTop + list.clientHeight) / ROW_HEIGHT) + OVERSCAN);
  return { first, last };
}

/** Asks for the blocks of rows in view that have not been asked for. */
function requestRows(first: number, last: number): void {
  const count = state.plan?.rowCount ?? 0;
  for (let block = Math.floor(first / BLOCK) * BLOCK; block <= last; block += BLOCK) {
    if (state.requested.has(block)) continue;
    state.requested.add(block);
    post({ type: 'rows', start: block, count: Math.min(BLOCK, count - block) });
  }
}

let divergenceTimer: ReturnType<typeof setTimeout> | undefined;

/** Asks for the divergence of visible steps without a score, once the scrolling settles. */
function requestDivergence(): void {
  if (!state.divergenceOn) return;
  if (divergenceTimer !== undefined) clearTimeout(divergenceTimer);
  divergenceTimer = setTimeout(() => {
    const { first, last } = visibleRange();
    const positions: number[] = [];
    for (let p = first; p <= last && positions.length < MAX_DIVERGENCE_STEPS; p++) if (!state.divergenceAsked.has(p)) positions.push(p);
    if (positions.length === 0) return;
    for (const p of positions) state.divergenceAsked.add(p);
    post({ type: 'divergence', positions });
  }, 250);
}

function rowElement(position: number): HTMLElement {
  const row = state.rows.get(position);
  const active = position === state.active;
  const node = el('div', {
    class: `vrow${active ? ' active' : ''}${position === state.opened ? ' opened' : ''}`,
    role: 'option',
    id: `row-${String(position)}`,
    'aria-selected': String(active),
    'data-position': String(position),
  });
  node.style.top = `${String(position * ROW_HEIGHT)}px`;
  if (row === undefined) {
    node.append(el('span', { class: 'muted' }, `Step … loading`));
    return node;
  }
  if (row.pending) {
    node.classList.add('pending');
    node.setAttribute('aria-label', `Step ${String(row.stepIndex + 1)}: ${row.action}. Not planned yet`);
    node.append(el('span', { class: 'step-no' }, String(row.stepIndex + 1)), el('span', { class: 'action', title: row.action }, row.action), el('span', { class: 'ids muted' }, '…'), el('span', { class: 'tokens' }, ''));
    return node;
  }
  node.setAttribute('aria-label', `Step ${String(row.stepIndex + 1)}: ${row.action}. ${row.selected.length === 0 ? 'No principles' : `Principles ${row.selected.join(', ')}`}, ${String(row.blockTokens)} tokens`);
  node.append(
    el('span', { class: 'step-no' }, String(row.stepIndex + 1)),
    el('span', { class: 'action', title: row.action }, row.action),
    el('span', { class: 'ids' }, row.selected.length === 0 ? '—' : row.selected.join(' ')),
    el('span', { class: 'tokens', title: 'Block tokens' }, row.blockTokens === 0 ? '' : `${String(row.blockTokens)} tok`),
  );
  if (row.fallback) node.append(icon('warning', 'The re-rank fell back to embedding order'));
  if (state.divergenceOn) {
    const kl = state.divergence.get(position);
    node.append(el('span', { class: 'kl', title: 'Mean KL per token of the next action (teacher ‖ student)' }, kl === undefined ? '·' : kl.toFixed(3)));
  }
  return node;
}

/** Puts exactly the rows in view into the DOM (a 5,000-step plan keeps a few dozen nodes). */
function renderRows(): void {
  if (list === undefined || spacer === undefined) return;
  const { first, last } = visibleRange();
  requestRows(first, last);
  const nodes: HTMLElement[] = [];
  for (let p = first; p <= last; p++) nodes.push(rowElement(p));
  spacer.replaceChildren(...nodes);
  list.setAttribute('aria-activedescendant', `row-${String(state.active)}`);
}

function moveTo(position: number): void {
  const count = state.plan?.rowCount ?? 0;
  if (count === 0 || list === undefined) return;
  state.active = Math.max(0, Math.min(count - 1, position));
  const top = state.active * ROW_HEIGHT;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + ROW_HEIGHT > list.scrollTop + list.clientHeight) list.scrollTop = top + ROW_HEIGHT - list.clientHeight;
  renderRows();
}

function open(position: number): void {
  state.opened = position;
  moveTo(position);
  detailPane?.replaceChildren(el('p', { class: 'muted' }, icon('loading~spin'), ' Loading the step…'));
  post({ type: 'selectStep', position });
}

/** A message with its injected ranges marked; the text goes in as text, never as markup. */
function messageView(m: ShownMessage, side: 'student' | 'teacher'): HTMLElement {
  const pre = el('pre', { class: 'message-text' });
  let at = 0;
  for (const [start, end] of [...m.injected].sort((a, b) => a[0] - b[0])) {
    if (start > at) pre.append(m.content.slice(at, start));
    pre.append(el('mark', { class: 'injected', 'aria-label': 'injected principles' }, m.content.slice(Math.max(start, at), end)));
    at = Math.max(at, end);
  }
  if (at < m.content.length) pre.append(m.content.slice(at));
  const head = el('div', { class: 'row muted' }, el('span', { class: `role ${m.role}` }, m.role), `message ${String(m.index + 1)}`);
  if (m.omitted > 0) head.append(el('span', {}, `· ${m.omitted.toLocaleString('en-US')} characters left out`));
  if (m.injected.length > 0) head.append(el('span', { class: 'badge' }, icon('lightbulb'), 'block'));
  return el('div', { class: `message ${side}`, 'data-role': m.role }, head, pre);
}

function reasonText(p: StepDetail['selected'][number]): string {
  const parts = [`cosine ${p.cosine.toFixed(3)}`, `MMR ${p.mmr.toFixed(3)}`, `scope ${p.scope}`];
  if (p.rerankPosition !== undefined) parts.push(`re-rank #${String(p.rerankPosition + 1)}`);
  return parts.join(' · ');
}

function renderDetail(d: StepDetail): void {
  if (detailPane === undefined || d.position !== state.opened) return;
  const principles = el('ol', { class: 'principles', 'aria-label': 'Selected principles' });
  for (const p of d.selected) {
    const item = el(
      'button',
      { class: 'principle', type: 'button', title: `Reveal ${p.id} in the Principles view`, 'data-id': p.id },
      el('span', { class: 'badge' }, p.id),
      el('span', { class: 'principle-text' }, p.text),
      el('span', { class: 'muted reason' }, reasonText(p)),
    );
    item.addEventListener('click', () => {
      post({ type: 'revealPrinciple', id: p.id });
    });
    principles.append(el('li', {}, item));
  }
  const global = state.plan?.options.mode === 'global';
  const parts: (HTMLElement | undefined)[] = [
    el('h2', {}, `Step ${String(d.stepIndex + 1)}`),
    el('details', {}, el('summary', {}, `Decision state (${String(d.stateTokens)} tokens, as embedded)`), el('pre', { class: 'state' }, d.state)),
    d.selected.length === 0
      ? el('p', { class: 'muted no-principles' }, global ? 'Global mode: nothing from the pool passed the filters for the system prompt.' : 'No principle passed the score floor and scope filter at this step: nothing is injected.')
      : el('section', {}, el('h3', {}, `${global ? 'Injected once, in the system prompt' : 'Injected principles'} (${String(d.selected.length)}) · block ${String(d.blockTokens)} tokens`), principles),
    d.rerankFallback === undefined ? undefined : el('p', { class: 'warning-text' }, icon('warning'), ` The re-rank fell back to embedding order: ${d.rerankFallback}`),
    d.excluded.length === 0
      ? undefined
      : el('details', {}, el('summary', {}, `Left out (${String(d.excluded.length)})`), el('ul', {}, ...d.excluded.map((e) => el('li', {}, `${e.id}: ${e.cause} (cosine ${e.cosine.toFixed(3)})`)))),
    d.earlierMessages > 0 ? el('p', { class: 'muted' }, `${d.earlierMessages.toLocaleString('en-US')} earlier messages are not shown.`) : undefined,
    el(
      'div',
      { class: 'views' },
      el('section', { class: 'view student', 'aria-label': 'Student view (without principles)' }, el('h3', {}, icon('person'), ' Student (without principles)'), ...d.student.map((m) => messageView(m, 'student'))),
      el('section', { class: 'view teacher', 'aria-label': 'Teacher view (with principles)' }, el('h3', {}, icon('mortar-board'), ' Teacher (with principles)'), ...d.teacher.map((m) => messageView(m, 'teacher'))),
    ),
  ];
  detailPane.replaceChildren(...parts.filter((p): p is HTMLElement => p !== undefined));
}

function renderPlan(plan: Plan): void {
  if (app === null) return;
  const same = state.plan?.trajectory.id === plan.trajectory.id;
  const keepActive = same ? state.active : 0;
  // The whole plan replacing the head's (or a re-plan) keeps the place the user scrolled to.
  const keepScroll = same ? (list?.scrollTop ?? 0) : 0;
  state.plan = plan;
  state.rows.clear();
  state.requested.clear();
  state.divergence.clear();
  state.divergenceAsked.clear();
  state.active = Math.min(keepActive, Math.max(0, plan.rowCount - 1));
  const modeLabel = MODES.find((m) => m.value === plan.options.mode)?.label ?? plan.options.mode;
  statusLine = el('p', { class: 'muted status', role: 'status' });
  divergenceLine = el('p', { class: 'muted divergence-line' });
  const header = el(
    'header',
    { class: 'sticky' },
    el('h1', {}, plan.trajectory.task.replace(/\s+/gu, ' ').slice(0, 200)),
    toolbar(plan),
    el(
      'p',
      { class: 'muted embedder' },
      icon('symbol-ruler'),
      ` Embedder: ${plan.embedder.description} · tokens: ${plan.tokenCounter === 'model' ? "the model's tokenizer" : 'estimated'} · ${String(plan.poolSize)} principles in the pool · ${String(plan.rowCount)} decision states · ${modeLabel}, k = ${String(plan.options.k)} · ${plan.planned < plan.rowCount ? `first ${String(plan.planned)} planned in` : 'planned in'} ${plan.planMs.toFixed(0)} ms`,
    ),
    plan.globalBlock === undefined
      ? undefined
      : el('details', { class: 'global-block' }, el('summary', {}, `Global block in the system prompt (${String(plan.globalBlock.tokens)} tokens)`), el('pre', {}, plan.globalBlock.text)),
    el('p', { class: 'muted' }, 'Keys: j / k or ↓ / ↑ move, Enter opens the step, Page Up / Page Down, Home / End.'),
    divergenceLine,
    statusLine,
  );
  if (plan.planned < plan.rowCount) statusLine.append(icon('loading~spin'), ` Planned the first ${plan.planned.toLocaleString('en-US')} of ${plan.rowCount.toLocaleString('en-US')} decision states; planning the rest (their rows show … until then).`);
  spacer = el('div', { class: 'vspacer' });
  spacer.style.height = `${String(plan.rowCount * ROW_HEIGHT)}px`;
  list = el('div', { class: `vlist${state.divergenceOn ? ' with-divergence' : ''}`, role: 'listbox', tabindex: '0', 'aria-label': `Decision states (${String(plan.rowCount)})` }, spacer);
  list.addEventListener('scroll', () => {
    renderRows();
    requestDivergence();
  });
  list.addEventListener('click', (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>('.vrow');
    const position = Number(target?.dataset.position);
    if (Number.isInteger(position)) open(position);
  });
  detailPane = el('div', { class: 'detail', 'aria-label': 'Step detail' });
  app.replaceChildren(header, el('div', { class: 'split' }, list, detailPane));
  list.scrollTop = keepScroll;
  renderRows();
  renderDivergenceLine();
  if (plan.rowCount > 0) open(state.active);
  else detailPane.append(el('p', { class: 'muted' }, 'This trajectory has no assistant steps: there is no decision state to inject into.'));
  requestDivergence();
}

function renderEmptyPool(message: Extract<InjectionHostMessage, { type: 'emptyPool' }>): void {
  state.plan = undefined;
  app?.replaceChildren(
    el('h1', {}, message.trajectory.task.replace(/\s+/gu, ' ').slice(0, 200)),
    el('div', { class: 'empty-state' }, el('p', {}, icon('lightbulb'), ' The pool has no accepted principles yet, so there is nothing to inject. Summarize captured runs into principles (with a model or the offline miner), or write one yourself; the preview plans again as soon as one is accepted.'), el('div', { class: 'row' }, button('Summarize Trajectories into Principles', 'lightbulb', () => {
      post({ type: 'run', action: 'summarize' });
    }), button('Add Principle…', 'add', () => {
      post({ type: 'run', action: 'addPrinciple' });
    }, true))),
  );
}

function renderError(message: Extract<InjectionHostMessage, { type: 'error' }>): void {
  const close = button('Close Preview', 'close', () => {
    post({ type: 'run', action: 'close' });
  });
  const box = el('div', { class: 'empty-state', role: 'alert' }, el('p', { class: 'error-text' }, icon(message.kind === 'deleted' ? 'trash' : 'error'), ` ${message.message}`), el('div', { class: 'row' }, close));
  if (message.kind === 'deleted' || state.plan === undefined) app?.replaceChildren(box);
  else if (statusLine !== undefined) statusLine.replaceChildren(box);
}

function onKey(event: KeyboardEvent): void {
  const target = event.target as HTMLElement | null;
  if (target !== null && /^(INPUT|TEXTAREA|VSCODE-SINGLE-SELECT|VSCODE-CHECKBOX|VSCODE-BUTTON|BUTTON|SUMMARY)$/u.test(target.tagName)) return;
  if (state.plan === undefined || list === undefined) return;
  const page = Math.max(1, Math.floor(list.clientHeight / ROW_HEIGHT) - 1);
  switch (event.key) {
    case 'j':
    case 'ArrowDown':
      moveTo(state.active + 1);
      break;
    case 'k':
    case 'ArrowUp':
      moveTo(state.active - 1);
      break;
    case 'PageDown':
      moveTo(state.active + page);
      break;
    case 'PageUp':
      moveTo(state.active - page);
      break;
    case 'Home':
      moveTo(0);
      break;
    case 'End':
      moveTo(state.plan.rowCount - 1);
      break;
    case 'Enter':
      open(state.active);
      break;
    default:
      return;
  }
  event.preventDefault();
  list.focus();
}

document.addEventListener('keydown', onKey);

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = injectionHostMessage.safeParse(event.data);
  if (!parsed.success) return;
  const message = parsed.data;
  switch (message.type) {
    case 'plan':
      renderPlan(message);
      break;
    case 'rows':
      for (const row of message.rows) state.rows.set(row.position, row);
      renderRows();
      break;
    case 'detail':
      renderDetail(message.detail);
      break;
    case 'divergence':
      state.divergenceNote = undefined;
      for (const s of message.scores) state.divergence.set(s.position, s.klPerToken);
      renderDivergenceLine();
      renderRows();
      // Started on request, with nothing scored yet: ask for the visible steps now.
      if (message.scores.length === 0) requestDivergence();
      break;
    case 'divergenceUnavailable':
      state.divergenceNote = { text: message.reason, action: message.action };
      state.divergenceAsked.clear();
      renderDivergenceLine();
      break;
    case 'busy':
      if (state.plan === undefined) app?.replaceChildren(el('p', { class: 'muted', role: 'status' }, icon('loading~spin'), ` ${message.message}`));
      else statusLine?.replaceChildren(icon('loading~spin'), ` ${message.message}`);
      break;
    case 'emptyPool':
      renderEmptyPool(message);
      break;
    case 'error':
      renderError(message);
      break;
  }
});

window.addEventListener('resize', () => {
  renderRows();
});

post({ type: 'ready' });
