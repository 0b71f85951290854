// ---- errors without exceptions ----
// AssemblyScript has no try/catch (a throw is a trap), and a component must answer malformed
// input with err, never trap. So every reader below checks before it reads, records the first
// problem here and returns a sentinel; the export turns the recorded message into result::err.

let message: string | null = null;

/** Records `msg` (the first failure wins) and returns false, so `return fail(...)` reads well. */
export function fail(msg: string): bool {
  if (message === null) message = msg;
  return false;
}

export function failed(): bool {
  return message !== null;
}

/** The recorded message, cleared. */
export function takeError(): string {
  const m = message;
  message = null;
  return m !== null ? m : 'unknown error';
}

export function clearError(): void {
  message = null;
}
