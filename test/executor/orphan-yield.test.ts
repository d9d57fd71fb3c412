// A GC task that arrives during a long orphan pass does not wait for the whole pass: the pass
// stops after the slice it is reading, the run starts, and the next pass resumes where the
// first one stopped. Shown by the order of events over real services on a real agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import type { TaskFacts, TaskRef } from '../../src/core/facts.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { defaultConfig } from '../../src/config.js';
import { GcExecutor } from '../../src/executor/gc-executor.js';
import { ORPHAN_SLICE_TASKS, createLocalServices } from '../../src/services/local-services.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { readTaskFacts } from '../../src/io/task-facts-reader.js';
import { silentLogger } from '../../src/log.js';
import { mapBounded } from '../../src/map-bounded.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { denseAgent } from '../e2e/harness.js';
import { FakeClock, untilSleeping } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { removeDir, tempDir } from '../pool/agent-fixture.js';

const SLICES = 5;

describe('the orphan pass gives way to a queued GC task', () => {
  let dir: string;
  let agent: DenseAgent;
  beforeAll(async () => {
    dir = await tempDir('orphan-yield-');
    // Every task active, with fresh checkpoints: each orphan check says "recent", none is lost.
    agent = await denseAgent(dir, { tasks: ORPHAN_SLICE_TASKS * SLICES, activeShare: 1, filesPerSandbox: 0, processesPerTask: 1, seed: 5 });
  }, 120_000);
  afterAll(async () => removeDir(dir));

  it('a LAUNCH during the pass starts its run after the current slice; the next pass resumes after it', { timeout: 120_000 }, async () => {
    const events: string[] = [];
    const clock = new FakeClock(Date.now());
    const driver = new RecordingDriver();
    const config = { ...defaultConfig(), workers: 0, checkpointRoots: [agent.checkpointRoot], mesosRoot: agent.mesosRoot, sandboxRoots: [agent.sandboxRoot] };
    let executor: GcExecutor | undefined;
    let launched = false;
    const sliceStarts: string[] = [];
    const readFacts = async (refs: readonly TaskRef[]): Promise<TaskFacts[]> => {
      // Once the LAUNCH is in, reads are the GC run's (in chunks of its own) until it finishes;
      // the orphan pass reads slices of ORPHAN_SLICE_TASKS.
      const runReading = launched && driver.updatesFor('gc-1').at(-1)?.state !== 'TASK_FINISHED';
      const kind = runReading ? 'run-read' : 'orphan-slice';
      if (kind === 'orphan-slice') expect(refs.length).toBeLessThanOrEqual(ORPHAN_SLICE_TASKS);
      events.push(kind);
      if (kind === 'orphan-slice') sliceStarts.push(refs[0]?.taskId as string);
      if (kind === 'orphan-slice' && !launched) {
        launched = true;
        events.push('launch');
        executor?.launch('gc-1', encodeAdjustRetainedTasks(new Map([...agent.taskIds.active].map((id) => [id, ScheduleStatus.RUNNING]))));
      }
      return mapBounded(refs, 32, (r) => readTaskFacts(r));
    };
    const services = createLocalServices({ config, logger: silentLogger(), readFacts });
    executor = new GcExecutor({
      driver,
      clock,
      config,
      services,
      logger: silentLogger(),
      metrics: new GcMetrics(),
    });
    const running = executor.run();
    await untilSleeping(clock);
    // Startup pass: one slice, then the launch arrived: the run, then the rest of the active tasks.
    const firstRun = events.indexOf('run-read');
    expect(events.slice(0, firstRun + 1)).toEqual(['orphan-slice', 'launch', 'run-read']);
    expect(driver.updatesFor('gc-1').at(-1)?.state).toBe('TASK_FINISHED');
    expect(events.slice(firstRun + 1).filter((e) => e === 'orphan-slice')).toHaveLength(SLICES - 1);
    // Resumed where it stopped: every active task checked once, none twice.
    const sorted = [...agent.taskIds.active].sort();
    expect(sliceStarts).toEqual(Array.from({ length: SLICES }, (_, i) => sorted[i * ORPHAN_SLICE_TASKS]));

    // With nothing queued the next pass runs to the end from the start.
    sliceStarts.length = 0;
    clock.advance(config.pollWaitMs);
    await untilSleeping(clock);
    expect(sliceStarts).toEqual(Array.from({ length: SLICES }, (_, i) => sorted[i * ORPHAN_SLICE_TASKS]));
    executor.shutdown();
    await untilSleeping(clock);
    clock.advance(config.persistenceWaitMs);
    await running;
  });
});
