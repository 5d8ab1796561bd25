/**
 * `mfbench import-sfn <definition.json>`: turns an AWS Step Functions definition plus a folder of Lambda functions
 * (one subfolder per function, handler index.handler) into an app and deploys it. The code is inlined as {files}.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { MfError } from '../../platform/errors.js';
import type { AppManifest, FunctionManifest } from '../../platform/manifest.js';
import { filesFromDir } from '../../platform/sdk/code.js';
import { clientFrom, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { UsageError } from '../lib/output.js';
import { deployAndReport, withDeployOptions } from './deploy.js';

/** The manifest import-sfn deploys: every subfolder of `functionsDir` is a function named after it. */
export function manifestFromSfn(definitionFile: string, functionsDir: string | undefined, name: string, workflow: string): AppManifest {
  let text: string;
  try {
    text = readFileSync(definitionFile, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the definition ${definitionFile}: ${(err as Error).message}`, { path: definitionFile });
  }
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (err) {
    throw new MfError('MF_ASL_INVALID', `${definitionFile} is not JSON: ${(err as Error).message}`, { path: definitionFile });
  }
  const functions: FunctionManifest[] = [];
  if (functionsDir !== undefined) {
    const dir = resolve(functionsDir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new UsageError(`cannot read the --functions folder ${dir}: ${(err as Error).message}`, { path: dir });
    }
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      functions.push({ name: entry.name, handler: 'index.handler', code: { files: filesFromDir(join(dir, entry.name)) } });
    }
  }
  return { name, functions, workflows: { [workflow]: definition } };
}

export const importSfnCommand = defineCommand({
  command: 'import-sfn <definition>',
  describe: 'deploy a Step Functions definition with its Lambda functions (one subfolder each, handler index.handler)',
  builder: (y: Argv<GlobalOptions>) =>
    withDeployOptions(
      y
        .positional('definition', { type: 'string', demandOption: true, describe: 'the state machine definition (JSON)' })
        .option('functions', { type: 'string', describe: 'folder with one subfolder per function (named after it)' })
        .option('name', { type: 'string', demandOption: true, describe: 'app name' })
        .option('workflow', { type: 'string', default: 'main', describe: 'workflow name of the definition in the app' }),
    ),
  handler: async (argv) => {
    const manifest = manifestFromSfn(argv.definition, argv.functions, argv.name, argv.workflow);
    await deployAndReport(clientFrom(argv), manifest, { replace: argv.replace, json: argv.json, maxBodyBytes: argv.maxBodyBytes });
  },
});
