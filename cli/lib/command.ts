/**
 * defineCommand: a yargs command module whose handler returns an exit code. Errors thrown by the handler are printed
 * as `error MF_CODE: message` (+ details, hint) on stderr, with exit code 1 (2 for usage errors).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { GlobalOptions } from './args.js';
import { reportError } from './output.js';

export interface CommandDef<U> {
  command: string | readonly string[];
  describe: string;
  builder: (y: Argv<GlobalOptions>) => Argv<U>;
  /** Returns the process exit code (0 when it returns nothing). */
  handler: (argv: ArgumentsCamelCase<U>) => Promise<number | void>;
}

export function defineCommand<U>(def: CommandDef<U>): CommandModule<GlobalOptions, U> {
  return {
    command: def.command as string | string[],
    describe: def.describe,
    builder: def.builder,
    handler: async (argv) => {
      try {
        process.exitCode = (await def.handler(argv)) ?? 0;
      } catch (err) {
        process.exitCode = reportError(err);
      }
    },
  };
}
