#!/usr/bin/python3
"""`thermos-gc plan --json` done the way the original Python executor does it.

A benchmark reference, not part of thermos-gc: list the task dirs with glob (TaskDetector), replay
every runner checkpoint with Apache Thrift's Python library (RecordIO frames, TBinaryProtocol
over a TMemoryBuffer per record, structs written as the Thrift compiler's Python generator writes
them, and the dispatcher's replay rules), stat it for the staleness check, glob the Mesos runs/
dirs (ExecutorDetector), apply the reconciliation table and print the same JSON as `plan --json`.

    /usr/bin/python3 bench/reference/plan_reference.py --checkpoint-root DIR --mesos-root DIR \
        --retained FILE --now EPOCH_S [--minimum-kill-age-s 600] [--kill-budget 0.5]

Needs Debian's python3-thrift (`apt-get install python3-thrift`), which installs for
/usr/bin/python3.
"""
import argparse
import glob
import json
import os
import struct
import sys

from thrift.Thrift import TType
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport


class RunnerHeader(object):
    def __init__(self):
        self.task_id = None
        self.launch_time_ms = None
        self.sandbox = None
        self.log_dir = None
        self.hostname = None
        self.user = None
        self.uid = None
        self.ports = None

    def read(self, iprot):
        iprot.readStructBegin()
        while True:
            (fname, ftype, fid) = iprot.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 1 and ftype == TType.STRING:
                self.task_id = iprot.readString()
            elif fid == 2 and ftype == TType.I64:
                self.launch_time_ms = iprot.readI64()
            elif fid == 3 and ftype == TType.STRING:
                self.sandbox = iprot.readString()
            elif fid == 7 and ftype == TType.STRING:
                self.log_dir = iprot.readString()
            elif fid == 4 and ftype == TType.STRING:
                self.hostname = iprot.readString()
            elif fid == 5 and ftype == TType.STRING:
                self.user = iprot.readString()
            elif fid == 8 and ftype == TType.I32:
                self.uid = iprot.readI32()
            elif fid == 6 and ftype == TType.MAP:
                self.ports = {}
                (_ktype, _vtype, size) = iprot.readMapBegin()
                for _ in range(size):
                    k = iprot.readString()
                    self.ports[k] = iprot.readI64()
                iprot.readMapEnd()
            else:
                iprot.skip(ftype)
            iprot.readFieldEnd()
        iprot.readStructEnd()


class ProcessStatus(object):
    def __init__(self):
        self.seq = None
        self.process = None
        self.state = None
        self.coordinator_pid = None
        self.fork_time = None
        self.start_time = None
        self.pid = None
        self.stop_time = None
        self.return_code = None

    def read(self, iprot):
        iprot.readStructBegin()
        while True:
            (fname, ftype, fid) = iprot.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 1 and ftype == TType.I64:
                self.seq = iprot.readI64()
            elif fid == 3 and ftype == TType.STRING:
                self.process = iprot.readString()
            elif fid == 5 and ftype == TType.I32:
                self.state = iprot.readI32()
            elif fid == 10 and ftype == TType.I32:
                self.coordinator_pid = iprot.readI32()
            elif fid == 11 and ftype == TType.DOUBLE:
                self.fork_time = iprot.readDouble()
            elif fid == 6 and ftype == TType.DOUBLE:
                self.start_time = iprot.readDouble()
            elif fid == 7 and ftype == TType.I32:
                self.pid = iprot.readI32()
            elif fid == 8 and ftype == TType.DOUBLE:
                self.stop_time = iprot.readDouble()
            elif fid == 9 and ftype == TType.I32:
                self.return_code = iprot.readI32()
            else:
                iprot.skip(ftype)
            iprot.readFieldEnd()
        iprot.readStructEnd()


class TaskStatus(object):
    def __init__(self):
        self.state = None
        self.timestamp_ms = None
        self.runner_pid = None
        self.runner_uid = None

    def read(self, iprot):
        iprot.readStructBegin()
        while True:
            (fname, ftype, fid) = iprot.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 1 and ftype == TType.I32:
                self.state = iprot.readI32()
            elif fid == 2 and ftype == TType.I64:
                self.timestamp_ms = iprot.readI64()
            elif fid == 3 and ftype == TType.I32:
                self.runner_pid = iprot.readI32()
            elif fid == 4 and ftype == TType.I32:
                self.runner_uid = iprot.readI32()
            else:
                iprot.skip(ftype)
            iprot.readFieldEnd()
        iprot.readStructEnd()


class RunnerCkpt(object):
    def __init__(self):
        self.runner_header = None
        self.process_status = None
        self.task_status = None

    def read(self, iprot):
        iprot.readStructBegin()
        while True:
            (fname, ftype, fid) = iprot.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 1 and ftype == TType.STRUCT:
                self.runner_header = RunnerHeader()
                self.runner_header.read(iprot)
            elif fid == 2 and ftype == TType.STRUCT:
                self.process_status = ProcessStatus()
                self.process_status.read(iprot)
            elif fid == 3 and ftype == TType.STRUCT:
                self.task_status = TaskStatus()
                self.task_status.read(iprot)
            else:
                iprot.skip(ftype)
            iprot.readFieldEnd()
        iprot.readStructEnd()


class ErrorRecoveringState(Exception):
    pass


# ProcessState: WAITING 0, FORKED 1, RUNNING 2, SUCCESS 3, KILLED 4, FAILED 5, LOST 6.
ALLOWED = {0: (1, 5), 1: (2, 4, 6), 2: (3, 5, 4, 6)}
TERMINAL_PROCESS = (3, 4, 5, 6)


def deserialize(blob):
    """thrift_deserialize: one TMemoryBuffer and TBinaryProtocol per record, as TSerialization does."""
    rec = RunnerCkpt()
    rec.read(TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(blob)))
    return rec


def replay(path):
    """(header, statuses) of a runner checkpoint; ErrorRecoveringState for a stream that does not replay."""
    with open(path, 'rb') as fp:
        data = fp.read()
    header = None
    statuses = []
    processes = {}
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise ErrorRecoveringState('truncated frame header')
        (length,) = struct.unpack('>I', data[pos:pos + 4])
        if length > 64 * 1024 * 1024 or pos + 4 + length > len(data):
            raise ErrorRecoveringState('truncated record')
        try:
            rec = deserialize(data[pos + 4:pos + 4 + length])
        except Exception as e:
            raise ErrorRecoveringState(str(e))
        pos += 4 + length
        if rec.runner_header is not None:
            if header is not None:
                raise ErrorRecoveringState('second header')
            header = rec.runner_header
        elif rec.task_status is not None:
            statuses.append(rec.task_status)
        elif rec.process_status is not None:
            p = rec.process_status
            if p.process is None:
                raise ErrorRecoveringState('process status without name')
            cur = processes.get(p.process)
            if cur is None or cur[1] in TERMINAL_PROCESS:
                if p.state != 0 or p.seq is None:
                    raise ErrorRecoveringState('run must start WAITING')
                processes[p.process] = (p.seq, p.state)
            else:
                if p.seq != cur[0] + 1 or p.state not in ALLOWED.get(cur[1], ()):
                    raise ErrorRecoveringState('bad process transition')
                processes[p.process] = (p.seq, p.state)
        else:
            raise ErrorRecoveringState('empty union')
    for s in statuses:
        if s.state is None or s.timestamp_ms is None:
            raise ErrorRecoveringState('status without state or time')
    return header, statuses


SCHEDULE_STATUS = {
    'INIT': 11, 'THROTTLED': 16, 'PENDING': 0, 'ASSIGNED': 9, 'STARTING': 1, 'RUNNING': 2,
    'FINISHED': 3, 'PREEMPTING': 13, 'RESTARTING': 12, 'DRAINING': 17, 'FAILED': 4, 'KILLED': 5,
    'KILLING': 6, 'LOST': 7, 'SANDBOX_DELETED': 10,
}
TERMINAL_STATES = ('FINISHED', 'FAILED', 'KILLED', 'LOST', 'SANDBOX_DELETED')
STARTING_STATES = ('STARTING', 'ASSIGNED')
# Thermos TaskState → ScheduleStatus name (ACTIVE 0, SUCCESS 1, FAILED 2, KILLED 3, LOST 4, CLEANING 5, FINALIZING 6).
THERMOS_TO_SCHEDULE = {0: 'RUNNING', 1: 'FINISHED', 2: 'FAILED', 3: 'KILLED', 4: 'LOST', 5: 'RUNNING', 6: 'RUNNING'}


def classify(name):
    """As the reconciliation reads a scheduler status: all that is not terminal or starting is active."""
    if name in TERMINAL_STATES:
        return 'terminal'
    if name in STARTING_STATES:
        return 'starting'
    return 'active'


def safe_id(task_id):
    return task_id not in ('', '.', '..') and '/' not in task_id and '\0' not in task_id and len(task_id.encode()) <= 255


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint-root', required=True, action='append')
    ap.add_argument('--mesos-root', required=True)
    ap.add_argument('--retained', required=True)
    ap.add_argument('--now', type=float, required=True)
    ap.add_argument('--minimum-kill-age-s', type=float, default=600.0)
    ap.add_argument('--kill-budget', type=float, default=0.5)
    args = ap.parse_args()
    with open(args.retained) as f:
        retained = json.load(f)
    start = args.now
    kill_age = args.minimum_kill_age_s

    # TaskDetector: glob the task dirs of every root (the first root naming an id wins).
    active, finished, root_of = set(), set(), {}
    for root in args.checkpoint_root:
        here_active, here_finished = set(), set()
        for state, into in (('active', here_active), ('finished', here_finished)):
            for p in glob.glob(os.path.join(root, 'tasks', state, '*')):
                if os.path.isfile(p) and not os.path.islink(p):
                    into.add(os.path.basename(p))
        here_finished -= here_active
        for into, found in ((active, here_active), (finished, here_finished)):
            for task_id in found:
                if task_id not in root_of:
                    root_of[task_id] = root
                    into.add(task_id)

    # ExecutorDetector: glob the run dirs; `latest` alone does not count.
    linked = set()
    pattern = os.path.join(args.mesos_root, 'slaves', '*', 'frameworks', '*', 'executors', '*', 'runs', '*')
    for p in glob.glob(pattern):
        run = os.path.basename(p)
        executor_id = os.path.basename(os.path.dirname(os.path.dirname(p)))
        if run != 'latest' and executor_id.startswith('thermos-') and os.path.isdir(p):
            linked.add(executor_id[len('thermos-'):])

    terminate, local_gc, remote_gc, updates = [], [], [], {}
    for task_id in sorted(active | finished):
        if not safe_id(task_id):
            continue
        ckpt = os.path.join(root_of[task_id], 'checkpoints', task_id, 'runner')
        try:
            mtime = os.path.getmtime(ckpt)
        except OSError:
            mtime = None
        try:
            _header, statuses = replay(ckpt)
        except (ErrorRecoveringState, OSError):
            statuses = []
        stale = mtime is not None and start - mtime > kill_age
        name = retained.get(task_id)
        sched = 'absent' if name is None else classify(name)
        if task_id in active:
            if sched in ('active', 'starting'):
                continue
            if statuses and start - statuses[0].timestamp_ms / 1000.0 > kill_age:
                terminate.append((task_id, stale))
            elif stale:
                local_gc.append(task_id)
        elif sched == 'absent':
            local_gc.append(task_id)
        elif sched != 'terminal':
            if statuses:
                updates[task_id] = THERMOS_TO_SCHEDULE.get(statuses[-1].state, 'SANDBOX_DELETED')
            elif stale:
                local_gc.append(task_id)

    for task_id, name in retained.items():
        if task_id in active or task_id in finished:
            continue
        cls = classify(name)
        if cls == 'terminal':
            remote_gc.append(task_id)
        elif cls == 'active':
            updates[task_id] = 'LOST'

    out = {}
    would_kill = len(terminate)
    n_active = len(active)
    exceeded = None
    if would_kill > 0:
        if len(retained) == 0 and n_active > 0:
            exceeded = 'empty-map'
        elif would_kill > 1 and would_kill > args.kill_budget * n_active:
            exceeded = 'share'
    if exceeded is not None:
        terminate = []
    finished_after = set(finished) | set(t for t, _ in terminate)
    gc = set(t for t in finished_after if t not in linked) | set(local_gc)
    gc = sorted(t for t in gc if safe_id(t))
    deleted = sorted(set(remote_gc) | set(t for t in gc if t in retained))
    out['terminate'] = sorted(t for t, _ in terminate)
    out['local_gc'] = sorted(local_gc)
    out['remote_gc'] = sorted(remote_gc)
    out['updates'] = dict(sorted(updates.items()))
    out['garbage_collect'] = gc
    out['deleted_tasks'] = deleted
    if exceeded is not None:
        out['kill_budget_exceeded'] = {'would_kill': would_kill, 'active': n_active, 'budget': args.kill_budget, 'why': exceeded}
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
