import type { TextEmbedder } from '../../core/embedding/embedder.js';
import { createEmbedder } from '../../core/embedding/resolve.js';
import { InjectionOptionsError, parseInjectionOptions } from '../../core/injection/options.js';
import { embedCached } from '../../core/embedding/cache.js';
import { planTrajectory } from '../../core/injection/planner.js';
import type { InjectionOptions, InjectionPlan, SelectedPrinciple } from '../../core/injection/types.js';
import { openStore } from '../../core/store/index.js';
import { evidenceWorkspaces, internalizedIds } from '../../core/store/injection.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type CliIo, type Command } from '../context.js';

const USAGE =
  'internalize preview <trajectory id> [--db PATH] [--mode stepwise|global] [--persistence ephemeral|cumulative] [--k N] [--selector embedding] [--target-model NAME] [--show-internalized] [--json]';

/** How the CLI gets its embedder; tests pass their own. */
export type EmbedderResolver = (io: CliIo) => Promise<TextEmbedder>;

function optionsFrom(args: ReturnType<typeof parseArgs>): InjectionOptions {
  const raw: Record<string, unknown> = {};
  const mode = args.options.get('mode');
  if (mode !== undefined) raw.mode = mode;
  const persistence = args.options.get('persistence');
  if (persistence !== undefined) raw.persistence = persistence;
  const selector = args.options.get('selector');
  if (selector === 'rerank') throw new UsageError('--selector rerank needs a language model, which the command line does not configure; use the Injection Preview in VS Code, or --selector embedding.');
  if (selector !== undefined) raw.selector = selector;
  const k = args.options.get('k');
  if (k !== undefined) {
    if (!/^\d+$/u.test(k)) throw new UsageError(`--k must be a whole number from 1 to 8, not "${k}".`);
    raw.k = Number(k);
  }
  const target = args.options.get('target-model');
  if (target !== undefined) raw.targetModel = target;
  if (args.flags.has('show-internalized')) raw.includeInternalized = true;
  try {
    return parseInjectionOptions(raw, 'preview options');
  } catch (error) {
    if (error instanceof InjectionOptionsError) throw new UsageError(error.message);
    throw error;
  }
}

function principleLine(p: SelectedPrinciple): string {
  const rerank = p.reason.rerankPosition === undefined ? '' : `  re-rank #${String(p.reason.rerankPosition + 1)}`;
  return `  ${p.id.padEnd(6)} cos ${p.reason.cosine.toFixed(3)}  mmr ${p.reason.mmr.toFixed(3)}  ${p.reason.scope.padEnd(16)}${rerank}  ${p.text.replace(/\s+/gu, ' ')}\n`;
}

function printPlan(plan: InjectionPlan, poolSize: number, io: CliIo): void {
  const o = plan.options;
  io.out(`Mode ${o.mode}${o.mode === 'stepwise' ? ` (${o.persistence})` : ''}, k ${String(o.k)}, selector ${o.selector}, pool of ${String(poolSize)} accepted principles; tokens ${plan.tokenCounter === 'model' ? "by the target model's tokenizer" : 'estimated (about 4 characters a token)'}.\n`);
  if (o.mode === 'global') {
    const chosen = plan.globalSelected ?? [];
    io.out(`\nSystem prompt block: ${String(chosen.length)} principles, ${String(plan.globalBlockTokens ?? 0)} tokens\n`);
    for (const p of chosen) io.out(principleLine(p));
    for (const e of plan.globalExcluded ?? []) io.out(`  (${e.id} left out: ${e.cause}, cos ${e.cosine.toFixed(3)})\n`);
    io.out(`\n${String(plan.steps.length)} decision states; no step-wise blocks in global mode.\n`);
    return;
  }
  for (const step of plan.steps) {
    io.out(`\nstep ${String(step.stepIndex)}  state ${String(step.stateTokens)} tokens, block ${String(step.blockTokens)} tokens\n`);
    if (step.selected.length === 0) io.out('  (nothing selected)\n');
    for (const p of step.selected) io.out(principleLine(p));
    for (const e of step.excluded) io.out(`  (${e.id} left out: ${e.cause}, cos ${e.cosine.toFixed(3)})\n`);
    if (step.rerankFallback !== undefined) io.out(`  re-rank fell back: ${step.rerankFallback}\n`);
  }
}

/** The command with a given way to get the embedder (the default resolves the ONNX one, else lexical). */
export function makePreviewCommand(resolveEmbedder: EmbedderResolver): Command {
  return {
    name: 'preview',
    usage: USAGE,
    summary: 'Show which principles the injection planner gives each decision state of a stored trajectory, with their scores.',
    async run(argv, io) {
      const args = parseArgs(argv, { values: ['db', 'mode', 'persistence', 'k', 'selector', 'target-model'], flags: ['json', 'show-internalized'] });
      const [id, ...extra] = args.positionals;
      if (id === undefined) throw new UsageError('Name the trajectory to preview (its id from `internalize list`).');
      if (extra.length > 0) throw new UsageError(`One trajectory at a time; got also ${extra.join(' ')}.`);
      const options = optionsFrom(args);
      const store = openStore(databasePath(args.options.get('db'), io));
      try {
        const trajectory = store.trajectories.get(id);
        if (trajectory === undefined) {
          io.err(`No trajectory "${id}" in ${store.path}. Run \`internalize list\` to see the stored ids.\n`);
          return 1;
        }
        // The same pool and filters the extension's Injection Preview plans with: the accepted
        // principles, those internalized for the target model, the evidence workspaces.
        const pool = store.principles.list({ status: 'accepted' });
        const internalized = options.targetModel === undefined ? new Set<string>() : internalizedIds(store, options.targetModel);
        const embedder = await resolveEmbedder(io);
        try {
          if (!args.flags.has('json')) io.out(`Embedder: ${embedder.id} — ${embedder.description}\n`);
          const plan = await planTrajectory({
            trajectory,
            pool,
            internalizedIds: internalized,
            embedder,
            options,
            evidenceWorkspaces: evidenceWorkspaces(store, pool),
            embedCache: (texts) => embedCached(store, embedder, texts),
          });
          if (args.flags.has('json')) {
            io.out(`${JSON.stringify(plan)}\n`);
            return 0;
          }
          if (pool.length === 0) io.out('The pool has no accepted principles yet: accept some in the Principles view, or run `internalize mine --propose` and `internalize pool --apply ID`.\n');
          printPlan(plan, pool.length, io);
          return 0;
        } finally {
          await embedder.dispose();
        }
      } finally {
        store.close();
      }
    },
  };
}

export const previewCommand = makePreviewCommand((io) => createEmbedder({ env: io.env }));
