import { aiderAdapter } from './adapters/aider.js';
import { atifAdapter } from './adapters/atif.js';
import { claudeCodeAdapter } from './adapters/claudeCode.js';
import { clineAdapter, rooAdapter } from './adapters/cline.js';
import { codexAdapter } from './adapters/codex.js';
import { copilotChatAdapter } from './adapters/copilotChat.js';
import { geminiCliAdapter } from './adapters/geminiCli.js';
import { openaiMessagesAdapter } from './adapters/openaiMessages.js';
import { openhandsAdapter } from './adapters/openhands.js';
import { sweAgentAdapter } from './adapters/sweAgent.js';
import type { Adapter, FormatId } from './types.js';

/** Every format capture reads, in the order detection tries them (ties go to the earlier one). */
export const ADAPTERS: readonly Adapter[] = [
  atifAdapter,
  claudeCodeAdapter,
  codexAdapter,
  copilotChatAdapter,
  clineAdapter,
  rooAdapter,
  geminiCliAdapter,
  sweAgentAdapter,
  openhandsAdapter,
  openaiMessagesAdapter,
  aiderAdapter,
];

export function adapterFor(format: string): Adapter | undefined {
  return ADAPTERS.find((a) => a.format === format);
}

export type Detection = { readonly adapter: Adapter } | { readonly adapter?: undefined; readonly reason: 'binary' | 'no-match' };

/** True when the head looks like binary data rather than UTF-8 text. */
export function looksBinary(head: Buffer): boolean {
  const sample = head.subarray(0, 8192);
  if (sample.includes(0)) return true;
  // Invalid UTF-8 decodes to U+FFFD; a few may come from a cut multi-byte character at the end.
  const text = sample.toString('utf8');
  let bad = 0;
  for (const ch of text) if (ch === '\uFFFD') bad++;
  return bad > 4;
}

/** Picks the adapter most confident about the file, from its path and first bytes. */
export function detectFormat(path: string, head: Buffer, only?: readonly FormatId[]): Detection {
  // Judge complete lines only: a log may be followed by a preallocated or corrupt tail.
  const cut = head.lastIndexOf(0x0a);
  const sample = cut > 0 ? head.subarray(0, cut) : head;
  if (looksBinary(sample)) return { reason: 'binary' };
  const text = sample.toString('utf8').replace(/^\uFEFF/u, '');
  let best: { adapter: Adapter; score: number } | undefined;
  for (const adapter of ADAPTERS) {
    if (only && !only.includes(adapter.format)) continue;
    const score = adapter.detect(path, text);
    if (score > 0.5 && (!best || score > best.score)) best = { adapter, score };
  }
  return best ? { adapter: best.adapter } : { reason: 'no-match' };
}

export const FORMAT_NAMES: readonly string[] = ADAPTERS.map((a) => a.format);

/** For a side file some format reads together with its main file: that main file's name (in the same folder). */
export function mainFileOf(path: string): string | undefined {
  for (const adapter of ADAPTERS) {
    const main = adapter.kind === 'document' ? adapter.mainFileOf?.(path) : undefined;
    if (main !== undefined) return main;
  }
  return undefined;
}
