/**
 * Tool roles: what a call does, whatever the agent named its tool. The miner reasons over roles so
 * that Claude Code's Edit, Codex's apply_patch and Cline's replace_in_file are one habit, and so that
 * no tool name reaches a principle's text.
 */
import type { ToolCall } from '../trajectory.js';

export type ToolRole =
  | 'edit'
  | 'read'
  | 'search'
  | 'run'
  | 'test'
  | 'build'
  | 'install'
  | 'check'
  | 'vcs'
  | 'web'
  | 'plan'
  | 'delegate'
  | 'ask'
  | 'finish'
  | 'other';

/**
 * Tool names as the agents log them (fixtures under test/fixtures, and each agent's published tool
 * list). Shell tools map to 'run' and are refined by the command they ran.
 */
const TOOL_ROLES: Readonly<Record<string, ToolRole>> = {
  // Claude Code
  Edit: 'edit', MultiEdit: 'edit', Write: 'edit', NotebookEdit: 'edit',
  Read: 'read', NotebookRead: 'read', BashOutput: 'read',
  Bash: 'run', KillShell: 'run',
  Grep: 'search', Glob: 'search', LS: 'search',
  WebFetch: 'web', WebSearch: 'web',
  Task: 'delegate', TodoWrite: 'plan', ExitPlanMode: 'plan',
  // Codex CLI
  shell: 'run', local_shell: 'run', exec_command: 'run', container_exec: 'run', write_stdin: 'run',
  apply_patch: 'edit', update_plan: 'plan', view_image: 'read', web_search: 'web', tool_search_call: 'search',
  // Cline and Roo Code
  replace_in_file: 'edit', write_to_file: 'edit', apply_diff: 'edit', insert_content: 'edit', search_and_replace: 'edit',
  read_file: 'read', execute_command: 'run',
  search_files: 'search', list_files: 'search', list_code_definition_names: 'search', codebase_search: 'search',
  browser_action: 'web', ask_followup_question: 'ask', attempt_completion: 'finish', new_task: 'delegate', plan_mode_respond: 'plan',
  // Gemini CLI
  run_shell_command: 'run', replace: 'edit', write_file: 'edit', read_many_files: 'read',
  search_file_content: 'search', glob: 'search', list_directory: 'search', web_fetch: 'web', google_web_search: 'web', save_memory: 'plan',
  // OpenHands (str_replace_editor is refined by its sub-command)
  execute_bash: 'run', execute_ipython_cell: 'run', CmdRunAction: 'run', str_replace_editor: 'edit', edit_file: 'edit',
  browser: 'web', think: 'plan', finish: 'finish', FileReadAction: 'read', FileEditAction: 'edit', AgentFinishAction: 'finish',
  // SWE-agent
  bash: 'run', open: 'read', goto: 'read', scroll_up: 'read', scroll_down: 'read',
  edit: 'edit', create: 'edit', insert: 'edit', find_file: 'search', search_file: 'search', search_dir: 'search', submit: 'finish',
  // GitHub Copilot agent mode
  insert_edit_into_file: 'edit', replace_string_in_file: 'edit', multi_replace_string_in_file: 'edit', create_file: 'edit', edit_notebook_file: 'edit',
  run_in_terminal: 'run', get_terminal_output: 'read', run_tests: 'test', runTests: 'test', get_errors: 'check',
  grep_search: 'search', file_search: 'search', semantic_search: 'search', list_dir: 'search', fetch_webpage: 'web',
  // Research rollouts (openai-messages) and ATIF
  search: 'search', web_qa: 'web', bash_command: 'run',
};

/** Known tool names that are not ordinary words, so that the specificity check can flag them in a principle. */
export const TOOL_NAMES: ReadonlySet<string> = new Set(Object.keys(TOOL_ROLES).filter((n) => n.includes('_') || /^[A-Z][a-z]+[A-Z]/u.test(n)));

const EDITOR_READS = new Set(['view', 'view_range']);

/** The program a shell command runs, without `bash -lc`, `cd … &&`, env assignments and sudo. */
export function commandOf(call: ToolCall): string | undefined {
  const a = call.arguments;
  const raw = typeof a.command === 'string' ? a.command : typeof a.cmd === 'string' ? a.cmd : Array.isArray(a.command) ? a.command.map(String).join(' ') : undefined;
  if (raw === undefined) return undefined;
  return raw.replace(/^\s*(?:bash|sh|zsh)\s+-l?c\s+/u, '').replace(/^["']|["']$/gu, '').trim();
}

/** The last command of a chain (`cd x && npm test` runs npm test), without env assignments and sudo. */
function mainCommand(command: string): string {
  const parts = command.split(/&&|;|\|\|/u).map((p) => p.trim()).filter((p) => p !== '' && !/^cd\s/u.test(p) && !/^(?:export|source|\.)\s/u.test(p));
  const last = parts[parts.length - 1] ?? command;
  return last.replace(/^(?:\w+=\S*\s+)+/u, '').replace(/^sudo\s+/u, '').trim();
}

/** The role of a shell command, from the program it runs and, for package managers, its sub-command. */
export function commandRole(command: string): ToolRole {
  const c = mainCommand(command);
  if (/^(?:which|whereis|type|hash)\s|^command\s+-v\s|\s--version\b|^\S+\s+-V$/u.test(c)) return 'check';
  if (/\b(?:pytest|jest|vitest|mocha|tox|phpunit|rspec|ctest|unittest)\b|^(?:npm|yarn|pnpm|bun)\s+(?:run\s+)?test\b|^(?:go|cargo|dotnet|mix|deno)\s+test\b|^make\s+(?:test|check)\b|^node\s+--test\b/u.test(c)) return 'test';
  if (/^(?:pip3?|uv\s+pip|poetry|pipx)\s+(?:install|add)\b|^(?:npm|pnpm|bun)\s+(?:install|i|ci|add)\b|^yarn(?:\s+(?:install|add)\b|$)|^(?:apt|apt-get|brew|gem|cargo|dnf|yum|apk)\s+(?:install|add)\b|^go\s+(?:get|install)\b|^conda\s+install\b/u.test(c)) return 'install';
  if (/^(?:sed\s+-i|perl\s+-pi|patch|tee|apply_patch)\b|^git\s+apply\b|^(?:cat|echo|printf)\b[^|]*>/u.test(c)) return 'edit';
  if (/^(?:cat|head|tail|less|more|nl|bat|sed\s+-n|wc|file|stat)\b/u.test(c)) return 'read';
  if (/^(?:grep|rg|ag|ack|find|fd|ls|tree|locate)\b|^git\s+(?:grep|ls-files)\b/u.test(c)) return 'search';
  if (/^git\b/u.test(c)) return 'vcs';
  if (/^(?:make|tsc|gcc|g\+\+|clang|javac|mvn|gradle|cmake|ninja)\b|^(?:npm|yarn|pnpm)\s+run\s+(?:build|compile|typecheck|lint)\b|^(?:cargo|go|dotnet)\s+(?:build|check|vet)\b/u.test(c)) return 'build';
  if (/^(?:curl|wget)\b/u.test(c)) return 'web';
  return 'run';
}

/** What a call does: its tool's role, refined by the command for shells and by the sub-command for editors. */
export function toolRole(call: ToolCall): ToolRole {
  const known = TOOL_ROLES[call.name] ?? TOOL_ROLES[call.name.toLowerCase()];
  const command = commandOf(call);
  if (known === 'run' || (known === undefined && command !== undefined)) return command === undefined ? 'run' : commandRole(command);
  if (call.name === 'str_replace_editor' || call.name === 'edit_file') {
    const sub = call.arguments.command;
    if (typeof sub === 'string' && EDITOR_READS.has(sub)) return 'read';
  }
  if (known !== undefined) return known;
  if (call.name.startsWith('mcp__')) return 'other';
  // An unknown tool still tells its kind by its name, as most agents name tools verb-first.
  if (/edit|write|patch|replace|create|insert/iu.test(call.name)) return 'edit';
  if (/read|view|open|cat/iu.test(call.name)) return 'read';
  if (/search|grep|find|glob|list/iu.test(call.name)) return 'search';
  if (/shell|exec|command|terminal|run/iu.test(call.name)) return 'run';
  return 'other';
}

/** Roles that only look: reading, searching, checking. */
export function isInspection(role: ToolRole): boolean {
  return role === 'read' || role === 'search' || role === 'check';
}
