// Named shapes of the synthetic agent (dense-agent.ts), for the benchmarks, the tests and the
// demo: the plain dense node, a node with a week of Mesos executor history and some damaged
// checkpoints, and a node whose processes restarted and whose runners died mid-write.
import { generateAgent, type DenseAgent, type DenseAgentOptions } from './dense-agent.js';

export type AgentPresetName = 'dense' | 'mesos-history' | 'restarts';

export const AGENT_PRESETS: Readonly<Record<AgentPresetName, Readonly<Partial<DenseAgentOptions>>>> = Object.freeze({
  /** Today's shape: every option at its default. */
  dense: Object.freeze({}),
  /**
   * Mesos keeps executor dirs for --gc_delay (a week): every task has one, most with only a
   * dangling `runs/latest`. Coordinator checkpoints, 1–3 processes, Aurora-length ids, one
   * task in eight with an undecodable runner checkpoint.
   */
  'mesos-history': Object.freeze({
    executorHistory: true,
    linkedShare: 0.2,
    processesPerTaskRange: Object.freeze([1, 3] as const),
    coordinatorFiles: true,
    corruptShare: 0.125,
    idLength: 'aurora',
  }),
  /** Four runs per process, one task in ten with its last checkpoint record cut mid-write, two checkpoint roots. */
  restarts: Object.freeze({
    runsPerProcess: 4,
    truncatedShare: 0.1,
    checkpointRoots: 2,
    coordinatorFiles: true,
    executorHistory: true,
    linkedShare: 0.3,
    processesPerTaskRange: Object.freeze([1, 3] as const),
  }),
});

export const AGENT_PRESET_NAMES: readonly AgentPresetName[] = Object.freeze(Object.keys(AGENT_PRESETS) as AgentPresetName[]);

export function isAgentPresetName(name: string): name is AgentPresetName {
  return Object.prototype.hasOwnProperty.call(AGENT_PRESETS, name);
}

/** A fresh copy of a preset's options (safe to change). Throws RangeError for an unknown name. */
export function presetOptions(name: AgentPresetName): Partial<DenseAgentOptions> {
  if (!isAgentPresetName(name)) throw new RangeError(`unknown agent preset ${JSON.stringify(name)} (known: ${AGENT_PRESET_NAMES.join(', ')})`);
  const p = AGENT_PRESETS[name];
  const out: Partial<DenseAgentOptions> = { ...p };
  if (p.processesPerTaskRange !== undefined) out.processesPerTaskRange = [p.processesPerTaskRange[0], p.processesPerTaskRange[1]];
  if (p.activeMix !== undefined) out.activeMix = [...p.activeMix] as [number, number, number];
  if (p.finishedMix !== undefined) out.finishedMix = [...p.finishedMix] as [number, number, number];
  return out;
}

/** generateAgent with the preset's options, `opts` taking precedence. */
export function generatePresetAgent(dir: string, preset: AgentPresetName, opts: DenseAgentOptions): Promise<DenseAgent> {
  return generateAgent(dir, { ...presetOptions(preset), ...opts });
}
