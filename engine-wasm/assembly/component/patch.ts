import { fail } from './errors';
import { Model } from './model';

export function applyPatch(m: Model, ptr: usize, len: usize): i32 {
  fail('apply-patch: not yet');
  return -1;
}

export function revertPatch(m: Model): bool {
  return fail('revert-patch: no patch is applied');
}
