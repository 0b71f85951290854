export { commands, describeModel } from './commands.js';
export { openModel, sha256File, type Command } from './shared.js';
export { CliError, formatHelp, parseFlags, type CommandSpec, type FlagSpec, type Flags } from './args.js';
