/**
 * Word-level text diff for the Compare Pools view: which words of a principle an UPDATE removed
 * and which it added. Principles are one sentence, so a plain LCS over words is exact and cheap;
 * long texts fall back to a whole-text replacement instead of a quadratic table.
 */

export type DiffSegment = { readonly kind: 'same' | 'added' | 'removed'; readonly text: string };

/** Words with the whitespace that follows each, so joining the segments gives the texts back. */
function tokens(text: string): string[] {
  return text.match(/\S+\s*|\s+/gu) ?? [];
}

const MAX_CELLS = 250_000;

export function wordDiff(before: string, after: string): DiffSegment[] {
  const a = tokens(before);
  const b = tokens(after);
  if (a.length * b.length > MAX_CELLS) {
    return [
      ...(before === '' ? [] : [{ kind: 'removed' as const, text: before }]),
      ...(after === '' ? [] : [{ kind: 'added' as const, text: after }]),
    ];
  }
  // Compare words without their trailing whitespace, so "tests." and "tests. " still match.
  const key = (t: string): string => t.trimEnd();
  const n = a.length;
  const m = b.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = key(a[i] ?? '') === key(b[j] ?? '') ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
    }
  }
  const out: DiffSegment[] = [];
  const push = (kind: DiffSegment['kind'], text: string): void => {
    const last = out[out.length - 1];
    if (last !== undefined && last.kind === kind) out[out.length - 1] = { kind, text: last.text + text };
    else out.push({ kind, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (key(a[i] ?? '') === key(b[j] ?? '')) {
      push('same', b[j] ?? '');
      i++;
      j++;
    } else if ((lcs[(i + 1) * (m + 1) + j] ?? 0) >= (lcs[i * (m + 1) + j + 1] ?? 0)) {
      push('removed', a[i++] ?? '');
    } else {
      push('added', b[j++] ?? '');
    }
  }
  while (i < n) push('removed', a[i++] ?? '');
  while (j < m) push('added', b[j++] ?? '');
  return out;
}
