/** A span of text that holds a secret, and the rule that found it. */
export interface Finding {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
}

/** Shannon entropy in bits per character, as gitleaks computes it for its entropy floors. */
export function shannon(token: string): number {
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / token.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
