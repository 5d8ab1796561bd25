/** `mfbench deploy <dir>`: deploys a workload folder (or a folder with an app.json). */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../platform/config.js';
import { isMfError } from '../../platform/errors.js';
import type { AppManifest } from '../../platform/manifest.js';
import type { MicroFunctionsClient } from '../../platform/sdk/client.js';
import { checkManifestSize, inlineManifest } from '../../platform/sdk/code.js';
import type { AppSummary } from '../../platform/sdk/types.js';
import { loadWorkloadFromPath, WORKLOAD_NAMES } from '../../workloads/index.js';
import { clientFrom, parseParams, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { out, outJson, say } from '../lib/output.js';

/** Options shared by the commands that deploy (deploy, import-sfn). */
export function withDeployOptions<T>(y: Argv<T>) {
  return y
    .option('replace', { type: 'boolean', default: false, describe: 'delete an app of the same name first' })
    .option('max-body-bytes', {
      type: 'number',
      default: DEFAULTS.maxBodyBytes,
      describe: "the platform's body limit: an inlined manifest over it is refused here, naming its largest files",
    })
    .option('json', { type: 'boolean', default: false, describe: 'print only the app summary JSON on stdout' });
}

/** Deploys (after deleting an existing app of that name with --replace) and reports. */
export async function deployAndReport(
  client: MicroFunctionsClient,
  manifest: AppManifest,
  opts: { replace: boolean; json: boolean; maxBodyBytes: number },
): Promise<AppSummary> {
  checkManifestSize(manifest, opts.maxBodyBytes);
  if (opts.replace) {
    try {
      await client.deleteApp(manifest.name);
      say(`deleted the existing app ${manifest.name}`);
    } catch (err) {
      if (!isMfError(err, 'MF_APP_NOT_FOUND')) throw err;
    }
  }
  const summary = await client.deploy(manifest);
  if (opts.json) {
    outJson(summary);
  } else {
    const fns = summary.functions.map((f) => f.name);
    say(`deployed ${summary.name} to ${client.url}: ${fns.length} function${fns.length === 1 ? '' : 's'} (${abbreviate(fns)}), workflows: ${summary.workflows.join(', ') || 'none'}`);
    out(summary.name);
  }
  return summary;
}

function abbreviate(names: string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, ..., ${names.slice(-2).join(', ')}`;
}

export const deployCommand = defineCommand({
  command: 'deploy <dir>',
  describe: `deploy a workload folder (${WORKLOAD_NAMES.map((n) => `workloads/${n}`).join(', ')}) or a folder with an app.json`,
  builder: (y: Argv<GlobalOptions>) =>
    withDeployOptions(
      y
        .positional('dir', { type: 'string', demandOption: true, describe: 'the folder (or a registered workload name)' })
        .option('name', { type: 'string', describe: "app name (default: the workload's name)" })
        .option('param', { type: 'string', array: true, describe: 'workload parameter key=value (repeatable), e.g. --param length=10' })
        .option('inline', { type: 'boolean', default: false, describe: 'send the code as {files: base64} (for a platform on another host) instead of {dir}' }),
    ),
  handler: async (argv) => {
    const loaded = loadWorkloadFromPath(argv.dir);
    let manifest = loaded.manifest(parseParams(argv.param));
    if (argv.name !== undefined) manifest = { ...manifest, name: argv.name };
    if (argv.inline) manifest = inlineManifest(manifest);
    await deployAndReport(clientFrom(argv), manifest, { replace: argv.replace, json: argv.json, maxBodyBytes: argv.maxBodyBytes });
  },
});
