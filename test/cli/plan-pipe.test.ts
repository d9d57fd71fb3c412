// `thermos-gc plan` exits as soon as it is done (bin/thermos-gc.js, EXITS_WHEN_DONE), never before
// a pipe whose reader is slow has taken the whole plan. A pipe holds 64 KiB; the plan of a few
// hundred Aurora-length ids is more.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleStatusName } from '../../src/core/states.js';
import { generatePresetAgent } from '../../src/sim/agent-presets.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { runCli } from '../helpers/cli-capture.js';
import { removeDir, tempDir } from '../pool/agent-fixture.js';

const BIN = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));

/**
 * Runs the bin with stdout on a shell pipe whose reader sleeps `pauseMs` first: the pipe (64 KiB)
 * fills and the rest waits in the writer until the reader comes.
 */
function runWithSlowReader(argv: string[], pauseMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const script = `"$0" "$@" | (sleep ${pauseMs / 1000}; cat)`;
    const child = spawn('sh', ['-c', script, process.execPath, BIN, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks).toString('utf8') }));
  });
}

describe('plan on a slow pipe', () => {
  let dir: string;
  let agent: DenseAgent;
  let argv: string[];
  beforeAll(async () => {
    dir = await tempDir('plan-pipe-');
    agent = await generatePresetAgent(path.join(dir, 'agent'), 'mesos-history', { tasks: 900, filesPerSandbox: 1, fileBytes: 8, seed: 3 });
    const retained = path.join(dir, 'retained.json');
    const all = [...agent.taskIds.active, ...agent.taskIds.finished];
    await writeFile(retained, JSON.stringify(Object.fromEntries(all.map((id) => [id, scheduleStatusName(2)]))));
    argv = ['plan', ...agent.checkpointRoots.flatMap((r) => ['--checkpoint-root', r]), '--mesos-root', agent.mesosRoot, '--retained', retained, '--now', String(agent.nowMs / 1000), '--json'];
  }, 120_000);
  afterAll(async () => removeDir(dir));

  it('writes the whole plan before it exits', { timeout: 60_000 }, async () => {
    const expected = await runCli(argv);
    expect(expected.code).toBe(0);
    expect(expected.stdout.length).toBeGreaterThan(2 * 65_536);
    const got = await runWithSlowReader(argv, 500);
    expect(got.code).toBe(0);
    expect(got.stdout.length).toBe(expected.stdout.length);
    expect(got.stdout).toBe(expected.stdout);
  });
});
