import * as vscode from 'vscode';
import { applyOp, editPrinciple, mergePrinciples, proposeOps, rejectOp, retirePrinciple, setScope, withoutKnown } from '../../core/experience/curation.js';
import { importPack, readPrinciplePack } from '../../core/experience/export.js';
import { guardModel } from '../../core/experience/pipeline.js';
import { suggestGeneralRewrite } from '../../core/experience/rewrite.js';
import { MAX_PRINCIPLE_WORDS, wordCount, type Principle, type PrincipleScope } from '../../core/principle.js';
import type { StoredPoolOp } from '../../core/store/index.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { availableModels, type ModelChoice } from '../llm/models.js';
import type { PrincipleNode } from '../views/principlesView.js';
import { ensureConsent, promptRedactor } from './summarize.js';

/**
 * Curation from the sidebar and the palette: every action here goes through the core's curation
 * functions, so each change is a recorded pool operation. Tree rows pass their node (and the
 * multi-selection); from the palette the user picks.
 */

function opOf(node: unknown): StoredPoolOp | undefined {
  return typeof node === 'object' && node !== null && (node as PrincipleNode).kind === 'op' ? (node as Extract<PrincipleNode, { kind: 'op' }>).op : undefined;
}

function principleOf(node: unknown): Principle | undefined {
  return typeof node === 'object' && node !== null && (node as PrincipleNode).kind === 'principle' ? (node as Extract<PrincipleNode, { kind: 'principle' }>).principle : undefined;
}

/** The clicked row plus the rest of the multi-selection, without duplicates. */
function selection<T>(node: unknown, selected: unknown, pick: (n: unknown) => T | undefined): T[] {
  const all = [node, ...(Array.isArray(selected) ? (selected as unknown[]) : [])].map(pick).filter((x): x is T => x !== undefined);
  return [...new Set(all)];
}

/** Says that the review queue is empty and offers what fills it. */
function nothingToReview(): void {
  const summarize = 'Summarize Trajectories';
  void vscode.window
    .showInformationMessage('Internalize: no proposed changes are waiting for review. Summarizing your trajectories proposes principles to review here.', summarize)
    .then((answer) => (answer === summarize ? vscode.commands.executeCommand('internalize.summarize') : undefined));
}

/** Why a principle points at no run: where it came from. */
function noEvidenceReason(p: Principle | undefined): string {
  const origin = p?.origin;
  switch (origin) {
    case 'manual':
      return 'it was written by hand';
    case 'imported':
      return 'it came from a principle pack, which carries no runs';
    case undefined:
      return 'the change names no run';
    default:
      return `the ${origin === 'mined' ? 'miner' : 'model'} that proposed it recorded none`;
  }
}

interface EvidenceChoice {
  readonly principle?: Principle;
  readonly op?: StoredPoolOp;
}

/** From the palette: a principle or proposal that points at runs, or undefined (having said why). */
async function pickWithEvidence(ctx: InternalizeContext): Promise<EvidenceChoice | undefined> {
  const store = ctx.getStore();
  const runs = (n: number): string => `${String(n)} ${n === 1 ? 'step' : 'steps'} of evidence`;
  const items = [
    ...store.poolOps
      .list({ status: 'proposed' })
      .filter((op) => op.evidence.length > 0)
      .map((op) => ({ label: op.after ?? op.before ?? op.principleId, description: `${op.kind} ${op.principleId} · proposed · ${runs(op.evidence.length)}`, choice: { op } })),
    ...store.principles
      .list({ status: 'accepted' })
      .filter((p) => p.evidence.length > 0)
      .map((p) => ({ label: p.text, description: `${p.id} · accepted · ${runs(p.evidence.length)}`, choice: { principle: p } })),
  ];
  if (items.length === 0) {
    const summarize = 'Summarize Trajectories';
    const answer = await vscode.window.showInformationMessage(
      'Internalize: no principle points at a run yet. Summarizing your trajectories proposes principles, each linked to the steps of the runs it came from.',
      summarize,
    );
    if (answer === summarize) await vscode.commands.executeCommand('internalize.summarize');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'Show Evidence: pick a principle', matchOnDescription: true }))?.choice;
}

async function pickOps(ctx: InternalizeContext, title: string): Promise<StoredPoolOp[]> {
  const ops = ctx.getStore().poolOps.list({ status: 'proposed' });
  if (ops.length === 0) {
    nothingToReview();
    return [];
  }
  const picked = await vscode.window.showQuickPick(
    ops.map((op) => ({ label: op.after ?? op.before ?? op.principleId, description: `${op.kind} ${op.principleId}`, detail: op.rationale, op })),
    { title, canPickMany: true, matchOnDescription: true },
  );
  return picked?.map((p) => p.op) ?? [];
}

async function pickPrinciples(ctx: InternalizeContext, title: string, many: boolean): Promise<Principle[]> {
  const pool = ctx.getStore().principles.list({ status: 'accepted' });
  if (pool.length === 0) {
    void vscode.window.showInformationMessage('Internalize: the pool has no accepted principles yet.');
    return [];
  }
  const items = pool.map((p) => ({ label: p.text, description: `${p.id} · ${p.scope}`, principle: p }));
  if (many) return (await vscode.window.showQuickPick(items, { title, canPickMany: true, matchOnDescription: true }))?.map((i) => i.principle) ?? [];
  const one = await vscode.window.showQuickPick(items, { title, matchOnDescription: true });
  return one === undefined ? [] : [one.principle];
}

/** Checks a principle's text as the user types: one sentence, at most 40 words. */
function validateText(text: string): string | undefined {
  if (text.trim() === '') return 'A principle cannot be empty.';
  const words = wordCount(text);
  if (words > MAX_PRINCIPLE_WORDS) return `${String(words)} words; a principle is one sentence of at most ${String(MAX_PRINCIPLE_WORDS)} words.`;
  return undefined;
}

async function editText(title: string, value: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({ title, value, prompt: 'One sentence, ideally "When [condition], [strategy]."', validateInput: validateText, ignoreFocusOut: true });
  return text?.trim();
}

async function pickScope(current: PrincipleScope): Promise<PrincipleScope | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'global', description: 'every workspace and task', scope: 'global' as const },
      { label: 'workspace', description: 'only runs in this principle’s workspace', scope: 'workspace' as const },
      { label: 'language:…', description: 'one programming language', scope: 'language' as const },
      { label: 'tool:…', description: 'when a given tool is used', scope: 'tool' as const },
    ],
    { title: `Scope (now ${current})` },
  );
  if (picked === undefined) return undefined;
  if (picked.scope === 'global' || picked.scope === 'workspace') return picked.scope;
  const name = await vscode.window.showInputBox({
    title: picked.scope === 'language' ? 'Language id (e.g. typescript, python)' : 'Tool name (e.g. Bash, edit_file)',
    validateInput: (v) => (/^[\w.+#-]+$/u.test(v.trim()) ? undefined : 'Letters, digits and . _ + # - only.'),
  });
  return name === undefined ? undefined : (`${picked.scope}:${name.trim()}` as PrincipleScope);
}

export function registerPrincipleCommands(ctx: InternalizeContext, local?: () => ModelChoice | undefined): void {
  const run =
    (what: string, fn: (node: unknown, selected: unknown) => Promise<void> | void) =>
    async (node: unknown, selected: unknown): Promise<void> => {
      try {
        await fn(node, selected);
      } catch (error) {
        await reportError(ctx.log, `Internalize could not ${what}`, error);
      } finally {
        ctx.notify('principles');
      }
    };

  const decide = (accept: boolean) =>
    run(accept ? 'accept the change' : 'reject the change', async (node, selected) => {
      let ops = selection(node, selected, opOf);
      if (ops.length === 0) ops = await pickOps(ctx, accept ? 'Accept Proposed Changes' : 'Reject Proposed Changes');
      const store = ctx.getStore();
      for (const op of ops) {
        if (accept) applyOp(store, op.id);
        else rejectOp(store, op.id);
        ctx.log.info(`${accept ? 'Accepted' : 'Rejected'} ${op.kind} ${op.principleId} (op ${String(op.id)})`);
      }
    });

  ctx.push(
    vscode.commands.registerCommand('internalize.acceptChange', decide(true)),
    vscode.commands.registerCommand('internalize.rejectChange', decide(false)),
    vscode.commands.registerCommand(
      'internalize.acceptAllChanges',
      run('accept the proposed changes', async () => {
        const store = ctx.getStore();
        const ops = store.poolOps.list({ status: 'proposed' });
        if (ops.length === 0) {
          nothingToReview();
          return;
        }
        const answer = await vscode.window.showWarningMessage(`Accept all ${String(ops.length)} proposed changes without reviewing them one by one?`, { modal: true }, 'Accept All');
        if (answer !== 'Accept All') return;
        const failed: string[] = [];
        for (const op of ops) {
          try {
            applyOp(store, op.id);
          } catch (error) {
            // One stale op (its principle changed since) must not block the rest; it stays proposed.
            failed.push(`${op.kind} ${op.principleId}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        if (failed.length > 0) {
          ctx.log.warn(`Not applied:\n${failed.join('\n')}`);
          void vscode.window.showWarningMessage(`Internalize accepted ${String(ops.length - failed.length)} changes; ${String(failed.length)} could not be applied and stay proposed (see the log).`);
        }
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.editChange',
      run('edit the change', async (node) => {
        const op = opOf(node) ?? (await pickOps(ctx, 'Edit and Accept a Proposed Change'))[0];
        if (op === undefined) return;
        if (op.kind === 'DELETE') {
          void vscode.window.showInformationMessage('A proposed deletion has no text to edit; accept or reject it.');
          return;
        }
        const text = await editText(`Edit and accept ${op.kind} ${op.principleId}`, op.after ?? '');
        if (text === undefined) return;
        applyOp(ctx.getStore(), op.id, { text });
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.addPrinciple',
      run('add the principle', async () => {
        const text = await editText('New Principle', 'When ');
        if (text === undefined) return;
        const store = ctx.getStore();
        const ops = withoutKnown(store, [{ kind: 'ADD', text, rationale: 'Written by the user.', evidence: [] }]);
        if (ops.length === 0) {
          void vscode.window.showInformationMessage('Internalize: the pool already has this principle.');
          return;
        }
        proposeOps(store, ops, { origin: 'manual', autoAccept: true });
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.editPrinciple',
      run('edit the principle', async (node) => {
        const p = principleOf(node) ?? (await pickPrinciples(ctx, 'Edit Principle', false))[0];
        if (p === undefined) return;
        const text = await editText(`Edit ${p.id}`, p.text);
        if (text === undefined || text === p.text) return;
        editPrinciple(ctx.getStore(), p.id, text);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.retirePrinciple',
      run('retire the principle', async (node, selected) => {
        let ps = selection(node, selected, principleOf);
        if (ps.length === 0) ps = await pickPrinciples(ctx, 'Retire Principles', true);
        const store = ctx.getStore();
        for (const p of ps) retirePrinciple(store, p.id);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.mergePrinciples',
      run('merge the principles', async (node, selected) => {
        let ps = selection(node, selected, principleOf).filter((p) => p.status === 'accepted');
        if (ps.length < 2) ps = await pickPrinciples(ctx, 'Merge Principles (pick two or more)', true);
        if (ps.length < 2) {
          if (ps.length === 1) void vscode.window.showInformationMessage('Select two or more accepted principles to merge (Ctrl/Cmd+click in the Principles view).');
          return;
        }
        const [keep] = ps;
        if (keep === undefined) return;
        const text = await editText(`Merge ${ps.map((p) => p.id).join(' + ')} into ${keep.id}`, keep.text);
        if (text === undefined) return;
        mergePrinciples(ctx.getStore(), ps.map((p) => p.id), text);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.setPrincipleScope',
      run('change the scope', async (node, selected) => {
        let ps = selection(node, selected, principleOf);
        if (ps.length === 0) ps = await pickPrinciples(ctx, 'Change Scope', true);
        const first = ps[0];
        if (first === undefined) return;
        const scope = await pickScope(first.scope);
        if (scope === undefined) return;
        const store = ctx.getStore();
        for (const p of ps) if (p.scope !== scope) setScope(store, p.id, scope);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.showEvidence',
      run('show the evidence', async (node) => {
        const store = ctx.getStore();
        let p = principleOf(node);
        let op = opOf(node);
        if (p === undefined && op === undefined) {
          const choice = await pickWithEvidence(ctx);
          if (choice === undefined) return;
          ({ principle: p, op } = choice);
        }
        const principle = p ?? (op === undefined ? undefined : store.principles.get(op.principleId));
        const evidence = op !== undefined && op.evidence.length > 0 ? op.evidence : (principle?.evidence ?? []);
        if (evidence.length === 0) {
          const id = principle?.id ?? op?.principleId ?? 'This principle';
          void vscode.window.showInformationMessage(`Internalize: ${id} points at no run: ${noEvidenceReason(principle)}.`);
          return;
        }
        const ref =
          evidence.length === 1
            ? evidence[0]
            : (
                await vscode.window.showQuickPick(
                  evidence.map((e) => ({
                    label: store.trajectories.summary(e.trajectoryId)?.task.slice(0, 120) ?? e.trajectoryId,
                    description: e.stepIndex === undefined ? undefined : `step ${String(e.stepIndex + 1)}`,
                    ref: e,
                  })),
                  { title: 'Evidence' },
                )
              )?.ref;
        if (ref !== undefined) await vscode.commands.executeCommand('internalize.openTrajectory', ref.trajectoryId, ref.stepIndex);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.rewriteGeneral',
      run('rewrite the principle', async (node) => {
        const p = principleOf(node) ?? (await pickPrinciples(ctx, 'Rewrite as a General Principle', false))[0];
        if (p === undefined) return;
        const choice = (await availableModels(ctx, local?.()))[0];
        if (choice === undefined) {
          void vscode.window.showInformationMessage('Rewriting needs a language model: sign in to one in VS Code, or set internalize.llm.baseUrl and internalize.llm.model. You can also edit the principle by hand.');
          return;
        }
        const { model } = guardModel(await choice.create(), await promptRedactor());
        if (choice.provider !== 'local' && !(await ensureConsent(ctx, model, `the text of ${p.id}`))) return;
        const suggestion = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Asking ${model.model} for a general wording…`, cancellable: true }, (_, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => {
            abort.abort();
          });
          return suggestGeneralRewrite(model, p.text, abort.signal);
        });
        if (suggestion === undefined) {
          void vscode.window.showInformationMessage(`${p.id} is already one general sentence within the word limit; nothing to rewrite.`);
          return;
        }
        const text = await editText(`Rewrite ${p.id} (suggested by ${model.model}; edit before saving)`, suggestion.text);
        if (text === undefined || text === p.text) return;
        editPrinciple(ctx.getStore(), p.id, text, `Rewritten as a general principle with ${model.model}.`);
      }),
    ),
    vscode.commands.registerCommand(
      'internalize.importPrinciplePack',
      run('import the principle pack', async () => {
        const [uri] = (await vscode.window.showOpenDialog({ title: 'Import Principle Pack', canSelectMany: false, filters: { 'Principle pack or experience pool': ['json'] } })) ?? [];
        if (uri === undefined) return;
        // Internalize packs and the seed research's experience pools ({"G0": "…"}) alike; the file's ids go into each rationale.
        const pack = readPrinciplePack(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), uri.fsPath);
        const { added, skipped } = importPack(ctx.getStore(), pack, uri.fsPath, { autoAccept: config.autoAccept() });
        const ids = added.length > 0 ? ` (${added.slice(0, 8).join(', ')}${added.length > 8 ? ', …' : ''})` : '';
        void vscode.window.showInformationMessage(
          `Internalize: ${String(added.length)} principles from the pack${ids} ${config.autoAccept() ? 'were added to the pool' : 'are proposed for review'}${skipped.length > 0 ? `; ${String(skipped.length)} the pool already had were skipped` : ''}.`,
        );
      }),
    ),
  );
}
