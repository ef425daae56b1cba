/**
 * Publishing the accepted pool into the instruction files agents read, inside a managed block that
 * keeps the user's own text intact and notices hand edits; and a versioned JSON principle pack.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Principle, PrincipleScope } from '../principle.js';
import type { Store } from '../store/index.js';
import { proposeOps, withoutKnown } from './curation.js';

export const EXPORT_TARGETS = ['AGENTS.md', 'CLAUDE.md', '.github/copilot-instructions.md', '.cursor/rules/internalize.mdc'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

const BEGIN = /<!-- internalize:begin hash=([0-9a-f]*) -->\n?/u;
const END = '<!-- internalize:end -->';

function hashOf(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** The block body: one bullet per accepted principle, in id order. */
export function renderPrinciples(principles: readonly Principle[]): string {
  const accepted = principles.filter((p) => p.status === 'accepted');
  const lines = accepted.map((p) => `- ${p.text} (${p.id})`);
  return `## Learned principles (Internalize)\n\n${lines.join('\n')}\n`;
}

export type MergeResult =
  | { readonly status: 'written'; readonly text: string }
  | { readonly status: 'unchanged'; readonly text: string }
  | { readonly status: 'hand-edited'; readonly text: string; readonly message: string };

/**
 * Puts `body` into the managed block of `existing` (appending a block when there is none). Text
 * outside the block is kept byte for byte. When the block's content no longer matches the hash it
 * was written with, someone edited it by hand: the file is returned unchanged with a warning, unless
 * `force` is set.
 */
export function mergeManagedBlock(existing: string, body: string, options: { readonly force?: boolean } = {}): MergeResult {
  const block = `<!-- internalize:begin hash=${hashOf(body)} -->\n${body}${END}`;
  const begin = BEGIN.exec(existing);
  const endAt = begin === null ? -1 : existing.indexOf(END, begin.index);
  if (begin === null || endAt < 0) {
    const sep = existing === '' ? '' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
    return { status: 'written', text: `${existing}${sep}${block}\n` };
  }
  const inner = existing.slice(begin.index + begin[0].length, endAt);
  const recorded = begin[1] ?? '';
  if (hashOf(inner) !== recorded && options.force !== true) {
    return {
      status: 'hand-edited',
      text: existing,
      message: 'The Internalize block was edited by hand since it was last written; it was left as it is. Move your edits outside the block, or export with force to overwrite them.',
    };
  }
  const text = existing.slice(0, begin.index) + block + existing.slice(endAt + END.length);
  return { status: text === existing ? 'unchanged' : 'written', text };
}

/** The `.mdc` target needs Cursor's front matter before the block. */
export function initialContent(target: ExportTarget): string {
  return target.endsWith('.mdc') ? '---\ndescription: Principles learned by Internalize\nalwaysApply: true\n---\n\n' : '';
}

const PACK_VERSION = 1;

const principleSchema = z.object({
  id: z.string().regex(/^P\d+$/u),
  text: z.string().min(1),
  when: z.string(),
  scope: z.string().regex(/^(?:global|workspace|language:.+|tool:.+)$/u),
  granularity: z.enum(['principle', 'instance']),
  evidence: z.array(z.object({ trajectoryId: z.string(), stepIndex: z.number().int().nonnegative().optional() })),
});

export const principlePackSchema = z.object({
  format: z.literal('internalize-principle-pack'),
  version: z.literal(PACK_VERSION),
  exportedAt: z.string(),
  principles: z.array(principleSchema),
});

export type PrinciplePack = z.infer<typeof principlePackSchema>;
export type PackPrinciple = z.infer<typeof principleSchema>;

export function exportPack(principles: readonly Principle[], now = new Date()): PrinciplePack {
  return {
    format: 'internalize-principle-pack',
    version: PACK_VERSION,
    exportedAt: now.toISOString(),
    principles: principles
      .filter((p) => p.status === 'accepted')
      .map((p) => ({ id: p.id, text: p.text, when: p.when, scope: p.scope, granularity: p.granularity, evidence: p.evidence.map((e) => ({ ...e })) })),
  };
}

export class PackError extends Error {
  override readonly name = 'PackError';
}

/** Parses a pack file's text; the error names the field that is wrong. */
export function parsePack(text: string, file = 'principle pack'): PrinciplePack {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PackError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const r = principlePackSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PackError(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/**
 * A pack in any shape Internalize reads: its own principle pack, or an experience pool of the seed
 * research code. Ids are the file's own (`P3`, `G12`), kept so that a diff and an import can show them.
 */
export interface ImportedPack {
  readonly shape: 'internalize-principle-pack' | 'experience-pool' | 'training-free-grpo-batch-update';
  readonly exportedAt: string;
  readonly principles: readonly {
    readonly id: string;
    readonly text: string;
    readonly when: string;
    readonly scope: string;
    readonly granularity: 'principle' | 'instance';
    readonly evidence: PackPrinciple['evidence'];
  }[];
}

const ACCEPTED_SHAPES =
  'expected an Internalize principle pack ({"format": "internalize-principle-pack", …}), an experience pool ({"G0": "text", …}, as Training-Free GRPO and ExpInternalization write experiences.json) or a Training-Free GRPO batch_update.json ({"new_experiences": {…}})';

/** `{"G0": "text", …}`: every value a non-empty string; the error names the first key that is not. */
function experiencePool(value: Readonly<Record<string, unknown>>, file: string, field: string): ImportedPack['principles'] {
  const out: ImportedPack['principles'][number][] = [];
  for (const [id, text] of Object.entries(value)) {
    if (typeof text !== 'string' || text.trim() === '') throw new PackError(`${file}: ${field}${id}: expected the experience's text (a non-empty string), found ${typeof text === 'string' ? 'an empty string' : text === null ? 'null' : typeof text}`);
    out.push({ id, text: text.trim(), when: '', scope: 'global', granularity: 'principle', evidence: [] });
  }
  return out;
}

/** Reads a pack file's text in any accepted shape; the error names the file, the field, and the shapes accepted. */
export function readPrinciplePack(text: string, file = 'principle pack'): ImportedPack {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PackError(`${file} is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PackError(`${file}: ${ACCEPTED_SHAPES}; found ${Array.isArray(raw) ? 'an array' : typeof raw}.`);
  const record = raw as Readonly<Record<string, unknown>>;
  if ('format' in record) {
    const pack = parsePack(text, file);
    return { shape: 'internalize-principle-pack', exportedAt: pack.exportedAt, principles: pack.principles };
  }
  const batch = record.new_experiences;
  if (batch !== undefined) {
    if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) throw new PackError(`${file}: new_experiences: expected an object of experiences ({"G0": "text", …}).`);
    return { shape: 'training-free-grpo-batch-update', exportedAt: '', principles: experiencePool(batch as Readonly<Record<string, unknown>>, file, 'new_experiences.') };
  }
  if (Object.keys(record).length === 0) throw new PackError(`${file}: the file holds an empty object; ${ACCEPTED_SHAPES}.`);
  if (Object.values(record).some((v) => typeof v !== 'string')) throw new PackError(`${file}: ${ACCEPTED_SHAPES}; its fields are ${Object.keys(record).slice(0, 5).join(', ')}.`);
  return { shape: 'experience-pool', exportedAt: '', principles: experiencePool(record, file, '') };
}

export interface PackImport {
  /** Operation ids proposed (or applied, with auto-accept). */
  readonly opIds: readonly number[];
  /** The file's ids of the principles added, in order. */
  readonly added: readonly string[];
  /** The file's ids of principles whose text the pool already had. */
  readonly skipped: readonly string[];
}

/**
 * Proposes an ADD for every principle of the pack whose text the pool does not have yet (applied at
 * once with auto-accept, as for any other proposal). The pool gives its own ids (`P<n>`); the file's
 * id is kept in each operation's rationale, so the pool shows where each principle came from.
 */
export function importPack(store: Store, pack: ImportedPack, source: string, options: { readonly autoAccept: boolean; readonly now?: Date }): PackImport {
  const candidates = pack.principles.map((p) => ({
    id: p.id,
    op: { kind: 'ADD' as const, text: p.text, when: p.when, scope: p.scope as PrincipleScope, rationale: `Imported from ${source} (${p.id}).`, evidence: p.evidence },
  }));
  const fresh = new Set(withoutKnown(store, candidates.map((c) => c.op)));
  const added = candidates.filter((c) => fresh.has(c.op));
  const opIds = proposeOps(store, added.map((c) => c.op), { origin: 'imported', batchId: `import-${(options.now ?? new Date()).toISOString()}`, autoAccept: options.autoAccept });
  return { opIds, added: added.map((c) => c.id), skipped: candidates.filter((c) => !fresh.has(c.op)).map((c) => c.id) };
}
