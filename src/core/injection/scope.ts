/**
 * Scope filtering: which principles may be injected into a trajectory at all, before any ranking.
 *
 * - `global`: everywhere.
 * - `workspace`: only in the workspace the principle was learned in. A principle records evidence
 *   (trajectory ids), not a folder, so its workspaces are those of its evidence trajectories; it
 *   applies to a trajectory whose workspace is one of them (paths compared with `/` separators, no
 *   trailing slash, case-insensitively for Windows drive paths), or to an evidence trajectory itself.
 *   A workspace principle whose evidence workspaces are unknown is left out: a folder-bound lesson
 *   must not leak into other projects.
 * - `language:X`: the trajectory's tool calls name a file of language X (by extension, VS Code
 *   language ids; `language:py` and `language:python` are the same).
 * - `tool:X`: the trajectory calls a tool named X (case-insensitive: `Bash` and `bash` are one tool).
 */
import type { Principle } from '../principle.js';
import type { Trajectory } from '../trajectory.js';

const EXTENSION_LANGUAGES: Readonly<Record<string, string>> = {
  py: 'python', pyi: 'python', ipynb: 'python',
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript',
  go: 'go', rs: 'rust', java: 'java', kt: 'kotlin', kts: 'kotlin', scala: 'scala', swift: 'swift',
  c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', cs: 'csharp',
  rb: 'ruby', php: 'php', lua: 'lua', dart: 'dart', r: 'r', jl: 'julia', ex: 'elixir', exs: 'elixir', erl: 'erlang', hs: 'haskell',
  sh: 'shellscript', bash: 'shellscript', zsh: 'shellscript', ps1: 'powershell',
  md: 'markdown', json: 'json', jsonl: 'json', yaml: 'yaml', yml: 'yaml', toml: 'toml', xml: 'xml',
  html: 'html', htm: 'html', css: 'css', scss: 'scss', vue: 'vue', svelte: 'svelte', sql: 'sql', csv: 'csv',
};

/** Short names people write in a scope, mapped to the language ids above. */
const LANGUAGE_ALIASES: Readonly<Record<string, string>> = {
  py: 'python', ts: 'typescript', js: 'javascript', node: 'javascript', rs: 'rust', golang: 'go', 'c++': 'cpp', 'c#': 'csharp',
  rb: 'ruby', shell: 'shellscript', sh: 'shellscript', bash: 'shellscript', kt: 'kotlin', yml: 'yaml', md: 'markdown',
};

/** What scope filtering needs to know about one trajectory. */
export interface TrajectoryFacts {
  readonly trajectoryId: string;
  readonly workspace?: string;
  readonly languages: ReadonlySet<string>;
  /** Lower-cased tool names. */
  readonly tools: ReadonlySet<string>;
}

const PATH_EXTENSION = /[\w./\\-]\.([A-Za-z0-9]{1,6})(?=$|[\s"'`),:;\]}>])/gu;
/** Arguments can hold whole files (a write's content); the start names the file, the rest is data. */
const MAX_SCANNED_CHARS = 4096;

function scanStrings(value: unknown, depth: number, out: (s: string) => void): void {
  if (typeof value === 'string') out(value.length > MAX_SCANNED_CHARS ? value.slice(0, MAX_SCANNED_CHARS) : value);
  else if (depth > 0 && Array.isArray(value)) for (const v of value.slice(0, 64)) scanStrings(v, depth - 1, out);
  else if (depth > 0 && typeof value === 'object' && value !== null) for (const v of Object.values(value).slice(0, 64)) scanStrings(v, depth - 1, out);
}

/** The language ids of the files a string mentions (by extension). */
export function languagesIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(PATH_EXTENSION)) {
    const lang = EXTENSION_LANGUAGES[(m[1] ?? '').toLowerCase()];
    if (lang !== undefined) found.push(lang);
  }
  return found;
}

export function normalizeLanguage(name: string): string {
  const lower = name.trim().toLowerCase();
  return LANGUAGE_ALIASES[lower] ?? lower;
}

export function normalizeWorkspace(path: string): string {
  let p = path.trim().replace(/\\/gu, '/');
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return /^[A-Za-z]:\//u.test(p) ? p.toLowerCase() : p;
}

export function trajectoryFacts(trajectory: Trajectory, workspace?: string): TrajectoryFacts {
  const languages = new Set<string>();
  const tools = new Set<string>();
  for (const step of trajectory.steps) {
    for (const call of step.toolCalls) {
      tools.add(call.name.toLowerCase());
      scanStrings(call.arguments, 3, (s) => {
        for (const lang of languagesIn(s)) languages.add(lang);
      });
    }
  }
  const ws = workspace ?? trajectory.workspace;
  return { trajectoryId: trajectory.id, workspace: ws === undefined || ws.trim() === '' ? undefined : normalizeWorkspace(ws), languages, tools };
}

/** Evidence trajectory id → its workspace, as the store knows it. */
export type EvidenceWorkspaces = ReadonlyMap<string, string>;

/** Whether `principle` may be injected into the trajectory `facts` describes. */
export function scopeAllows(principle: Principle, facts: TrajectoryFacts, evidenceWorkspaces?: EvidenceWorkspaces): boolean {
  const scope = principle.scope;
  if (scope === 'global') return true;
  if (scope === 'workspace') {
    if (principle.evidence.some((e) => e.trajectoryId === facts.trajectoryId)) return true;
    if (facts.workspace === undefined || evidenceWorkspaces === undefined) return false;
    return principle.evidence.some((e) => {
      const ws = evidenceWorkspaces.get(e.trajectoryId);
      return ws !== undefined && normalizeWorkspace(ws) === facts.workspace;
    });
  }
  if (scope.startsWith('language:')) {
    const lang = normalizeLanguage(scope.slice('language:'.length));
    return lang !== '' && facts.languages.has(lang);
  }
  if (scope.startsWith('tool:')) {
    const tool = scope.slice('tool:'.length).trim().toLowerCase();
    return tool !== '' && facts.tools.has(tool);
  }
  return false;
}
