// Git's ignore rules (gitignore(5)) and the user's include/exclude globs, matched without any
// package. Knows paths only (posix, relative to the workspace root); reading the files is scan.ts's job.
//
// Covered: comments and `\#`, trailing-space trimming and `\ `, negation `!` (and `\!`), directory-only
// patterns `foo/`, anchoring (a slash at the start or in the middle binds the pattern to the folder of
// its .gitignore), `**/`, `/**`, `/**/`, `*`, `?`, character classes `[a-z]`, `[!a-z]`, `[^a-z]`,
// escapes. Later rules win over earlier ones, deeper .gitignore files over shallower ones. Git's rule
// that a file cannot be re-included when a parent folder is excluded falls out of the walk: scan.ts
// never enters an ignored folder.

export interface IgnoreRule {
  /** Folder of the .gitignore the rule came from, posix, relative to the root; '' for the root. */
  base: string;
  negate: boolean;
  dirOnly: boolean;
  /** Anchored rules match the path relative to base; the others match the last path component. */
  anchored: boolean;
  regex: RegExp;
  source: string;
}

/** Translates one glob (gitignore flavour) into a regex source, without ^ and $. */
export function globToRegexSource(glob: string): string {
  let out = '';
  let i = 0;
  const n = glob.length;
  while (i < n) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const next = glob[i + 2];
        if (atStart && next === '/') {
          out += '(?:.*/)?'; // `**/` : zero or more folders
          i += 3;
          continue;
        }
        if (atStart && next === undefined) {
          out += '.*'; // trailing `/**` (or a lone `**`): everything inside
          i += 2;
          continue;
        }
        // Other consecutive asterisks are ordinary `*` (gitignore(5)).
        while (glob[i] === '*') i++;
        out += '[^/]*';
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const end = findClassEnd(glob, i);
      if (end < 0) {
        out += '\\[';
        i++;
        continue;
      }
      let body = glob.slice(i + 1, end);
      let negated = false;
      if (body[0] === '!' || body[0] === '^') {
        negated = true;
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const ch = body[j];
        if (ch === '\\' && j + 1 < body.length) {
          cls += '\\' + body[++j];
        } else if (ch === '-' ) {
          cls += '-';
        } else if (ch === ']' || ch === '[' || ch === '^' || ch === '\\') {
          cls += '\\' + ch;
        } else {
          cls += ch;
        }
      }
      // A class never matches the separator.
      out += negated ? `[^/${cls}]` : `(?!/)[${cls}]`;
      i = end + 1;
    } else if (c === '\\' && i + 1 < n) {
      out += escapeRegex(glob[i + 1]);
      i += 2;
    } else {
      out += escapeRegex(c);
      i++;
    }
  }
  return out;
}

function findClassEnd(glob: string, start: number): number {
  let j = start + 1;
  if (glob[j] === '!' || glob[j] === '^') j++;
  if (glob[j] === ']') j++; // a leading ] is literal
  for (; j < glob.length; j++) {
    if (glob[j] === '\\') {
      j++;
      continue;
    }
    if (glob[j] === ']') return j;
  }
  return -1;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

/** Parses the text of one .gitignore (or .git/info/exclude) found in folder `base`. */
export function parseGitignore(text: string, base: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine;
    if (line === '' || line.startsWith('#')) continue;
    // Trailing spaces are trimmed unless escaped with a backslash.
    line = line.replace(/(?<!\\)[ \t]+$/, '');
    if (line === '') continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith('\\!') || line.startsWith('\\#')) {
      line = line.slice(1);
    }
    let dirOnly = false;
    if (line.endsWith('/') && !line.endsWith('\\/')) {
      dirOnly = true;
      line = line.replace(/\/+$/, '');
    }
    if (line === '') continue;
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    rules.push({
      base,
      negate,
      dirOnly,
      anchored,
      regex: new RegExp('^' + globToRegexSource(line) + '$'),
      source: rawLine,
    });
  }
  return rules;
}

/**
 * Decides a path against rules given from lowest to highest precedence. Returns true (ignored),
 * false (re-included by a negation) or undefined (no rule matched).
 */
export function matchIgnore(rules: readonly IgnoreRule[], path: string, isDir: boolean): boolean | undefined {
  let result: boolean | undefined;
  let name: string | undefined;
  for (let k = rules.length - 1; k >= 0; k--) {
    const rule = rules[k];
    if (rule.dirOnly && !isDir) continue;
    let rel: string;
    if (rule.base === '') rel = path;
    else if (path.startsWith(rule.base + '/')) rel = path.slice(rule.base.length + 1);
    else continue;
    let target: string;
    if (rule.anchored) target = rel;
    else target = name ??= path.slice(path.lastIndexOf('/') + 1);
    if (rule.regex.test(target)) {
      result = !rule.negate;
      break; // the last matching rule decides
    }
  }
  return result;
}

/** User include/exclude globs: gitignore syntax relative to the root; a glob without a slash matches at any depth. */
export class GlobSet {
  private readonly rules: IgnoreRule[];
  constructor(globs: readonly string[]) {
    this.rules = parseGitignore(globs.join('\n'), '');
  }
  get empty(): boolean {
    return this.rules.length === 0;
  }
  /** True when the path, or one of its parent folders, matches. */
  matches(path: string, isDir = false): boolean {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (matchIgnore(this.rules, prefix, i < parts.length || isDir) === true) return true;
    }
    return false;
  }
}
