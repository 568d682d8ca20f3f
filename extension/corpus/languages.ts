// Which language a file is, and where its tree-sitter grammar lives, from grammars/manifest.json.
// Also finds the parse worker: dist/parseWorker.js next to a bundle, or parseWorker.ts through tsx
// when running from source (tests, the CLI under tsx). Knows nothing of parsing itself.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import manifestJson from '../../grammars/manifest.json';

export interface GrammarRef {
  package: string;
  file: string;
}

export interface LanguageSpec {
  id: string;
  extensions: string[];
  filenames?: string[];
  grammar: GrammarRef | null;
  chunks?: string[];
  blocks?: string[];
  calls?: string[];
}

export interface GrammarManifest {
  version: number;
  languages: LanguageSpec[];
}

export const grammarManifest = manifestJson as unknown as GrammarManifest;

const byExtension = new Map<string, LanguageSpec>();
const byFilename = new Map<string, LanguageSpec>();
for (const lang of grammarManifest.languages) {
  for (const ext of lang.extensions) if (!byExtension.has(ext)) byExtension.set(ext, lang);
  for (const name of lang.filenames ?? []) byFilename.set(name, lang);
}

/** Language of a path (posix), or undefined when no entry names its extension or file name. */
export function languageFor(path: string): LanguageSpec | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const named = byFilename.get(name);
  if (named) return named;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const ext = name.slice(dot);
  return byExtension.get(ext) ?? byExtension.get(ext.toLowerCase());
}

export function languageById(id: string): LanguageSpec | undefined {
  return grammarManifest.languages.find((l) => l.id === id);
}

/** True when this module runs from its TypeScript source (tsx), false inside an esbuild bundle. */
export function runningFromSource(): boolean {
  return __filename.endsWith('.ts');
}

function repoRootFromSource(): string {
  return join(__dirname, '..', '..');
}

/** Folders to look for node_modules packages in, nearest first. */
function nodeModulesDirs(): string[] {
  const dirs: string[] = [];
  let dir = __dirname;
  for (;;) {
    dirs.push(join(dir, 'node_modules'));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dirs;
}

/**
 * Path of a language's grammar wasm, or undefined when it is not on disk. Looks in
 * dist/grammars/<id>.wasm (next to a bundle, or the repo's dist when running from source), then in
 * node_modules as the manifest names it.
 */
export function resolveGrammar(lang: LanguageSpec): string | undefined {
  if (!lang.grammar) return undefined;
  const candidates = [join(__dirname, 'grammars', `${lang.id}.wasm`)];
  if (runningFromSource()) candidates.push(join(repoRootFromSource(), 'dist', 'grammars', `${lang.id}.wasm`));
  for (const nm of nodeModulesDirs()) candidates.push(join(nm, lang.grammar.package, lang.grammar.file));
  return candidates.find((p) => existsSync(p));
}

/** web-tree-sitter's own runtime wasm. */
export function resolveTreeSitterWasm(): string | undefined {
  const candidates = [join(__dirname, 'web-tree-sitter.wasm')];
  for (const nm of nodeModulesDirs()) candidates.push(join(nm, 'web-tree-sitter', 'web-tree-sitter.wasm'));
  return candidates.find((p) => existsSync(p));
}

export interface WorkerEntry {
  file: string;
  execArgv: string[];
}

/**
 * How to start the parse worker in the current setting (bundle or source). From source the worker
 * is the .ts file with tsx's CommonJS hook preloaded: on Node 20 `--import tsx` in a worker's
 * execArgv does not reach the worker's own module loader ("Unknown file extension .ts"), while
 * `--require tsx/cjs` does.
 */
export function resolveParseWorker(): WorkerEntry {
  if (runningFromSource()) {
    // createRequire: a resolve that bundlers leave alone (this branch never runs in a bundle).
    return { file: join(__dirname, 'parseWorker.ts'), execArgv: ['--require', createRequire(__filename).resolve('tsx/cjs')] };
  }
  return { file: join(__dirname, 'parseWorker.js'), execArgv: [] };
}
