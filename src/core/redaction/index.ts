/** Redaction: secret detection and masking, used before anything is stored, sent or served. */
export { applyFindings, createRedactor, highEntropyFindings, HIGH_ENTROPY_RULE, type RedactionItem, type Redactor, type RedactorOptions } from './redactor.js';
