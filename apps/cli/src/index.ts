export { commands, describeModel, openModel, sha256File, type Command } from './commands.js';
export { CliError, formatHelp, parseFlags, type CommandSpec, type FlagSpec, type Flags } from './args.js';
