/**
 * The composition root picks one variant of each seam from the resolved config, and nothing else does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveConfig, type UserConfig } from '../../dist/platform/config.js';
import { InSandboxPlacement } from '../../dist/platform/frontend/placement/in-sandbox.js';
import { OnHostPlacement } from '../../dist/platform/frontend/placement/on-host.js';
import { composePlatform } from '../../dist/platform/frontend/start.js';
import { DirectTransport } from '../../dist/platform/frontend/transport/direct.js';
import { JournalTransport } from '../../dist/platform/frontend/transport/journal.js';

const cases: Array<[string, UserConfig, unknown, unknown]> = [
  ['grouped preset', { preset: 'grouped' }, InSandboxPlacement, DirectTransport],
  ['per-function preset', { preset: 'per-function' }, OnHostPlacement, JournalTransport],
  ['grouped sandboxes, every hop through the global bus', { preset: 'grouped', busMode: 'global' }, OnHostPlacement, JournalTransport],
  ['per-function sandboxes, hops over the links', { preset: 'per-function', busMode: 'hierarchical' }, OnHostPlacement, DirectTransport],
];

describe('composePlatform', () => {
  test.each(cases)('%s', async (_name, user, placement, transport) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mfcompose-'));
    const runDir = await mkdtemp(join(dataDir, 'run-'));
    const platform = composePlatform(resolveConfig({ dataDir, ...user }), runDir);
    try {
      expect(platform.parts.placement).toBeInstanceOf(placement);
      expect(platform.parts.transport).toBeInstanceOf(transport);
    } finally {
      await platform.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
