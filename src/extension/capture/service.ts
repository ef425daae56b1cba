import { existsSync, watch as fsWatch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import { configureLocations, currentEnvironment, defaultLocations, locationMatches, type SourceLocation } from '../../core/capture/locations.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { serializeLocation, type CaptureRequest, type CaptureResponse, type SerializedReport } from './messages.js';

type Job = { readonly kind: 'capture'; readonly locations: readonly SourceLocation[] } | { readonly kind: 'import'; readonly paths: readonly string[] };

/** One line a person can read: what was captured, what was skipped. */
export function describeReport(report: SerializedReport): string {
  const redacted = Object.values(report.redactions).reduce((a, b) => a + b, 0);
  const parts = [`${String(report.trajectories)} trajectories from ${String(report.files)} files`];
  if (report.unchanged > 0) parts.push(`${String(report.unchanged)} unchanged`);
  if (redacted > 0) parts.push(`${String(redacted)} secrets redacted`);
  if (report.issues.length > 0) parts.push(`${String(report.issues.length)} lines skipped`);
  if (report.errors.length > 0) parts.push(`${String(report.errors.length)} files unreadable`);
  if (report.empty.length > 0) parts.push(`${String(report.empty.length)} ${report.empty.length === 1 ? 'file' : 'files'} gave nothing`);
  return `${parts.join(', ')} (${report.seconds.toFixed(1)} s)`;
}

/**
 * Owns live capture: the watchers over every agent's log folders, the debounce, the worker thread
 * that parses off the extension host, and the status bar item while a capture runs.
 */
export class CaptureService implements vscode.Disposable {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: SerializedReport) => void; reject: (e: Error) => void }>();
  private queue: Promise<unknown> = Promise.resolve();
  private watchers: { dispose(): void }[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly status: vscode.StatusBarItem;
  private running = 0;

  constructor(private readonly ctx: InternalizeContext) {
    this.status = vscode.window.createStatusBarItem('internalize.capture', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'Internalize Capture';
    this.status.command = 'internalize.showLog';
  }

  /** The locations in force: defaults per OS, adjusted by `internalize.capture.sources`. */
  locations(): SourceLocation[] {
    const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return configureLocations(defaultLocations({ ...currentEnvironment(), workspaceFolders }), Object.fromEntries(config.captureSources()));
  }

  /**
   * (Re)creates watchers over the locations that exist now; called at start and on settings changes.
   * Node's recursive fs.watch is used rather than the editor's watcher: the agents' folders lie outside
   * the workspace, where the editor's watcher is not guaranteed to be recursive.
   */
  watch(): void {
    for (const w of this.watchers.splice(0)) w.dispose();
    if (!config.captureEnabled()) {
      this.ctx.log.info('Live capture is off (internalize.capture.enabled).');
      return;
    }
    const locations = this.locations();
    const present = locations.filter((l) => existsSync(l.root));
    // An agent installed later creates its folder then: watch for that one name (never a whole home folder).
    const awaited = new Set<string>();
    for (const location of locations.filter((l) => !existsSync(l.root))) {
      let child = location.root;
      let parent = dirname(child);
      while (!existsSync(parent) && parent !== dirname(parent)) {
        child = parent;
        parent = dirname(parent);
      }
      const key = `${parent}\u0000${basename(child)}`;
      if (awaited.has(key) || !existsSync(parent)) continue;
      awaited.add(key);
      this.addWatcher(parent, false, (name) => {
        if (name !== basename(child) || !existsSync(child)) return;
        this.ctx.log.info(`${child} appeared; watching it for agent logs.`);
        setTimeout(() => {
          this.watch();
        }, 0);
      });
    }
    for (const location of present) {
      // A project folder (aider) is watched for its top-level file only, never recursively through the source tree.
      this.addWatcher(location.root, location.depth > 0, (name) => {
        if (locationMatches(location, join(location.root, name))) this.schedule(location);
      });
    }
    this.ctx.log.info(`Watching ${String(present.length)} agent log folder(s): ${present.map((l) => `${l.source} ${l.root}`).join('; ') || 'none found'}`);
  }

  private addWatcher(folder: string, recursive: boolean, onName: (name: string) => void): void {
    try {
      const watcher = fsWatch(folder, { recursive, persistent: false }, (_event, name) => {
        if (name !== null) onName(name);
      });
      watcher.on('error', (error) => {
        this.ctx.log.warn(`Stopped watching ${folder}: ${error.message}`);
      });
      this.watchers.push({
        dispose: () => {
          watcher.close();
        },
      });
    } catch (error) {
      this.ctx.log.warn(`Cannot watch ${folder} (${error instanceof Error ? error.message : String(error)}); use Capture Now to read it.`);
    }
  }

  private schedule(location: SourceLocation): void {
    const key = `${location.source}\u0000${location.root}`;
    const existing = this.timers.get(key);
    if (existing !== undefined) clearTimeout(existing);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.run({ kind: 'capture', locations: [location] }).then(
          (report) => {
            if (report.trajectories > 0) this.ctx.log.info(`Live capture (${location.source}): ${describeReport(report)}`);
            this.logProblems(report);
          },
          (error: unknown) => {
            this.ctx.log.error(`Live capture (${location.source}) failed: ${error instanceof Error ? error.message : String(error)}`);
          },
        );
      }, config.captureDebounceMs()),
    );
  }

  /** Runs one capture or import in the worker; jobs run one after another, never in parallel. */
  run(job: Job): Promise<SerializedReport> {
    const result = this.queue.then(() => this.send(job));
    this.queue = result.catch(() => undefined);
    return result;
  }

  logProblems(report: SerializedReport): void {
    for (const issue of report.issues.slice(0, 50)) {
      this.ctx.log.warn(`${issue.file}${issue.line === undefined ? '' : `:${String(issue.line)}`}${issue.field === undefined ? '' : ` (${issue.field})`}: ${issue.message}`);
    }
    if (report.issues.length > 50) this.ctx.log.warn(`… and ${String(report.issues.length - 50)} more skipped lines.`);
    for (const error of report.errors) this.ctx.log.error(error.message);
    // Every file that gave no trajectory is named with its reason, so nothing is skipped in silence.
    for (const empty of report.empty.slice(0, 200)) this.ctx.log.warn(`${empty.file}: no trajectory: ${empty.reason}`);
    if (report.empty.length > 200) this.ctx.log.warn(`… and ${String(report.empty.length - 200)} more files that gave nothing.`);
  }

  private async send(job: Job): Promise<SerializedReport> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const dbPath = this.ctx.storePath;
    const deletePolicy = config.deleteProposalPolicy();
    const request: CaptureRequest =
      job.kind === 'capture' ? { type: 'capture', id, dbPath, locations: job.locations.map(serializeLocation), deletePolicy } : { type: 'import', id, dbPath, paths: job.paths, deletePolicy };
    this.setRunning(1);
    try {
      const report = await new Promise<SerializedReport>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        worker.postMessage(request);
      });
      if (report.trajectories > 0) {
        this.ctx.notify('trajectories');
        // The worker credited served principles and may have proposed deleting some (learnFromUse).
        this.ctx.notify('principles');
      }
      return report;
    } finally {
      this.setRunning(-1);
    }
  }

  private setRunning(delta: number): void {
    this.running += delta;
    if (this.running > 0) {
      this.status.text = '$(sync~spin) Internalize: capturing';
      this.status.tooltip = 'Reading new agent logs (click for the log)';
      this.status.show();
    } else {
      this.status.hide();
    }
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(join(this.ctx.extension.extensionPath, 'dist', 'captureWorker.js'));
    worker.on('message', (message: CaptureResponse) => {
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id);
      if (message.type === 'done') waiter.resolve(message.report);
      else waiter.reject(new Error(message.message));
    });
    const failAll = (why: string): void => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(why));
      this.waiting.clear();
      this.worker = undefined;
    };
    worker.on('error', (error) => {
      this.ctx.log.error(`The capture worker crashed: ${error.message}`);
      failAll(`the capture worker crashed (${error.message}); it restarts with the next capture`);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) failAll(`the capture worker exited with code ${String(code)}`);
    });
    this.worker = worker;
    return worker;
  }

  dispose(): void {
    for (const w of this.watchers.splice(0)) w.dispose();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.status.dispose();
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
