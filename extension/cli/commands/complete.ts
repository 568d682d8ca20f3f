// `repo-diffusion complete RUN --file PATH --line L --column C`: the suggestion the editor would
// show at that cursor (1-based line and column), through the same engine.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InfillEngine } from '../../engine/index';
import { intOption, parse, requireRun } from '../args';
import { UsageError } from '../errors';

/** Splits text at a 1-based line and column (columns count UTF-16 code units, as editors do). */
export function splitAtCursor(text: string, line: number, column: number): { prefix: string; suffix: string } {
  const lines = text.split('\n');
  if (line > lines.length) throw new UsageError(`--line ${line} is past the end of the file (${lines.length} lines)`);
  const lineText = lines[line - 1].replace(/\r$/, '');
  if (column > lineText.length + 1) throw new UsageError(`--column ${column} is past the end of line ${line} (${lineText.length} characters)`);
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += lines[i].length + 1;
  offset += column - 1;
  return { prefix: text.slice(0, offset), suffix: text.slice(offset) };
}

export async function runComplete(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { file: { type: 'string' }, line: { type: 'string' }, column: { type: 'string' }, 'max-positions': { type: 'string' }, json: { type: 'boolean' } },
    1,
  );
  const runDir = resolve(requireRun(positionals));
  if (!values.file) throw new UsageError('--file PATH is required');
  const line = intOption(values.line, 'line', 1);
  const column = intOption(values.column, 'column', 1);
  if (line === undefined || column === undefined) throw new UsageError('--line and --column are required');
  let text: string;
  try {
    text = readFileSync(values.file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${values.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { prefix, suffix } = splitAtCursor(text, line, column);
  const engine = await InfillEngine.load(runDir, { maxPositions: intOption(values['max-positions'], 'max-positions', 0) });
  try {
    const result = await engine.complete({ prefix, suffix });
    if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
    else process.stdout.write(result.text + (result.text.endsWith('\n') ? '' : '\n'));
    process.stderr.write(`${result.mode} completion: ${result.tokens} tokens in ${result.steps} steps, ${result.ms.toFixed(0)} ms, mean confidence ${result.confidence.toFixed(2)}\n`);
  } finally {
    await engine.dispose();
  }
}
