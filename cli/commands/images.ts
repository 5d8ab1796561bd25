/**
 * `mfbench images build` and `mfbench images list`: the docker backend's runtime image, built locally FROM scratch
 * from this host's node binary (platform/sandbox/docker/image.ts; docs/docker.md). The build is skipped when the
 * content-hash tag already exists.
 */
import type { Argv } from 'yargs';
import { connectDocker } from '../../platform/sandbox/docker/engine.js';
import { buildRuntimeImage, listRuntimeImages } from '../../platform/sandbox/docker/image.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { out, outJson, say } from '../lib/output.js';
import { formatTable } from '../lib/table.js';

const jsonOption = { type: 'boolean', default: false, describe: 'print only the result JSON on stdout' } as const;

const build = defineCommand({
  command: 'build',
  describe: "build the docker backend's runtime image (skipped when its content-hash tag exists)",
  builder: (y: Argv<GlobalOptions>) =>
    y.option('json', jsonOption).option('force', { type: 'boolean', default: false, describe: 'build even when the tag exists' }),
  handler: async (argv) => {
    const result = await buildRuntimeImage({ force: argv.force, progress: (line) => say(line) });
    if (argv.json) outJson(result);
    else out(`${result.tag} ${result.built ? `built in ${result.seconds} s` : `already present (checked in ${result.seconds} s)`}; alias mfbench-runtime:latest`);
  },
});

const list = defineCommand({
  command: 'list',
  describe: 'list the runtime images on the engine (* marks the one this host uses)',
  builder: (y: Argv<GlobalOptions>) => y.option('json', jsonOption),
  handler: async (argv) => {
    const images = await listRuntimeImages(await connectDocker());
    if (argv.json) {
      outJson({ images });
      return;
    }
    if (images.length === 0) {
      say('no runtime image: `mfbench images build` makes one');
      return;
    }
    out(
      formatTable(
        ['', 'tags', 'node', 'size', 'created'],
        images.map((i) => [i.current ? '*' : '', i.tags.join(' '), i.node ?? '?', `${(i.sizeBytes / 2 ** 20).toFixed(0)} MiB`, i.created]),
      ),
    );
  },
});

export const imagesCommand = {
  command: 'images',
  describe: "the docker backend's runtime image: images build, images list",
  builder: (y: Argv<GlobalOptions>) => y.command(build).command(list).demandCommand(1, 'name a subcommand: build or list'),
  handler: () => undefined,
};
