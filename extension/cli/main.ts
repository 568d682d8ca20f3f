// repo-diffusion: the command line over the same core as the extension (DESIGN.md "The CLI").
// Exit codes: 0 success, 1 failure with a one-line reason on stderr, 2 bad arguments.
import { UsageError } from './errors';

const USAGE = `usage:
  repo-diffusion index [DIR] --out RUN [--include GLOB]... [--exclude GLOB]... [--max-file-bytes N]
                       [--vocab-size N] [--seed N] [--eval-tasks N] [--json]
  repo-diffusion train RUN [--objective diffusion|autoregressive] [--preset auto|nano|tiny|small|base|large]
                       [--minutes M | --epochs E | --tokens T] [--device auto|cuda|mps|cpu]
                       [--python PATH] [--resume] [--json]
  repo-diffusion complete RUN --file PATH --line L --column C [--max-positions N] [--json]
  repo-diffusion eval RUN [--tasks FILE.jsonl] [--limit N] [--oracle-length] [--max-positions N] [--json]
  repo-diffusion bench RUN [--runs N] [--mode line|block] [--max-positions N] [--window N] [--json]
  repo-diffusion compare [DIR] --out OUT [--tokens T | --minutes M] [--preset auto|nano|tiny|small|base|large]
                       [--device D] [--seed N] [--eval-every N] [--eval-tasks N] [--final-tasks N]
                       [--batch-size B] [--seq-len N] [--json]
  repo-diffusion audit RUN [--prompts N] [--min-middle N] [--max-middle N] [--long-run CHARS] [--canaries FILE] [--json]
  repo-diffusion doctor [--python PATH]
Lines and columns are 1-based.`;

type Command = (argv: string[]) => Promise<void>;

const commands: Record<string, () => Promise<Command>> = {
  index: async () => (await import('./commands/index')).runIndex,
  train: async () => (await import('./commands/train')).runTrain,
  doctor: async () => (await import('./commands/train')).runDoctor,
  complete: async () => (await import('./commands/complete')).runComplete,
  eval: async () => (await import('./commands/evaluate')).runEval,
  bench: async () => (await import('./commands/bench')).runBench,
  compare: async () => (await import('./commands/compare')).runCompare,
  audit: async () => (await import('./commands/audit')).runAudit,
};

/** The usage lines of one command: its own line and the indented ones that continue it. */
function commandUsage(name: string): string {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  repo-diffusion ${name} `) || line === `  repo-diffusion ${name}`);
  if (start < 0) return USAGE;
  let end = start + 1;
  while (end < lines.length && /^ {20,}\S/.test(lines[end])) end++;
  return ['usage:', ...lines.slice(start, end), lines[lines.length - 1]].join('\n');
}

const isHelpFlag = (arg: string) => arg === '--help' || arg === '-h';

/** `--help` or `-h` among a command's options (not after `--`, where it is a positional). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some(isHelpFlag);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || isHelpFlag(name) || name === 'help') {
    (name ? process.stdout : process.stderr).write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`repo-diffusion: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(commandUsage(name) + '\n');
    return 0;
  }
  try {
    await (await load())(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`repo-diffusion ${name}: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`repo-diffusion ${name}: ${message.split('\n')[0]}\n`);
    if (process.env.REPO_DIFFUSION_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
