/** Serving principles to running agents: the core the MCP server and the VS Code language-model tool share. */
export { servePrinciples, redactServed, MAX_K } from './serve.js';
export { renderServeResult } from './render.js';
export { recordOutcome, type RecordedOutcome } from './outcome.js';
export { buildState, stateHash, canonicalJson } from './state.js';
export { poolVersion, warmPool } from './pool.js';
export { ServingError, type OutcomeInput, type ServedPrinciple, type ServeInput, type ServePart, type ServeResult, type ServeState, type ServeStep, type Verdict } from './types.js';
export { learnFromUse, isServeToolCall, type LearnReport } from './learn.js';
export { DEFAULT_SEGMENT_POLICY, SegmentCache, sharedSegmentCache, stateSegments, stateVector, type SegmentPolicy, type StateEmbedding } from './stateVector.js';
export { DEFAULT_DELETE_POLICY, proposeHarmfulDeletes, type DeletePolicy, type DeleteProposal } from './deleteProposals.js';
