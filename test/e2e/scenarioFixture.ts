// The workspace the full scenario trains on (scenario.test.ts): a small git repository with
// Python files (a language with a tree-sitter grammar) and Tcl files (one without: the indexer's
// fallback path). Each file repeats one line pattern many times, so that even a nano model trained
// for a minute on 2 CPU cores learns to complete it: the ghost text is then real model output,
// not an empty or whitespace-only canvas.

/** The Python line the model learns. */
export const PY_LINE = '        total = total + value * weight';
/** The Tcl line the model learns. */
export const TCL_LINE = '        set total [expr {$total + $value * $weight}]';

/** How many times each function repeats its line. */
const REPEATS = 6;

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'theta', 'lambda', 'zeta'];

function pyFunctions(word: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push('', '', `def ${word}_sum_${i}(values, weight):`, '    total = 0', '    for value in values:');
    for (let k = 0; k < REPEATS; k++) out.push(PY_LINE);
    out.push('    return total');
  }
  return out;
}

function tclProcs(word: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push('', `proc ${word}_sum_${i} {values weight} {`, '    set total 0', '    foreach value $values {');
    for (let k = 0; k < REPEATS; k++) out.push(TCL_LINE);
    out.push('    }', '    return $total', '}');
  }
  return out;
}

/**
 * Where the test types: the file ends inside a new function, on an indented empty line; the test
 * goes to the end and types `typed` (no brackets or newlines, which the editor would auto-close or
 * auto-indent), and the model should complete the rest of the learned line.
 */
export const PY_TARGET = { file: 'py/target.py', typed: 'total =' };
export const TCL_TARGET = { file: 'tcl/target.tcl', typed: 'set total' };
/** Shorter inputs at the same places, tried when the model has nothing to say after the longer ones. */
export const TARGETS = [PY_TARGET, TCL_TARGET, { file: PY_TARGET.file, typed: 'total' }, { file: TCL_TARGET.file, typed: 'set' }];

/** relative path -> content */
export function scenarioRepo(): Record<string, string> {
  const files: Record<string, string> = {
    'README.md': '# sums\n\nWeighted sums in Python and Tcl.\n',
    '.gitignore': '__pycache__/\n',
  };
  for (const w of WORDS) {
    files[`py/${w}.py`] = [`"""Weighted sums for ${w}."""`, ...pyFunctions(w, 12), ''].join('\n');
    files[`tcl/${w}.tcl`] = [`# Weighted sums for ${w}.`, ...tclProcs(w, 12), ''].join('\n');
  }
  files[PY_TARGET.file] = ['"""Where the e2e test types."""', ...pyFunctions('target', 3), '', '', 'def target_sum_new(values, weight):', '    total = 0', '    for value in values:', PY_LINE, PY_LINE, '        '].join('\n');
  files[TCL_TARGET.file] = ['# Where the e2e test types.', ...tclProcs('target', 3), '', 'proc target_sum_new {values weight} {', '    set total 0', '    foreach value $values {', TCL_LINE, TCL_LINE, '        '].join('\n');
  return files;
}
