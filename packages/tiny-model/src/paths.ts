// ---------------------------------------------------------------------------------------------
// Where the shipped files live inside the installed package. URLs are the runtime-neutral form;
// the *Path helpers decode them to file-system paths (POSIX and Windows drive paths).
// ---------------------------------------------------------------------------------------------

import { SKILLS, type SkillName } from './corpus.js';

export const MODEL_FILE_NAME = 'bankai-tiny-q1_0.gguf';

/** Skills that have a probe file `probes/<skill>.json` (upstream probe JSON format). */
export const PROBE_SKILLS: readonly SkillName[] = SKILLS;

/** The shipped GGUF file (Qwen3, Q1_0 linears, F32 norms, gpt2/qwen2 tokenizer). */
export const modelUrl: URL = new URL(`../model/${MODEL_FILE_NAME}`, import.meta.url);

export function probeUrl(skill: SkillName): URL {
  if (!PROBE_SKILLS.includes(skill)) throw new Error(`probeUrl: unknown skill "${skill}"; one of ${PROBE_SKILLS.join(', ')}`);
  return new URL(`../probes/${skill}.json`, import.meta.url);
}

/** A file: URL as a file-system path (POSIX and Windows drive paths). */
export function urlToPath(url: URL): string {
  if (url.protocol !== 'file:') throw new Error(`${url.href} is not a file URL (the package is not installed on a file system)`);
  const p = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p;
}

export const modelPath: string = urlToPath(modelUrl);

export function probePath(skill: SkillName): string {
  return urlToPath(probeUrl(skill));
}
