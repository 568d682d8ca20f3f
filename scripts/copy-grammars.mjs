// Copies the tree-sitter grammars named in grammars/manifest.json from node_modules into
// dist/grammars/<language id>.wasm, next to the bundled parse worker (dist/parseWorker.js).
// Imported at the end of scripts/build.mjs; also runnable alone: node scripts/copy-grammars.mjs
import { copyFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync('grammars/manifest.json', 'utf8'));
const outDir = join('dist', 'grammars');
mkdirSync(outDir, { recursive: true });

let copied = 0;
const missing = [];
for (const lang of manifest.languages) {
  if (!lang.grammar) continue;
  let source;
  try {
    source = join(dirname(require.resolve(`${lang.grammar.package}/package.json`)), lang.grammar.file);
  } catch {
    source = join('node_modules', lang.grammar.package, lang.grammar.file);
  }
  if (!existsSync(source)) {
    missing.push(`${lang.id} (${lang.grammar.package}/${lang.grammar.file})`);
    continue;
  }
  copyFileSync(source, join(outDir, `${lang.id}.wasm`));
  copied++;
}
if (missing.length) {
  // A missing grammar is not fatal: those files fall back to the indentation/bracket chunker.
  console.warn(`copy-grammars: ${missing.length} grammar(s) not found: ${missing.join(', ')}`);
}
console.log(`copy-grammars: ${copied} grammar(s) -> ${outDir}`);
