// A generated dense agent in a temp dir plus a GcConfig pointing at it, for the pool tests.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, type GcConfig } from '../../src/config.js';
import type { DeletionTarget, TaskFacts } from '../../src/core/facts.js';
import type { GcServices } from '../../src/services/services.js';
import { generateAgent, type DenseAgent, type DenseAgentOptions } from '../../src/sim/dense-agent.js';

export const NOW_MS = 1_750_000_000_000;

export async function tempDir(prefix = 'pool-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function agentIn(dir: string, opts: Partial<DenseAgentOptions> = {}): Promise<DenseAgent> {
  return generateAgent(dir, { tasks: 200, filesPerSandbox: 2, fileBytes: 64, seed: 42, nowMs: NOW_MS, ...opts });
}

export function configFor(agent: DenseAgent, over: Partial<GcConfig> = {}): GcConfig {
  return {
    ...defaultConfig(),
    checkpointRoots: [agent.checkpointRoot],
    mesosRoot: agent.mesosRoot,
    sandboxRoots: [agent.sandboxRoot],
    ...over,
  };
}

/** Deletion targets for every finished, unlinked task, built through the services' own path rules. */
export function targetsFor(services: GcServices, facts: readonly TaskFacts[], linked: ReadonlySet<string>): DeletionTarget[] {
  return facts
    .filter((f) => f.state === 'finished' && !linked.has(f.taskId))
    .map((f) => {
      const t: DeletionTarget = { taskId: f.taskId, reason: 'finished-unlinked', logPaths: services.logPaths(f), metadataPaths: services.metadataPaths(f) };
      if (f.sandbox !== undefined) t.sandbox = f.sandbox;
      return t;
    });
}

export function byTaskId<T extends { taskId: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
}
