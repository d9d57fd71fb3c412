// A stand-in Thermos runner: locks the runner checkpoint (flock, like the real runner), forks a
// "coordinator" in its own session whose "process" has a child, prints the pids, and stays alive.
// Usage: node fake-runner-child.mjs <runner checkpoint path>
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import fsExt from 'fs-ext';

const ckpt = process.argv[2];
mkdirSync(dirname(ckpt), { recursive: true });
const fd = openSync(ckpt, 'a');
fsExt.flockSync(fd, 'exnb');

// coordinator (sh, own session) → process (sleep, after exec) → grandchild (sleep)
const script = 'sh -c "sleep 1000 & echo grandchild \\$!; exec sleep 1000" & echo process $!; wait';
const coordinator = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
const pids = { runner: process.pid, coordinator: coordinator.pid };
let buffered = '';
coordinator.stdout.setEncoding('utf8');
coordinator.stdout.on('data', (chunk) => {
  buffered += chunk;
  for (const m of buffered.matchAll(/(process|grandchild) (\d+)/g)) pids[m[1]] = Number(m[2]);
  if (pids.process !== undefined && pids.grandchild !== undefined) {
    process.stdout.write(JSON.stringify(pids) + '\n');
    coordinator.stdout.removeAllListeners('data');
    coordinator.stdout.resume();
  }
});
setInterval(() => {}, 60_000);
