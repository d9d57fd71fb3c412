// Piscina entry point: one named export per job (the pool selects it with `name`). Thin: the
// jobs live in src/pool/jobs.ts, and `--workers 0` runs their async twins on the main thread.
import { tuneHeap } from '../src/heap-tuning.js';

// Starting this thread re-applied V8's command-line flags for the whole process: set them again.
tuneHeap();

export {
  readFactsInWorker as readFacts,
  deleteTargetsInWorker as deleteTargets,
  snapshotProcessesJob as snapshotProcesses,
  linkedExecutorsInWorker as linkedExecutors,
  measureTasksInWorker as measureTasks,
  inspectTasksInWorker as inspectTasks,
} from '../src/pool/jobs.js';
