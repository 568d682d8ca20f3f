// Indexing throughput: runs indexWorkspace on a source tree a few times and prints the medians,
// end to end and per phase, in MB/s of input (the bytes of every file the scan offered to the
// filter). Default tree: Debian's tcllib (see docs/corpus.md for how to fetch it).
//   node --import tsx bench/index.bench.ts [DIR] [--runs N] [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexWorkspace } from '../extension/corpus/index';

interface RunResult {
  wall: number;
  cpu: number;
  mainCpu: number;
  inputBytes: number;
  keptBytes: number;
  phases: Record<string, number>;
  trainTokens: number;
  files: number;
}

/**
 * CPU seconds of the main thread alone (Linux: /proc/self/task/<pid>/stat, utime + stime). On a
 * shared, loaded machine the wall time says little; the main thread's CPU time is the critical
 * path (the workers run beside it), so max(main, workers) estimates the wall time on 2 idle cores.
 */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return NaN;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function runOnce(dir: string): Promise<RunResult> {
  const runDir = mkdtempSync(join(tmpdir(), 'rd-bench-'));
  let inputBytes = 0;
  try {
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpu();
    const t0 = performance.now();
    const summary = await indexWorkspace(dir, runDir, {}, {
      onProgress: (p) => {
        if (p.phase === 'filter') inputBytes = Math.max(inputBytes, p.bytesTotal);
      },
    });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    const mainCpu = mainThreadCpu() - main0;
    const manifest = JSON.parse(readFileSync(join(runDir, 'corpus', 'manifest.json'), 'utf8'));
    const keptBytes: number = manifest.totals.bytes_kept;
    return { wall, cpu: (c.user + c.system) / 1e6, mainCpu, inputBytes, keptBytes, phases: summary.timings, trainTokens: summary.trainTokens, files: summary.filesKept };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? '/tmp/tcllib/usr/share/tcltk';
  const results: RunResult[] = [];
  for (let r = 0; r < runs; r++) {
    results.push(await runOnce(dir));
    if (!json) process.stderr.write(`run ${r + 1}/${runs}: ${results[r].wall.toFixed(2)} s\n`);
  }
  const mb = results[0].inputBytes / 1e6;
  const wall = median(results.map((r) => r.wall));
  const phaseNames = Object.keys(results[0].phases);
  const phases = Object.fromEntries(phaseNames.map((p) => [p, median(results.map((r) => r.phases[p] ?? 0))]));
  const report = {
    dir,
    runs,
    cores: cpus().length,
    load_average_1m: Math.round(loadavg()[0] * 100) / 100,
    input_mb: Math.round(mb * 100) / 100,
    kept_mb: Math.round((results[0].keptBytes / 1e6) * 100) / 100,
    files_kept: results[0].files,
    train_tokens: results[0].trainTokens,
    wall_s: Math.round(wall * 1000) / 1000,
    mb_per_s: Math.round((mb / wall) * 100) / 100,
    cpu_s: Math.round(median(results.map((r) => r.cpu)) * 1000) / 1000,
    main_thread_cpu_s: Math.round(median(results.map((r) => r.mainCpu)) * 1000) / 1000,
    worker_cpu_s: Math.round(median(results.map((r) => r.cpu - r.mainCpu)) * 1000) / 1000,
    idle_2core_estimate_mb_per_s: Math.round((mb / median(results.map((r) => Math.max(r.mainCpu, r.cpu - r.mainCpu)))) * 100) / 100,
    phases_s: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    phases_mb_per_s: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v > 0 ? Math.round((mb / v) * 10) / 10 : null])),
  };
  if (json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`indexed ${report.input_mb} MB (${report.kept_mb} MB kept, ${report.files_kept} files, ${report.train_tokens} train tokens) from ${dir}`);
  console.log(`${report.cores} cores, load average ${report.load_average_1m}; median of ${runs} runs`);
  console.log(`end to end: ${report.wall_s} s = ${report.mb_per_s} MB/s (process CPU ${report.cpu_s} s)`);
  console.log(
    `CPU: main thread ${report.main_thread_cpu_s} s, workers ${report.worker_cpu_s} s -> on 2 idle cores about ${report.idle_2core_estimate_mb_per_s} MB/s`,
  );
  console.log('phase            seconds    MB/s   (parse_workers runs beside dedupe/split/tokenizer; "parse" is the wait for it)');
  for (const p of phaseNames) {
    console.log(`${p.padEnd(16)} ${phases[p].toFixed(3).padStart(7)} ${String(report.phases_mb_per_s[p] ?? '-').padStart(7)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
