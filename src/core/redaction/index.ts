/** Redaction: secret detection and masking, used before anything is stored (capture), sent (experience) or served. */
export { ASSIGNMENT_RULE, AUTH_HEADER_RULE, isSecretKey, URL_CREDENTIAL_RULE } from './assignments.js';
export { createDetector, expandToToken, ruleSet, type Detect, type DetectOptions } from './detect.js';
export { HIGH_ENTROPY_RULE, highEntropyFindings } from './entropy.js';
export type { Finding } from './finding.js';
export { applyFindings, createRedactor, mergeFindings, type RedactionItem, type Redactor, type RedactorOptions } from './redactor.js';
