// Reproduces the shipped model from the repository with one command (a development step: not
// part of CI or of a user's setup; needs Debian's python3-torch and libopenblas0-pthread):
//   node packages/tiny-model/scripts/reproduce.mjs [--steps 2400] [--out DIR]
// corpus + tokenizer (build-data.mjs) -> training (/usr/bin/python3 train/train.py, one thread,
// ~20-40 min on one core) -> GGUF export (export.mjs) -> the engine's accuracy table
// (eval-engine.mjs) -> probes (make-probes.mjs) -> the torch accuracy record model/eval-torch.json
// (write-eval-record.mjs). The llama.cpp columns: scripts/eval-llama.mjs. Training is deterministic for
// a seed on one thread; a different CPU or BLAS build can change the last bits of float sums.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const repo = join(pkg, '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const steps = opt('--steps', '2400');
const out = opt('--out', join(pkg, 'train/out'));
const PY = '/usr/bin/python3';

function run(cmd, argv, env = {}) {
  console.log(`reproduce: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: repo, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw new Error(`reproduce: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`reproduce: ${cmd} ${argv.join(' ')} exited with ${r.status}`);
}

const probe = spawnSync(PY, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0)
  throw new Error(`reproduce: ${PY} cannot import torch; install it with: apt-get install python3-torch libopenblas0-pthread`);

run('npx', ['turbo', 'run', 'build', '--filter=@bankai/tiny-model']);
run('node', [join(pkg, 'scripts/build-data.mjs')]);
run(PY, [join(pkg, 'train/train.py'), '--steps', steps, '--eval-every', '400', '--data', join(pkg, 'train/out'), '--out', out],
  { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' });
run('node', [join(pkg, 'scripts/export.mjs'), out]);
run('node', [join(pkg, 'scripts/eval-engine.mjs')]);
run('node', [join(pkg, 'scripts/make-probes.mjs'), out]);
run('node', [join(pkg, 'scripts/write-eval-record.mjs'), out]);
