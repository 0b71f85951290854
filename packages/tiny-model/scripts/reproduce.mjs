// Reproduces a shipped model from the repository with one command (a development step: not
// part of CI or of a user's setup; needs Debian's python3-torch and libopenblas0-pthread):
//   node packages/tiny-model/scripts/reproduce.mjs [--preset tiny|small] [--steps N] [--out DIR] [--resume]
// corpus + tokenizer (build-data.mjs) -> training (/usr/bin/python3 train/train.py --preset P;
// tiny: one thread, ~20-40 min on one core; small: two threads, ~1.5 h on two cores; interrupted
// runs continue with --resume from their last checkpoint) -> GGUF export (export.mjs) -> the engine's accuracy table
// (eval-engine.mjs) -> probes (make-probes.mjs) -> the torch accuracy record model/eval-torch.json
// (write-eval-record.mjs). The llama.cpp columns: scripts/eval-llama.mjs. Training is deterministic for
// a seed on one thread; a different CPU or BLAS build can change the last bits of float sums.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { target } from './target.mjs';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const repo = join(pkg, '../..');
const { preset, pkg: modelPkg, flags, train } = target({ steps: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' } });
const steps = flags.steps ?? String(train.steps);
const out = flags.out ?? join(modelPkg, 'train/out');
const PY = '/usr/bin/python3';
const P = ['--preset', preset];

function run(cmd, argv, env = {}) {
  console.log(`reproduce: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: repo, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw new Error(`reproduce: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`reproduce: ${cmd} ${argv.join(' ')} exited with ${r.status}`);
}

const probe = spawnSync(PY, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0)
  throw new Error(`reproduce: ${PY} cannot import torch; install it with: apt-get install python3-torch libopenblas0-pthread`);

run('npx', ['turbo', 'run', 'build', '--filter=@bankai/tiny-model', '--filter=@bankai/model']);
if (!flags.resume) run('node', [join(pkg, 'scripts/build-data.mjs'), ...P]);
run(PY, [join(pkg, 'train/train.py'), ...P, '--steps', steps, '--eval-every', preset === 'tiny' ? '400' : '300', '--data', join(modelPkg, 'train/out'), '--out', out, ...(flags.resume ? ['--resume'] : [])]);
run('node', [join(pkg, 'scripts/export.mjs'), ...P, out]);
run('node', [join(pkg, 'scripts/eval-engine.mjs'), ...P]);
run('node', [join(pkg, 'scripts/make-probes.mjs'), ...P, out]);
run('node', [join(pkg, 'scripts/write-eval-record.mjs'), ...P, out]);
