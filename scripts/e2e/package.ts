// Per-platform VSIX packaging (docs/packaging.md).
//
// The bundle (dist/) holds everything but onnxruntime-node, which is external (native code), and
// the Python trainer. `vsce package --no-dependencies` leaves node_modules/ out altogether, and a
// plain `vsce package` would take every dependency with every platform's binaries (288 MB). So:
//   1. build dist/ (scripts/build.mjs),
//   2. stage package.json, README, LICENSE/CHANGELOG if any, .vscodeignore, dist/, trainer/, grammars/
//      (and the icon) into .e2e/stage/<target>/,
//   3. copy node_modules/onnxruntime-node there pruned to its JS and the target's native binaries,
//      plus onnxruntime-common (its only runtime dependency); trim the staged package.json files'
//      dependencies to exactly these two, so that vsce's `npm list --production` sees a whole tree,
//   4. run `vsce package --target <target>` in the stage with the root .vscodeignore plus one line
//      that lets the target's binaries in.
//
// CLI: node --import tsx scripts/e2e/package.ts [--target T[,T...] | --all] [--out DIR]
//                                                [--no-build | --dev-build]
import { spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const E2E_DIR = resolve(process.env.REPO_DIFFUSION_E2E_DIR || join(ROOT, '.e2e'));

export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'] as const;
export type Target = (typeof TARGETS)[number];

/** The target that matches the machine this runs on. */
export function hostTarget(): Target {
  const t = `${process.platform}-${process.arch}`;
  if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`no VSIX target for this machine (${t})`);
  return t as Target;
}

export function vscePath(): string {
  return process.env.REPO_DIFFUSION_VSCE || join(E2E_DIR, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
}

export interface PackageOptions {
  target: Target;
  /** Folder for the .vsix; default test-artifacts/packages. */
  outDir?: string;
  /** Run scripts/build.mjs first: 'production' (minified, no source maps), 'dev', or false. */
  build?: 'production' | 'dev' | false;
  /** Print vsce's output. */
  verbose?: boolean;
  /** Package this folder as dist/ instead of the tree's dist/ (e.g. a build made elsewhere). */
  distDir?: string;
}

export interface PackageResult {
  target: Target;
  vsix: string;
  bytes: number;
  /** Paths inside the VSIX, e.g. "extension/dist/extension.js". */
  entries: string[];
  /** Sum of the uncompressed sizes. */
  unpackedBytes: number;
  warnings: string[];
  seconds: number;
}

/** Files of the onnxruntime-node package that a target needs at run time, relative to the package. */
function onnxruntimeNativeFiles(target: Target, binDir: string): { files: string[]; warnings: string[] } {
  const [os, arch] = target.split('-');
  const dir = join(binDir, os, arch);
  if (!existsSync(dir)) {
    return {
      files: [],
      warnings: [`onnxruntime-node ships no ${os}/${arch} binaries: this package cannot run models on ${target}`],
    };
  }
  let names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile());
  if (os === 'darwin') {
    // The binding loads @rpath/libonnxruntime.1.dylib; the versioned copy beside it is the same
    // 44 MB file again (a symlink in onnxruntime's own build).
    names = names.filter((n) => !/^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(n));
  }
  return { files: names.map((n) => join(os, arch, n)), warnings: [] };
}

function run(cmd: string, args: string[], cwd: string, verbose: boolean): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (verbose) process.stderr.write(out);
  if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${basename(cmd)} ${args.join(' ')} failed (exit ${r.status}) in ${cwd}:\n${out.slice(-4000)}`);
  return out;
}

export function buildExtension(mode: 'production' | 'dev', verbose = false): void {
  run(process.execPath, ['scripts/build.mjs', ...(mode === 'production' ? ['--production'] : [])], ROOT, verbose);
  if (!existsSync(join(ROOT, 'dist', 'extension.js'))) throw new Error('scripts/build.mjs made no dist/extension.js');
}

/** Lays out .e2e/stage/<target> and returns the stage folder and warnings. */
export function stage(target: Target, distDir?: string): { dir: string; warnings: string[] } {
  const dir = join(E2E_DIR, 'stage', target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

  // Top-level files and folders that can ship. .vscodeignore filters inside them.
  const wanted = new Set(['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'LICENSE.md', 'LICENSE.txt',
    'SECURITY.md', '.vscodeignore', 'dist', 'trainer', 'grammars', 'media', 'images', 'resources']);
  if (typeof manifest.icon === 'string') wanted.add(manifest.icon.split('/')[0]);
  for (const name of wanted) {
    const from = join(ROOT, name);
    if (!existsSync(from)) continue;
    cpSync(from, join(dir, name), {
      recursive: true,
      filter: (src) => !/(^|[\\/])(__pycache__|\.pytest_cache|node_modules)([\\/]|$)/.test(relative(ROOT, src)),
    });
  }
  if (distDir) {
    rmSync(join(dir, 'dist'), { recursive: true, force: true });
    cpSync(resolve(distDir), join(dir, 'dist'), { recursive: true });
  }
  if (!existsSync(join(dir, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: run node scripts/build.mjs');

  // onnxruntime-node, pruned.
  const ortSrc = join(ROOT, 'node_modules', 'onnxruntime-node');
  const commonSrc = join(ROOT, 'node_modules', 'onnxruntime-common');
  if (!existsSync(ortSrc) || !existsSync(commonSrc)) throw new Error('node_modules/onnxruntime-node is missing: run npm ci');
  const ortPkg = JSON.parse(readFileSync(join(ortSrc, 'package.json'), 'utf8'));
  const commonPkg = JSON.parse(readFileSync(join(commonSrc, 'package.json'), 'utf8'));
  const ortDst = join(dir, 'node_modules', 'onnxruntime-node');
  const commonDst = join(dir, 'node_modules', 'onnxruntime-common');
  mkdirSync(join(ortDst, 'dist'), { recursive: true });
  for (const f of readdirSync(join(ortSrc, 'dist'))) if (f.endsWith('.js')) cpSync(join(ortSrc, 'dist', f), join(ortDst, 'dist', f));
  for (const f of ['README.md', 'LICENSE']) if (existsSync(join(ortSrc, f))) cpSync(join(ortSrc, f), join(ortDst, f));
  const napi = (ortPkg.binary?.napi_versions ?? [6]).map((v: number) => `napi-v${v}`)[0];
  const native = onnxruntimeNativeFiles(target, join(ortSrc, 'bin', napi));
  for (const f of native.files) {
    mkdirSync(dirname(join(ortDst, 'bin', napi, f)), { recursive: true });
    cpSync(join(ortSrc, 'bin', napi, f), join(ortDst, 'bin', napi, f));
  }
  // Runtime needs only onnxruntime-common; adm-zip/global-agent serve its install script.
  writeFileSync(join(ortDst, 'package.json'), JSON.stringify({
    ...ortPkg, dependencies: { 'onnxruntime-common': commonPkg.version }, scripts: {}, devDependencies: {},
  }, null, 2));
  cpSync(join(commonSrc, 'dist'), join(commonDst, 'dist'), { recursive: true, filter: (s) => !/\.(map|d\.ts)$/.test(s) });
  writeFileSync(join(commonDst, 'package.json'), JSON.stringify({ ...commonPkg, scripts: {}, devDependencies: {} }, null, 2));

  // The staged manifest: the bundle needs no other dependency; no dev tooling.
  const staged = { ...manifest, dependencies: { 'onnxruntime-node': ortPkg.version } };
  delete staged.devDependencies;
  delete staged.scripts;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

  const ignore = existsSync(join(ROOT, '.vscodeignore')) ? readFileSync(join(ROOT, '.vscodeignore'), 'utf8') : '';
  const [os, arch] = target.split('-');
  writeFileSync(join(dir, '.vscodeignore'),
    `${ignore.trimEnd()}\n\n# added by scripts/e2e/package.ts for ${target}\n!node_modules/onnxruntime-node/bin/${napi}/${os}/${arch}/**\n`);
  return { dir, warnings: native.warnings };
}

/** Builds (optionally), stages and packages one target. */
export function packageExtension(options: PackageOptions): PackageResult {
  const started = Date.now();
  const verbose = options.verbose ?? false;
  const vsce = vscePath();
  if (!existsSync(vsce)) {
    throw new Error(`vsce not found at ${vsce}: run \`bash scripts/e2e/setup.sh\` (installs @vscode/vsce into .e2e/)`);
  }
  if (options.build) buildExtension(options.build, verbose);
  const { dir, warnings } = stage(options.target, options.distDir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const outDir = resolve(options.outDir ?? join(ROOT, 'test-artifacts', 'packages'));
  mkdirSync(outDir, { recursive: true });
  const vsix = join(outDir, `${manifest.name}-${manifest.version}-${options.target}.vsix`);
  rmSync(vsix, { force: true });
  const args = ['package', '--target', options.target, '--out', vsix, '--dependencies', '--no-yarn',
    '--allow-missing-repository', '--no-rewrite-relative-links'];
  if (!['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(dir, f)))) args.push('--skip-license');
  run(vsce, args, dir, verbose);
  const { entries, unpackedBytes } = listZip(vsix);
  for (const e of entries) {
    if (/node_modules\/onnxruntime-node\/bin\//.test(e) && !e.includes(`/${options.target.replace('-', '/')}/`)) {
      throw new Error(`${vsix} holds another platform's binary: ${e}`);
    }
  }
  rmSync(dir, { recursive: true, force: true }); // kept only when packaging failed
  return { target: options.target, vsix, bytes: statSync(vsix).size, entries, unpackedBytes, warnings, seconds: (Date.now() - started) / 1000 };
}

/** Lists a zip file's entries from its central directory (no dependency needed). */
export function listZip(file: string): { entries: string[]; unpackedBytes: number } {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: string[] = [];
  let unpackedBytes = 0;
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    unpackedBytes += buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    entries.push(buf.toString('utf8', p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { entries, unpackedBytes };
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function main(argv: string[]): void {
  let targets: Target[] = [hostTarget()];
  let outDir: string | undefined;
  let build: PackageOptions['build'] = 'production';
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') targets = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
    else if (a === '--target') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const t of list) if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target ${t}; one of ${TARGETS.join(', ')}`);
      targets = list as Target[];
    } else if (a === '--out') outDir = argv[++i];
    else if (a === '--no-build') build = false;
    else if (a === '--dev-build') build = 'dev';
    else if (a === '--verbose') verbose = true;
    else {
      console.error('usage: node --import tsx scripts/e2e/package.ts [--target T[,T...] | --all] [--out DIR] [--no-build | --dev-build] [--verbose]');
      process.exit(2);
    }
  }
  if (build) {
    console.log(`building dist/ (${build})`);
    buildExtension(build, verbose);
  }
  for (const target of targets) {
    const r = packageExtension({ target, outDir, build: false, verbose });
    const natives = r.entries.filter((e) => e.includes('/onnxruntime-node/bin/'));
    console.log(`${target}: ${relative(process.cwd(), r.vsix)}  ${mb(r.bytes)} (${mb(r.unpackedBytes)} unpacked, ${r.entries.length} files, ${natives.length} native) in ${r.seconds.toFixed(1)} s`);
    for (const w of r.warnings) console.log(`  WARNING: ${w}`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
