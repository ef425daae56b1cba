/**
 * Feedback from the agent (or its user): a served principle helped or hurt. The report is kept
 * with its note and call, and moves the principle's helpful / harmful count, which selection uses
 * to break ties and curation as evidence for deleting a principle that keeps hurting.
 */
import type { Store } from '../store/index.js';
import { ServeCallRepository } from '../store/serveCalls.js';
import { ServingError, type OutcomeInput } from './types.js';

/** Notes are for a person reading them; a longer one is cut rather than refused. */
const MAX_NOTE_CHARS = 2000;

export interface RecordedOutcome {
  readonly principleId: string;
  readonly helpful: number;
  readonly harmful: number;
}

/** Records one report in an IMMEDIATE transaction; an unknown principle or call id is refused with what exists. */
export function recordOutcome(store: Store, outcome: OutcomeInput): RecordedOutcome {
  const id = outcome.principleId.trim();
  const calls = new ServeCallRepository(store.db);
  return store.transaction(() => {
    const row = store.db.prepare<[string], { status: string }>('SELECT status FROM principles WHERE id = ?').get(id);
    if (row === undefined) {
      const accepted = store.principles.list({ status: 'accepted', limit: 12 }).map((p) => p.id);
      throw new ServingError(
        `No principle "${id}" in the store. Use an id that principles_for_state returned${accepted.length > 0 ? ` (accepted ones include ${accepted.join(', ')})` : ''}.`,
      );
    }
    if (outcome.callId !== undefined && calls.get(outcome.callId) === undefined) {
      throw new ServingError(`No principles_for_state call "${outcome.callId}" was logged; pass the callId a principles_for_state answer gave, or leave it out.`);
    }
    const note = outcome.note?.trim();
    calls.addFeedback({
      principleId: id,
      verdict: outcome.verdict,
      origin: 'agent',
      ...(note === undefined || note === '' ? {} : { note: note.slice(0, MAX_NOTE_CHARS) }),
      ...(outcome.callId === undefined ? {} : { callId: outcome.callId }),
    });
    const counts = store.db.prepare<[string], { helpful: number; harmful: number }>('SELECT helpful, harmful FROM principles WHERE id = ?').get(id);
    return { principleId: id, helpful: counts?.helpful ?? 0, harmful: counts?.harmful ?? 0 };
  });
}
