// Runs the trainer's Python tests with the first interpreter that can import torch.
// Debian's /usr/bin/python3 (python3-torch) is what CI has; a user may point REPO_DIFFUSION_PYTHON elsewhere.
import { spawnSync } from 'node:child_process';

const candidates = [process.env.REPO_DIFFUSION_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter(Boolean);
const python = candidates.find(
  (exe) => spawnSync(exe, ['-c', 'import torch, numpy, pytest'], { stdio: 'ignore' }).status === 0,
);
if (!python) {
  console.error('No Python with torch, numpy and pytest found (tried: ' + candidates.join(', ') + ').');
  console.error('On Debian: apt-get install -y python3-torch python3-numpy python3-pytest libopenblas0-pthread');
  process.exit(1);
}
const args = ['-m', 'pytest', '-q', 'test/python', ...process.argv.slice(2)];
const result = spawnSync(python, args, { stdio: 'inherit', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
process.exit(result.status ?? 1);
