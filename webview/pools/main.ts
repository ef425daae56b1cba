import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { poolsHostMessage, poolRefSchema, type ComparedEntryView, type PoolRefMessage, type PoolsHostMessage, type PoolsWebviewMessage } from '../../src/protocol/pools.js';
import { el, icon, vscodeApi } from '../shared/vscode.js';

const vscode = vscodeApi<PoolsWebviewMessage>();
const app = document.getElementById('app');

type Show = Extract<PoolsHostMessage, { type: 'show' }>;

const SECTIONS: readonly { kind: ComparedEntryView['kind']; title: string; icon: string }[] = [
  { kind: 'ADD', title: 'Added', icon: 'diff-added' },
  { kind: 'UPDATE', title: 'Updated', icon: 'diff-modified' },
  { kind: 'MERGE', title: 'Merged', icon: 'merge' },
  { kind: 'DELETE', title: 'Deleted', icon: 'diff-removed' },
];

function refSelect(label: string, refs: Show['refs'], value: PoolRefMessage, onChange: (ref: PoolRefMessage) => void): HTMLElement {
  const select = document.createElement('vscode-single-select');
  select.setAttribute('aria-label', label);
  refs.forEach((r, i) => {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', String(i));
    if (JSON.stringify(r.ref) === JSON.stringify(value)) option.setAttribute('selected', '');
    option.textContent = r.label;
    select.append(option);
  });
  select.addEventListener('change', () => {
    const index = Number((select as HTMLElement & { value: string }).value);
    const parsed = poolRefSchema.safeParse(refs[index]?.ref);
    if (parsed.success) onChange(parsed.data);
  });
  return el('label', { class: 'row' }, `${label} `, select);
}

/** The word-level diff: removed words struck through, added words marked, both readable by screen readers. */
function diffText(entry: ComparedEntryView): HTMLElement {
  const p = el('p', { class: 'principle-text' });
  for (const s of entry.segments ?? []) {
    if (s.kind === 'same') p.append(s.text);
    else if (s.kind === 'added') p.append(el('ins', { 'aria-label': `added: ${s.text}` }, s.text));
    else p.append(el('del', { 'aria-label': `removed: ${s.text}` }, s.text));
  }
  return p;
}

function renderEntry(entry: ComparedEntryView): HTMLElement {
  const li = el('li', { tabindex: '0', class: `entry ${entry.kind.toLowerCase()}`, 'data-id': entry.principleId });
  const head = el('div', { class: 'row' }, el('span', { class: 'badge' }, entry.principleId));
  if (entry.kind === 'MERGE' && entry.mergedIds !== undefined) head.append(el('span', { class: 'muted' }, `absorbed ${entry.mergedIds.join(', ')}`));
  if (entry.scopeBefore !== undefined && entry.scopeAfter !== undefined && entry.scopeBefore !== entry.scopeAfter) head.append(el('span', { class: 'muted' }, `scope ${entry.scopeBefore} → ${entry.scopeAfter}`));
  li.append(head);
  if (entry.kind === 'ADD') li.append(el('p', { class: 'principle-text' }, el('ins', {}, entry.after ?? '')));
  else if (entry.kind === 'DELETE') li.append(el('p', { class: 'principle-text' }, el('del', {}, entry.before ?? '')));
  else li.append(diffText(entry));
  if (entry.kind === 'MERGE') {
    for (const [i, text] of (entry.mergedTexts ?? []).entries()) li.append(el('p', { class: 'muted merged' }, icon('merge'), ` ${entry.mergedIds?.[i] ?? ''}: `, el('del', {}, text)));
  }
  if (entry.rationale !== undefined && entry.rationale !== '') li.append(el('p', { class: 'muted' }, el('strong', {}, 'Why: '), entry.rationale));
  if (entry.evidence.length > 0) {
    const list = el('ul', { class: 'evidence', 'aria-label': 'Evidence' });
    for (const e of entry.evidence) {
      const button = el('button', { class: 'link', type: 'button', title: 'Open the trajectory at this step' }, icon('references'), ` ${e.title}${e.stepIndex === undefined ? '' : ` · step ${String(e.stepIndex + 1)}`}`);
      button.addEventListener('click', () => {
        vscode.postMessage({ type: 'openEvidence', trajectoryId: e.trajectoryId, stepIndex: e.stepIndex });
      });
      list.append(el('li', {}, button));
    }
    li.append(list);
  }
  return li;
}

/** Compare with Previous: how the iteration's metrics moved, each explained in its row's tooltip. */
function metricsSection(metrics: NonNullable<Show['metrics']>): HTMLElement {
  const section = el('section', { 'aria-label': metrics.title }, el('h2', { class: 'row' }, icon('graph-line'), metrics.title));
  if (metrics.note !== undefined) section.append(el('p', { class: 'muted' }, metrics.note));
  if (metrics.deltas.length === 0) {
    section.append(el('p', { class: 'muted' }, 'The two iterations share no metric to compare.'));
    return section;
  }
  const rows = metrics.deltas.map((d) =>
    el(
      'tr',
      { title: d.explanation },
      el('th', { scope: 'row' }, d.label),
      el('td', {}, d.before),
      el('td', {}, d.after),
      el('td', { class: d.judgement === 'better' ? 'delta better' : d.judgement === 'worse' ? 'delta worse' : 'delta' }, `${d.change}${d.judgement === 'better' ? ' (better)' : d.judgement === 'worse' ? ' (worse)' : ''}`),
    ),
  );
  section.append(el('table', { class: 'metric-deltas', 'aria-label': 'Metric deltas' }, el('thead', {}, el('tr', {}, el('th', {}, 'Metric'), el('th', {}, 'Before'), el('th', {}, 'After'), el('th', {}, 'Change'))), el('tbody', {}, ...rows)));
  return section;
}

function render(message: Show): void {
  if (app === null) return;
  const c = message.comparison;
  const count = (kind: ComparedEntryView['kind']): number => c.entries.filter((e) => e.kind === kind).length;
  const compare = (from: PoolRefMessage, to: PoolRefMessage): void => {
    vscode.postMessage({ type: 'compare', from, to });
  };
  const header = el(
    'header',
    { class: 'sticky' },
    el('h1', {}, `Principle pool: ${c.from} → ${c.to}`),
    el('div', { class: 'row' }, refSelect('From', message.refs, message.from, (ref) => {
      compare(ref, message.to);
    }), refSelect('To', message.refs, message.to, (ref) => {
      compare(message.from, ref);
    })),
    el(
      'p',
      { class: 'muted summary' },
      `${String(c.sizeBefore)} → ${String(c.sizeAfter)} principles · ${String(count('ADD'))} added · ${String(count('UPDATE'))} updated · ${String(count('MERGE'))} merged · ${String(count('DELETE'))} deleted · ${String(c.unchanged)} unchanged`,
    ),
    el('p', { class: 'muted' }, 'Keys: j / k or ↓ / ↑ move between changes.'),
  );
  const body: HTMLElement[] = [];
  for (const section of SECTIONS) {
    const entries = c.entries.filter((e) => e.kind === section.kind);
    if (entries.length === 0) continue;
    const list = el('ol', { class: 'entries', 'aria-label': section.title });
    for (const entry of entries) list.append(renderEntry(entry));
    body.push(el('section', {}, el('h2', { class: 'row' }, icon(section.icon), `${section.title} (${String(entries.length)})`), list));
  }
  if (body.length === 0) body.push(el('p', { class: 'muted' }, `No differences: the two pools hold the same ${String(c.unchanged)} principles.`));
  if (message.metrics !== undefined) body.unshift(metricsSection(message.metrics));
  app.replaceChildren(header, ...body);
}

function moveFocus(delta: number): void {
  const items = [...document.querySelectorAll<HTMLElement>('li.entry')];
  const current = items.findIndex((i) => i === document.activeElement || i.contains(document.activeElement));
  const next = items[current < 0 ? 0 : Math.min(items.length - 1, Math.max(0, current + delta))];
  next?.focus();
  next?.scrollIntoView({ block: 'nearest' });
}

document.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement | null;
  if (target !== null && /^(INPUT|TEXTAREA|VSCODE-SINGLE-SELECT)$/u.test(target.tagName)) return;
  if (event.key === 'j' || event.key === 'ArrowDown') moveFocus(1);
  else if (event.key === 'k' || event.key === 'ArrowUp') moveFocus(-1);
  else return;
  event.preventDefault();
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = poolsHostMessage.safeParse(event.data);
  if (!parsed.success) return;
  if (parsed.data.type === 'show') render(parsed.data);
  else app?.replaceChildren(el('p', { class: 'error-text' }, parsed.data.message));
});

vscode.postMessage({ type: 'ready' });
