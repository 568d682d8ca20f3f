// The main job, one command on a fresh clone: `npm start [-- DIR] [--minutes M]`.
// Installs what is missing (npm packages; Debian's torch when run as root on Debian), builds,
// indexes DIR (default: the bundled sample, samples/tcl-ledger; `npm start -- .` for this project), trains the tiny preset (GPU when present),
// exports, and prints held-out infill suggestions next to the truth with the exact-match figure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const minutes = flag('--minutes', '3');
const preset = flag('--preset', 'tiny');
const target = resolve(args[0] ?? join(repo, 'samples', 'tcl-ledger'));
const runDir = join(repo, '.runs', `demo-${basename(target) || 'root'}`);

function step(title) {
  process.stderr.write(`\n== ${title}\n`);
}
function run(cmd, cmdArgs, options = {}) {
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: repo, ...options });
  if (r.status !== 0) {
    process.stderr.write(`\nfailed: ${cmd} ${cmdArgs.join(' ')}\n`);
    process.exit(r.status ?? 1);
  }
}
const canImportTorch = (py) => spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

step('1/5 install');
if (!existsSync(join(repo, 'node_modules', '.package-lock.json'))) run('npm', ['ci', '--no-audit', '--no-fund']);
else process.stderr.write('npm packages: present\n');
const pythons = [process.env.REPO_DIFFUSION_PYTHON, 'python3', 'python', '/usr/bin/python3'].filter(Boolean);
let python = pythons.find(canImportTorch);
if (!python) {
  const isRootOnDebian = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (isRootOnDebian) {
    process.stderr.write('no Python with torch: installing Debian\'s python3-torch (about a minute)\n');
    run('apt-get', ['install', '-y', '-qq', 'python3-torch', 'python3-numpy', 'libopenblas0-pthread']);
    python = '/usr/bin/python3';
  } else {
    process.stderr.write(
      'No Python with torch found (tried ' + pythons.join(', ') + ').\n' +
        'Install it, e.g. `python3 -m venv .venv && .venv/bin/pip install -r trainer/requirements.txt`,\n' +
        'then run again with REPO_DIFFUSION_PYTHON=.venv/bin/python.\n',
    );
    process.exit(1);
  }
}
process.stderr.write(`python with torch: ${python}\n`);
run('npm', ['run', '--silent', 'build']);

const cli = (sub) => run(process.execPath, [join(repo, 'dist', 'cli.js'), ...sub], { env: { ...process.env, REPO_DIFFUSION_PYTHON: python } });

step(`2/5 index ${target}`);
cli(['index', target, '--out', runDir]);

step(`3/5 train (${preset} preset, ${minutes} minutes)`);
cli(['train', runDir, '--preset', preset, '--minutes', minutes]);

step('4/5 held-out infill suggestions (the trained model through the editor\'s engine)');
cli(['eval', runDir, '--limit', '40', '--show', '6']);

step('5/5 where things are');
process.stderr.write(`run folder: ${runDir}\n  model: ${join(runDir, 'model.onnx')}\n`);
process.stderr.write(`try a completion: node dist/cli.js complete ${runDir} --file FILE --line L --column C\n`);
// The .vsix for this platform: vsce comes with the e2e tools (npm run e2e:setup), not the project.
const platformTarget = `${process.platform}-${process.arch}`;
if (existsSync(join(repo, '.e2e', 'node_modules', '.bin', 'vsce'))) {
  run(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'e2e', 'package.ts'), '--target', platformTarget]);
} else {
  process.stderr.write(`vsix: not built (vsce is not installed); build it with: npm run e2e:setup && npm run package -- --target ${platformTarget}\n`);
}
