import '@vscode-elements/elements/dist/vscode-button/index.js';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import {
  dashboardHostMessage,
  LOG_TAIL_LINES,
  type CapabilityCurve,
  type ChartPoint,
  type DashboardHostMessage,
  type DashboardTab,
  type DashboardWebviewMessage,
  type RunProgress,
  type RunResult,
  type RunStatus,
  type RunView,
} from '../../src/protocol/dashboard.js';
import { el, icon, vscodeApi } from '../shared/vscode.js';

const vscode = vscodeApi<DashboardWebviewMessage>();
const app = document.getElementById('app');

// esbuild writes the imported sheets beside this script (dashboard.css); the CSP allows styles from
// the extension's own files, so they are linked rather than inlined.
const script = document.querySelector<HTMLScriptElement>('script[src*="dashboard.js"]');
if (script !== null) {
  const sheet = document.createElement('link');
  sheet.rel = 'stylesheet';
  sheet.href = new URL('dashboard.css', script.src).toString();
  document.head.append(sheet);
}

function post(message: DashboardWebviewMessage): void {
  vscode.postMessage(message);
}

/** A theme colour by its variable name, read when a chart is built (the theme can change; charts are rebuilt then). */
function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-yellow', '--vscode-charts-red'];

function paletteColor(i: number): string {
  return themeColor(PALETTE[i % PALETTE.length] ?? '--vscode-charts-blue', '#3794ff');
}

function button(label: string, iconName: string, onClick: () => void, secondary = false): HTMLElement {
  const node = document.createElement('vscode-button');
  node.setAttribute('icon', iconName);
  if (secondary) node.setAttribute('secondary', '');
  node.textContent = label;
  node.addEventListener('click', onClick);
  return node;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${String(Math.ceil(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${String(minutes)} min ${String(Math.round(seconds % 60))} s`;
  return `${String(Math.floor(minutes / 60))} h ${String(minutes % 60)} min`;
}

const STATUS_TEXT: Record<RunStatus, string> = {
  starting: 'Starting',
  running: 'Running',
  done: 'Done',
  collapsed: 'Collapsed',
  failed: 'Failed',
  cancelled: 'Stopped',
};

/** A line chart over training steps; data arrives in batches and is appended. */
class StepChart {
  readonly root: HTMLElement;
  private plot: uPlot | undefined;
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private readonly note: HTMLElement;
  private readonly body: HTMLElement;

  constructor(
    readonly key: 'loss' | 'kl' | 'tokensPerS',
    private readonly title: string,
    private readonly color: string,
    private readonly emptyNote: string,
  ) {
    this.note = el('p', { class: 'muted note' }, emptyNote);
    this.body = el('div', {});
    this.root = el('figure', { class: 'chart', 'data-chart': key, 'data-points': '0', role: 'img', 'aria-label': `${title}: no data yet` }, el('h3', {}, title), this.note, this.body);
  }

  append(points: readonly ChartPoint[]): void {
    for (const p of points) {
      const y = p[this.key];
      if (y === undefined) continue;
      this.xs.push(p.step);
      this.ys.push(y);
    }
    if (this.xs.length === 0) return;
    this.note.remove();
    const last = this.ys[this.ys.length - 1] ?? 0;
    this.root.setAttribute('data-points', String(this.xs.length));
    this.root.setAttribute('aria-label', `${this.title}: ${String(this.xs.length)} steps, latest ${last.toPrecision(4)}`);
    if (this.plot === undefined) this.build();
    else this.plot.setData([this.xs, this.ys]);
  }

  private build(): void {
    if (!this.root.isConnected) return;
    const width = Math.max(240, this.root.clientWidth - 16);
    const axis = { stroke: themeColor('--vscode-foreground', '#ccc'), grid: { stroke: themeColor('--vscode-widget-border', 'rgba(128,128,128,0.2)'), width: 1 } };
    this.plot = new uPlot(
      {
        width,
        height: 170,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [{ ...axis, label: 'step' }, axis],
        series: [{ label: 'step' }, { label: this.title, stroke: this.color, width: 1.5, points: { show: false } }],
      },
      [this.xs, this.ys],
      this.body,
    );
  }

  /** The tab became visible or the panel was resized: charts take the new width (and build if they waited for it). */
  resize(): void {
    if (this.xs.length === 0) return;
    if (this.plot === undefined) {
      this.build();
      return;
    }
    this.plot.setSize({ width: Math.max(240, this.root.clientWidth - 16), height: 170 });
  }

  destroy(): void {
    this.plot?.destroy();
  }
}

interface Ui {
  tabs: Map<DashboardTab, HTMLElement>;
  panels: Map<DashboardTab, HTMLElement>;
  runPanel: HTMLElement;
  curvePanel: HTMLElement;
}

let tab: DashboardTab = 'run';
let run: RunView | undefined;
let curve: CapabilityCurve | undefined;
let charts: StepChart[] = [];
let curvePlot: uPlot | undefined;
let ui: Ui | undefined;
let logPre: HTMLPreElement | undefined;
let progressNode: HTMLElement | undefined;
let resultNode: HTMLElement | undefined;
let statusBadge: HTMLElement | undefined;
let cancelButton: HTMLElement | undefined;

function selectTab(next: DashboardTab, focus = false): void {
  tab = next;
  if (ui === undefined) return;
  for (const [name, node] of ui.tabs) {
    const selected = name === next;
    node.setAttribute('aria-selected', String(selected));
    node.setAttribute('tabindex', selected ? '0' : '-1');
    if (selected && focus) node.focus();
  }
  for (const [name, node] of ui.panels) node.hidden = name !== next;
  if (next === 'run') for (const c of charts) c.resize();
  else renderCurve();
}

function shell(): Ui {
  if (ui !== undefined) return ui;
  if (app === null) throw new Error('The dashboard has no #app element.');
  const names: readonly { id: DashboardTab; label: string; icon: string }[] = [
    { id: 'run', label: 'Current round', icon: 'pulse' },
    { id: 'curve', label: 'Capability curve', icon: 'graph-line' },
  ];
  const tabs = new Map<DashboardTab, HTMLElement>();
  const panels = new Map<DashboardTab, HTMLElement>();
  const list = el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Run Dashboard' });
  for (const n of names) {
    const t = el('button', { role: 'tab', id: `tab-${n.id}`, 'aria-controls': `panel-${n.id}`, type: 'button' }, icon(n.icon), ` ${n.label}`);
    t.addEventListener('click', () => {
      selectTab(n.id);
      post({ type: 'tab', tab: n.id });
    });
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the panel.
    t.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
      event.preventDefault();
      const i = names.findIndex((x) => x.id === n.id);
      const next = names[(i + (event.key === 'ArrowRight' ? 1 : names.length - 1)) % names.length];
      if (next === undefined) return;
      selectTab(next.id, true);
      post({ type: 'tab', tab: next.id });
    });
    tabs.set(n.id, t);
    list.append(t);
  }
  const runPanel = el('section', { role: 'tabpanel', id: 'panel-run', 'aria-labelledby': 'tab-run' });
  const curvePanel = el('section', { role: 'tabpanel', id: 'panel-curve', 'aria-labelledby': 'tab-curve' });
  panels.set('run', runPanel);
  panels.set('curve', curvePanel);
  app.replaceChildren(list, runPanel, curvePanel);
  ui = { tabs, panels, runPanel, curvePanel };
  new ResizeObserver(() => {
    if (tab === 'run') for (const c of charts) c.resize();
    else curvePlot?.setSize({ width: curveWidth(), height: 320 });
  }).observe(app);
  return ui;
}

function renderProgress(progress: RunProgress | undefined, status: RunStatus): void {
  if (progressNode === undefined) return;
  const percent = progress?.percent ?? 0;
  const fill = el('div', { class: 'bar-fill' });
  fill.style.width = `${percent.toFixed(1)}%`;
  const bar = el('div', { class: 'bar-track', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': percent.toFixed(0), 'aria-label': 'Round progress' }, fill);
  const parts: (string | HTMLElement)[] = [el('strong', { 'data-percent': percent.toFixed(0) }, `${percent.toFixed(0)}%`)];
  if (progress !== undefined) {
    parts.push(el('span', {}, `${progress.phase}${progress.principle === undefined ? '' : ` ${progress.principle}`}`));
    if (progress.total > 0) parts.push(el('span', { class: 'muted' }, `step ${String(progress.step)} of ${String(progress.total)}`));
    if (progress.etaS !== undefined && progress.etaS > 0 && (status === 'running' || status === 'starting')) parts.push(el('span', { class: 'muted' }, `about ${duration(progress.etaS)} left in this phase`));
  } else if (status === 'starting') {
    parts.push(el('span', { class: 'muted' }, 'Starting the training worker…'));
  }
  progressNode.replaceChildren(bar, el('div', { class: 'progress-line' }, ...parts));
}

function renderStatus(status: RunStatus): void {
  if (statusBadge !== undefined) {
    statusBadge.textContent = STATUS_TEXT[status];
    statusBadge.className = `badge ${status === 'done' ? 'success' : status === 'failed' || status === 'collapsed' ? 'failure' : ''}`;
  }
  if (cancelButton !== undefined) cancelButton.hidden = !(status === 'running' || status === 'starting');
}

function renderResult(result: RunResult | undefined): void {
  if (resultNode === undefined || run === undefined) return;
  if (result === undefined) {
    resultNode.replaceChildren();
    return;
  }
  const iteration = run.iteration;
  const box = el('div', { class: `result ${result.status}`, role: 'region', 'aria-label': 'Result' });
  const heading = result.status === 'done' ? 'Iteration finished' : result.status === 'collapsed' ? 'Iteration collapsed: the loop stops' : result.status === 'cancelled' ? 'Round stopped' : 'Round failed';
  box.append(el('h2', {}, heading), el('p', {}, result.summary));
  if (result.reasons.length > 0) box.append(el('ul', {}, ...result.reasons.map((r) => el('li', { class: result.status === 'failed' ? 'error-text' : '' }, r))));
  if (result.metrics.length > 0) {
    const rows = result.metrics.map((m) => {
      const judgement = m.judgement === undefined ? undefined : el('span', { class: `judgement ${m.judgement}` }, m.judgement === 'better' ? ' ▲ better than base' : m.judgement === 'worse' ? ' ▼ worse than base' : ' = same as base');
      // The explanation is both visible and the tooltip: jargon is explained where it is read.
      return el('tr', { title: m.explanation }, el('th', { scope: 'row' }, m.label), el('td', {}, m.value, judgement), el('td', { class: 'explain' }, m.explanation));
    });
    box.append(el('table', { class: 'metrics', 'aria-label': 'Metrics of this iteration' }, el('thead', {}, el('tr', {}, el('th', {}, 'Metric'), el('th', {}, 'Value'), el('th', {}, 'What it means'))), el('tbody', {}, ...rows)));
  }
  const actions = el('div', { class: 'actions' });
  if (result.checkpoint !== undefined && (result.status === 'failed' || result.status === 'cancelled')) {
    box.append(el('p', { class: 'muted' }, `Checkpoint kept: ${result.checkpoint}`));
    actions.append(button('Resume Round', 'debug-continue', () => {
      post({ type: 'resume', iteration });
    }));
  }
  actions.append(
    button('Capability Curve', 'graph-line', () => {
      selectTab('curve');
      post({ type: 'tab', tab: 'curve' });
    }, true),
  );
  box.append(actions);
  resultNode.replaceChildren(box);
}

function appendLog(lines: readonly string[]): void {
  if (logPre === undefined || lines.length === 0) return;
  const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
  const kept = [...(logPre.textContent === '' ? [] : logPre.textContent.split('\n')), ...lines].slice(-LOG_TAIL_LINES);
  logPre.textContent = kept.join('\n');
  // Follow the tail unless the user scrolled up to read.
  if (atBottom) logPre.scrollTop = logPre.scrollHeight;
}

function renderRun(): void {
  const { runPanel } = shell();
  for (const c of charts) c.destroy();
  charts = [];
  if (run === undefined) {
    runPanel.replaceChildren(
      el('div', { class: 'empty-state' }, el('p', {}, 'No round has run in this window yet. A round trains the local model so that it behaves, without principles in its context, the way it does with them.'), button('Start Distillation Round', 'play', () => {
        post({ type: 'startRound' });
      })),
    );
    return;
  }
  statusBadge = el('span', { class: 'badge' });
  cancelButton = button('Cancel', 'debug-stop', () => {
    post({ type: 'cancel' });
  }, true);
  cancelButton.setAttribute('aria-label', 'Cancel the round (its last checkpoint is kept)');
  const header = el('header', { class: 'row' }, el('h1', {}, `Iteration ${String(run.iteration)} · ${run.title}`), statusBadge, cancelButton);
  progressNode = el('div', { class: 'progress' });
  resultNode = el('div', {});
  charts = [
    new StepChart('loss', 'Loss', paletteColor(0), 'The loss appears with the first training step.'),
    new StepChart('kl', 'KL (teacher ‖ student)', paletteColor(1), 'This worker reports the loss only: in the off-policy regime (no CE term) the loss is this KL plus the replay term.'),
    new StepChart('tokensPerS', 'Tokens per second', paletteColor(2), 'Speed appears with the first training step.'),
  ];
  logPre = el('pre', { class: 'log', tabindex: '0', 'aria-label': 'Worker log, last 200 lines' });
  const logHead = el('div', { class: 'row' }, el('h2', {}, 'Worker log'), button('Open Full Log', 'output', () => {
    post({ type: 'showLog' });
  }, true));
  runPanel.replaceChildren(header, progressNode, resultNode, el('div', { class: 'charts' }, ...charts.map((c) => c.root)), logHead, logPre);
  renderStatus(run.status);
  renderProgress(run.progress, run.status);
  renderResult(run.result);
  for (const c of charts) c.append(run.points);
  appendLog(run.log);
}

function curveWidth(): number {
  return Math.max(320, shell().curvePanel.clientWidth - 16);
}

function renderCurve(): void {
  const { curvePanel } = shell();
  curvePlot?.destroy();
  curvePlot = undefined;
  if (curve === undefined || curve.iterations.length === 0) {
    curvePanel.replaceChildren(el('div', { class: 'empty-state' }, el('p', {}, 'No finished iteration yet. After each round, this curve shows every principle\'s score and the retention of general ability, iteration by iteration, so a collapse is seen at a glance.')));
    return;
  }
  const c = curve;
  const intro = el(
    'p',
    { class: 'muted' },
    'One line per principle: its score (the share of the teacher–base gap closed without the principle in context). Retention NLL (×base): general text under the trained model against the base model; above the dashed limit the collapse guard stops the loop.',
  );
  const body = el('div', {});
  const figure = el('figure', { class: 'chart curve', 'data-chart': 'curve', 'data-points': String(c.iterations.length), role: 'img', 'aria-label': `Capability curve over ${String(c.iterations.length)} iterations: ${c.series.map((s) => s.label).join(', ')}` }, body);
  const table = curveTable(c);
  curvePanel.replaceChildren(intro, figure, table);
  if (tab !== 'curve') return;
  const xs = c.iterations;
  let principleIndex = 0;
  const series: uPlot.Series[] = [{ label: 'iteration' }];
  const data: (number | null)[][] = [xs];
  for (const s of c.series) {
    const color = s.kind === 'retention' ? themeColor('--vscode-charts-red', '#f14c4c') : s.kind === 'accuracy' ? themeColor('--vscode-charts-green', '#89d185') : paletteColor(principleIndex++);
    series.push({ label: s.label, stroke: color, width: s.kind === 'principle' ? 1.5 : 2.5, spanGaps: true, points: { show: true, size: 6 } });
    data.push(s.values);
  }
  series.push({ label: `Guard limit ×${c.retentionLimit.toFixed(2)}`, stroke: themeColor('--vscode-charts-red', '#f14c4c'), dash: [6, 4], width: 1, points: { show: false } });
  data.push(xs.map(() => c.retentionLimit));
  const axis = { stroke: themeColor('--vscode-foreground', '#ccc'), grid: { stroke: themeColor('--vscode-widget-border', 'rgba(128,128,128,0.2)'), width: 1 } };
  curvePlot = new uPlot(
    {
      width: curveWidth(),
      height: 320,
      scales: { x: { time: false } },
      axes: [{ ...axis, label: 'iteration', incrs: [1], values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) }, axis],
      series,
    },
    data as uPlot.AlignedData,
    body,
  );
}

/** The curve's numbers as a table: readable by screen readers and exact where the chart is not. */
function curveTable(c: CapabilityCurve): HTMLElement {
  const fmt = (v: number | null | undefined, kind: string): string => (v === null || v === undefined ? '—' : kind === 'retention' ? `×${v.toFixed(3)}` : v.toFixed(2));
  const head = el('tr', {}, el('th', {}, 'Series'), ...c.iterations.map((n, i) => el('th', { title: c.statuses[i] ?? '' }, `It. ${String(n)}${c.statuses[i] === 'rolled-back' ? ' (rolled back)' : c.statuses[i] === 'collapsed' ? ' (collapsed)' : ''}`)));
  const rows = c.series.map((s) => el('tr', {}, el('th', { scope: 'row' }, s.label), ...s.values.map((v) => el('td', {}, fmt(v, s.kind)))));
  return el('table', { class: 'metrics', 'aria-label': 'Capability curve values' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

function onMessage(message: DashboardHostMessage): void {
  switch (message.type) {
    case 'state':
      run = message.run;
      curve = message.curve;
      shell();
      renderRun();
      renderCurve();
      selectTab(message.tab);
      return;
    case 'delta': {
      if (run?.iteration !== message.iteration) return;
      run = { ...run, status: message.status, progress: message.progress ?? run.progress, points: [...run.points, ...message.points], log: [...run.log, ...message.log].slice(-LOG_TAIL_LINES) };
      renderStatus(message.status);
      renderProgress(run.progress, message.status);
      for (const ch of charts) ch.append(message.points);
      appendLog(message.log);
      return;
    }
    case 'result':
      if (run?.iteration !== message.iteration) return;
      run = { ...run, status: message.result.status, result: message.result, progress: message.result.status === 'done' || message.result.status === 'collapsed' ? { phase: 'Finished', step: run.progress?.total ?? 0, total: run.progress?.total ?? 0, percent: 100, etaS: 0 } : run.progress };
      renderStatus(run.status);
      renderProgress(run.progress, run.status);
      renderResult(message.result);
      return;
    case 'curve':
      curve = message.curve;
      renderCurve();
      return;
    case 'tab':
      selectTab(message.tab);
      return;
    case 'error':
      shell().runPanel.prepend(el('p', { class: 'error-text', role: 'alert' }, message.message));
      return;
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = dashboardHostMessage.safeParse(event.data);
  if (!parsed.success) {
    console.warn(`Run Dashboard: ignored a malformed message: ${parsed.error.message}`);
    return;
  }
  onMessage(parsed.data);
});

post({ type: 'ready' });
