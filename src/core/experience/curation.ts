/**
 * Curation: the only way the pool changes. Every change goes through a recorded PoolOp, and the
 * principle's history links each new state to that op, so a diff between iterations can always be
 * explained operation by operation.
 */
import type { EvidenceRef, Granularity, PoolOp, Principle, PrincipleOrigin, PrincipleScope } from '../principle.js';
import { nextPrincipleId } from '../principle.js';
import type { Store, StoredPoolOp } from '../store/index.js';

export class CurationError extends Error {
  override readonly name = 'CurationError';
}

/** What a proposer (model pipeline, miner, import) hands in: ADD needs no id, the rest name one. */
export type ProposedOp =
  | { readonly kind: 'ADD'; readonly text: string; readonly when?: string; readonly scope?: PrincipleScope; readonly rationale: string; readonly evidence: readonly EvidenceRef[] }
  | { readonly kind: 'UPDATE'; readonly principleId: string; readonly text: string; readonly rationale: string; readonly evidence: readonly EvidenceRef[] }
  | { readonly kind: 'DELETE'; readonly principleId: string; readonly rationale: string; readonly evidence: readonly EvidenceRef[] }
  | { readonly kind: 'MERGE'; readonly principleId: string; readonly mergedIds: readonly string[]; readonly text: string; readonly rationale: string; readonly evidence: readonly EvidenceRef[] };

export interface ProposeOptions {
  readonly origin: PrincipleOrigin;
  readonly granularity?: Granularity;
  readonly iteration?: number;
  readonly batchId?: string;
  readonly model?: string;
  /** Apply at once (the `internalize.experience.autoAccept` setting); still recorded as ops. */
  readonly autoAccept?: boolean;
}

/** Derives the `when` part of "When [condition], [strategy]". */
export function whenOf(text: string): string {
  const m = /^\s*(?:when|if|before|after)\b([^,]*),/iu.exec(text);
  return m?.[1]?.trim() ?? '';
}

/**
 * Records proposed operations in one transaction and returns their ids. An ADD reserves its id with
 * a `proposed` principle, so the view can show it and two proposals never take the same id.
 */
export function proposeOps(store: Store, ops: readonly ProposedOp[], options: ProposeOptions): number[] {
  const ids = store.transaction(() => {
    const used = new Set(store.principles.ids());
    return ops.map((op) => {
      const iteration = options.iteration ?? 0;
      if (op.kind === 'ADD') {
        const id = nextPrincipleId(used);
        used.add(id);
        const opId = store.poolOps.propose(
          { kind: 'ADD', principleId: id, after: op.text, rationale: op.rationale, evidence: op.evidence },
          { batchId: options.batchId, iteration },
        );
        store.principles.save(
          {
            id,
            text: op.text,
            when: op.when ?? whenOf(op.text),
            scope: op.scope ?? 'global',
            granularity: options.granularity ?? 'principle',
            status: 'proposed',
            origin: options.origin,
            evidence: op.evidence,
            helpful: 0,
            harmful: 0,
            createdIteration: iteration,
            updatedIteration: iteration,
            model: options.model,
          },
          opId,
        );
        return opId;
      }
      const target = requireLive(store, op.principleId);
      const poolOp: PoolOp =
        op.kind === 'DELETE'
          ? { kind: 'DELETE', principleId: op.principleId, before: target.text, rationale: op.rationale, evidence: op.evidence }
          : op.kind === 'UPDATE'
            ? { kind: 'UPDATE', principleId: op.principleId, before: target.text, after: op.text, rationale: op.rationale, evidence: op.evidence }
            : { kind: 'MERGE', principleId: op.principleId, mergedIds: op.mergedIds, before: target.text, after: op.text, rationale: op.rationale, evidence: op.evidence };
      if (op.kind === 'MERGE') for (const id of op.mergedIds) requireLive(store, id);
      return store.poolOps.propose(poolOp, { batchId: options.batchId, iteration });
    });
  });
  if (options.autoAccept === true) for (const id of ids) applyOp(store, id);
  return ids;
}

function requireLive(store: Store, id: string): Principle {
  const p = store.principles.get(id);
  if (p === undefined) throw new CurationError(`Principle ${id} does not exist.`);
  if (p.status !== 'accepted') throw new CurationError(`Principle ${id} is ${p.status}, not accepted; only accepted principles can be changed.`);
  return p;
}

function pending(store: Store, opId: number): StoredPoolOp {
  const op = store.poolOps.get(opId);
  if (op === undefined) throw new CurationError(`Pool operation ${String(opId)} does not exist.`);
  if (op.status !== 'proposed') throw new CurationError(`Pool operation ${String(opId)} was already ${op.status}.`);
  return op;
}

/** Applies a proposed op (optionally with the user's edited text) and records the new states. */
export function applyOp(store: Store, opId: number, edit?: { readonly text?: string }): void {
  store.transaction(() => {
    const op = pending(store, opId);
    const text = edit?.text ?? op.after;
    const touch = (p: Principle, change: Partial<Principle>): void => {
      store.principles.save({ ...p, ...change, updatedIteration: Math.max(p.updatedIteration, op.iteration) }, opId);
    };
    switch (op.kind) {
      case 'ADD': {
        const p = store.principles.get(op.principleId);
        if (p === undefined) throw new CurationError(`The principle ${op.principleId} proposed by op ${String(opId)} is missing.`);
        touch(p, { status: 'accepted', text: text ?? p.text, when: whenOf(text ?? p.text) || p.when });
        break;
      }
      case 'UPDATE': {
        const p = requireLive(store, op.principleId);
        if (text === undefined) throw new CurationError(`Pool operation ${String(opId)} has no new text.`);
        touch(p, { text, when: whenOf(text) || p.when, evidence: mergeEvidence(p.evidence, op.evidence) });
        break;
      }
      case 'DELETE':
        touch(requireLive(store, op.principleId), { status: 'retired' });
        break;
      case 'MERGE': {
        const keep = requireLive(store, op.principleId);
        const gone = (op.mergedIds ?? []).filter((id) => id !== op.principleId).map((id) => requireLive(store, id));
        const evidence = gone.reduce((acc, p) => mergeEvidence(acc, p.evidence), mergeEvidence(keep.evidence, op.evidence));
        touch(keep, { text: text ?? keep.text, when: whenOf(text ?? keep.text) || keep.when, evidence, helpful: gone.reduce((n, p) => n + p.helpful, keep.helpful), harmful: gone.reduce((n, p) => n + p.harmful, keep.harmful) });
        for (const p of gone) touch(p, { status: 'retired' });
        break;
      }
    }
    store.poolOps.decide(opId, 'applied', edit?.text === undefined ? undefined : { after: edit.text });
  });
}

/** Rejects a proposed op; a proposed ADD's principle becomes `rejected` (its id is never reused). */
export function rejectOp(store: Store, opId: number): void {
  store.transaction(() => {
    const op = pending(store, opId);
    if (op.kind === 'ADD') {
      const p = store.principles.get(op.principleId);
      if (p !== undefined) store.principles.save({ ...p, status: 'rejected' }, opId);
    }
    store.poolOps.decide(opId, 'rejected');
  });
}

/** The user merges two or more accepted principles into the first one, with new text: one MERGE op, applied. */
export function mergePrinciples(store: Store, ids: readonly string[], text: string, rationale = 'Merged by the user.'): number {
  const [keep, ...rest] = ids;
  if (keep === undefined || rest.length === 0) throw new CurationError('Select at least two principles to merge.');
  const [opId] = proposeOps(store, [{ kind: 'MERGE', principleId: keep, mergedIds: rest, text, rationale, evidence: [] }], { origin: 'manual' });
  if (opId === undefined) throw new CurationError('The merge was not recorded.');
  applyOp(store, opId);
  return opId;
}

/** The user retires a principle: a DELETE op, applied. */
export function retirePrinciple(store: Store, id: string, rationale = 'Retired by the user.'): number {
  const [opId] = proposeOps(store, [{ kind: 'DELETE', principleId: id, rationale, evidence: [] }], { origin: 'manual' });
  if (opId === undefined) throw new CurationError('The retirement was not recorded.');
  applyOp(store, opId);
  return opId;
}

/** Changes where a principle applies. Recorded as an applied UPDATE with the same text, so it shows in history. */
export function setScope(store: Store, id: string, scope: PrincipleScope): number {
  return store.transaction(() => {
    const p = requireLive(store, id);
    const opId = store.poolOps.propose({ kind: 'UPDATE', principleId: id, before: p.text, after: p.text, rationale: `Scope set to ${scope}.`, evidence: [] });
    store.principles.save({ ...p, scope }, opId);
    store.poolOps.decide(opId, 'applied');
    return opId;
  });
}

function mergeEvidence(a: readonly EvidenceRef[], b: readonly EvidenceRef[]): EvidenceRef[] {
  const seen = new Set<string>();
  const out: EvidenceRef[] = [];
  for (const e of [...a, ...b]) {
    const key = `${e.trajectoryId}#${String(e.stepIndex ?? '')}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(e);
    }
  }
  return out;
}

/** The user rewrites an accepted principle: one UPDATE op, applied. */
export function editPrinciple(store: Store, id: string, text: string, rationale = 'Edited by the user.'): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new CurationError('A principle cannot be empty.');
  const [opId] = proposeOps(store, [{ kind: 'UPDATE', principleId: id, text: trimmed, rationale, evidence: [] }], { origin: 'manual' });
  if (opId === undefined) throw new CurationError('The edit was not recorded.');
  applyOp(store, opId);
  return opId;
}

function normalized(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/gu, ' ');
}

/**
 * Drops ADD proposals whose text the pool already has in any status: an accepted principle need
 * not be proposed twice, and one the user rejected must not come back every time the miner runs.
 */
export function withoutKnown(store: Store, ops: readonly ProposedOp[]): ProposedOp[] {
  const known = new Set(store.principles.list().map((p) => normalized(p.text)));
  return ops.filter((op) => {
    if (op.kind !== 'ADD') return true;
    const key = normalized(op.text);
    if (known.has(key)) return false;
    known.add(key);
    return true;
  });
}
