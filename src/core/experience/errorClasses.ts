/**
 * Error classes: what kind of failure an observation reports, whatever the program, language or
 * agent. The miner groups failures by class, so that "bash: rg: command not found" in one run and
 * "'make' is not recognized" in another are one situation a principle can name in words.
 */

export type ErrorClass =
  | 'missing-command'
  | 'missing-dependency'
  | 'failing-test'
  | 'syntax-error'
  | 'compile-error'
  | 'permission'
  | 'timeout'
  | 'not-found'
  | 'network'
  | 'edit-mismatch'
  | 'bad-usage'
  | 'conflict'
  | 'out-of-memory'
  | 'secret-detected'
  | 'lint'
  | 'declined';

/**
 * Checked in order, first match wins: the more specific class comes first ("command not found"
 * before "not found", a failing test before the assertion text inside it).
 */
const CLASSES: readonly (readonly [ErrorClass, RegExp])[] = [
  ['declined', /\buser (?:doesn't|does not|did not|didn't) want to (?:proceed|take this action)|\b(?:denied|rejected|declined) by (?:the )?user\b|\buser (?:denied|rejected|declined)\b/iu],
  ['secret-detected', /potential secrets? (?:about to be committed|found|detected)|\bleaks? found\b|secret scanning|push protection|GH013|detect-secrets/iu],
  ['missing-command', /command not found|is not recognized as an internal or external command|\bno such (?:command|program)\b|executable file not found|\bcommand .{0,40}\bnot found\b|\bnot installed\b|exit code:? 127\b/iu],
  ['missing-dependency', /ModuleNotFoundError|No module named|Cannot find module|Cannot find package|ImportError|could not resolve dependency|unresolved import|package .{0,60} is not in (?:GOROOT|std)|no matching distribution|cannot find -l\w+|LoadError|undefined reference to/iu],
  ['failing-test', /\b\d+ (?:failed|failing)\b|\bfailed: \d+|\btests? failed\b|\bFAIL(?:ED|URES?)?\b[ :]|AssertionError|\bassert(?:ion)? failed|\bTests?:\s+\d+ failed|\bnot ok \d+|--- FAIL:|expected .{0,80} (?:to (?:be|equal)|but (?:got|was|received))/u],
  ['syntax-error', /SyntaxError|IndentationError|TabError|parse error|unexpected (?:token|end of (?:input|file)|indent)|unterminated string|invalid syntax|ParseError/iu],
  ['compile-error', /\berror TS\d+|\berror\[E\d+\]|\bcompil(?:e|ation) (?:error|failed)|build failed|cannot find symbol|is not assignable to|has no attribute|TypeError|NameError|ReferenceError|undefined: \w+|\bis not defined\b/u],
  ['lint', /\b[A-Z]{1,3}\d{3,4}\b (?:\[\*\] )?\S|imported but unused|would reformat|\d+ problems? \(\d+ errors?|Found \d+ errors?\.|\bruff\b.*\berror|eslint|pylint|flake8|\blint(?:er|ing)? (?:error|failed)/u],
  ['permission', /permission denied|EACCES|EPERM|operation not permitted|access (?:is )?denied|read-only file system|not permitted/iu],
  ['timeout', /timed? ?out|ETIMEDOUT|deadline exceeded|exit code:? 124\b|took too long/iu],
  ['network', /ECONNREFUSED|ENOTFOUND|ECONNRESET|EAI_AGAIN|could not resolve host|connection (?:refused|reset|timed out)|network is unreachable|name or service not known|temporary failure in name resolution|SSL: CERTIFICATE|failed to fetch|getaddrinfo/iu],
  ['edit-mismatch', /failed to (?:exactly )?match|no (?:exact )?match(?:es)? (?:found|for)|did not appear verbatim|old_str(?:ing)? .{0,40}not found|string to replace (?:was )?not found|search block|could not find the (?:text|string)|does not match the file|file has been (?:modified|changed) since|has been modified since read|not unique in the file/iu],
  ['conflict', /merge conflict|CONFLICT \(|patch does not apply|patch failed|Hunk #\d+ FAILED|non-fast-forward|rejected.{0,20}\(fetch first\)/u],
  ['out-of-memory', /out of memory|MemoryError|OOMKilled|heap out of memory|Killed\s*$|cannot allocate memory/imu],
  ['not-found', /no such file or directory|ENOENT|file not found|does not exist|not found|cannot (?:open|access|stat)|could not (?:find|open)|\b404\b|FileNotFoundError|no such file/iu],
  ['bad-usage', /^usage:|\busage: |unknown (?:option|flag|argument|command)|unrecognized (?:option|argument|arguments)|invalid (?:option|argument|choice)|missing (?:required )?argument|requires an? argument|too (?:many|few) arguments/imu],
];

/** Long outputs are read at their start and end, where programs print what went wrong. */
const HEAD = 4000;
const TAIL = 4000;

/** The class of a failure, or undefined when its text names none of the known kinds. */
export function classifyError(content: string, exitCode?: number): ErrorClass | undefined {
  const text = content.length <= HEAD + TAIL ? content : `${content.slice(0, HEAD)}\n${content.slice(-TAIL)}`;
  for (const [cls, re] of CLASSES) if (re.test(text)) return cls;
  // Shells report a missing program and a killed-by-timeout run by these exit codes alone.
  if (exitCode === 127) return 'missing-command';
  if (exitCode === 124) return 'timeout';
  if (exitCode === 126) return 'permission';
  return undefined;
}

export const ERROR_CLASSES: readonly ErrorClass[] = CLASSES.map(([c]) => c);
