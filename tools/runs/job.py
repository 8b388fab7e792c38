"""One run of a sweep as a job: call train.py with the run's arguments, keep its output, say how it ended."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Optional, Set

from trainers.record import RECORD_FILE, read_record
from tools.runs.run import REPO_ROOT, Run
from trainers.run_folder import lock_holder

RAN = "ran"
ALREADY_FINISHED = "already finished"
RUNNING_ELSEWHERE = "running elsewhere"
FAILED = "failed"
OUTCOMES = (RAN, ALREADY_FINISHED, RUNNING_ELSEWHERE, FAILED)

# train.py's exit status and message when RunLock finds the run folder locked (lamm/files.py).
LOCKED_EXIT_CODE = 2
LOCKED_MESSAGE = "is being run by another process"

# train.py runs with SIGUSR2 ignored: submitit warns a Slurm job of its time limit with SIGUSR2,
# which must reach submitit (it requeues the job, and this module then stops the run), not kill
# train.py first. An ignored signal stays ignored through exec, into train.py.
IGNORE_USR2 = ["bash", "-c", 'trap "" USR2; exec "$@"', "bash"]

# Processes started by RunJob in this interpreter, so that an interrupted sweep can stop them;
# once it stops them, no new one starts.
_ACTIVE: Set[subprocess.Popen] = set()
_ACTIVE_GUARD = threading.Lock()
_STOPPING = threading.Event()


@dataclass(frozen=True)
class Outcome:
    """How one run ended; ``log`` is the file with its captured output (stdout and stderr)."""

    run: Run
    status: str  # one of OUTCOMES
    log: str = ""
    returncode: Optional[int] = None
    seconds: float = 0.0
    detail: str = ""

    @property
    def run_log(self) -> str:
        """Dassl's log of the run (exists once train.py got past its setup)."""
        return os.path.join(self.run.run_dir, "log.txt")


class RunJob:
    """Callable ``(run, log_path, gpu=None) -> Outcome``; ``gpu`` sets CUDA_VISIBLE_DEVICES."""

    def __call__(self, run: Run, log_path: str, gpu: Optional[str] = None) -> Outcome:
        start = time.time()
        if read_record(run.run_dir) is not None:
            return Outcome(run, ALREADY_FINISHED)
        missing = [d for d in run.needs if read_record(d) is None]
        if missing:
            return Outcome(run, FAILED, detail=f"needs {missing[0]}, which did not finish")
        holder = lock_holder(run.run_dir)
        if holder is not None:
            return Outcome(run, RUNNING_ELSEWHERE, detail=holder)

        env = run.env()
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, "a") as log:  # a requeued job adds to the log of its first attempt
            log.write(f"# {run.shell_line()}\n# DATA={run.data} OUTPUT={run.output} "
                      f"CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '(unset)')} "
                      f"host={socket.gethostname()} started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            log.flush()
            returncode = _run_process(IGNORE_USR2 + run.argv(), env, log)
        seconds = time.time() - start
        if returncode is None:
            return Outcome(run, FAILED, log_path, None, seconds, "not started: the sweep was interrupted")

        if returncode == 0 and read_record(run.run_dir) is not None:
            return Outcome(run, RAN, log_path, returncode, seconds)
        if returncode == LOCKED_EXIT_CODE and LOCKED_MESSAGE in _tail(log_path):
            # Two launches raced past the lock probe; train.py's own lock settled it.
            return Outcome(run, RUNNING_ELSEWHERE, log_path, returncode, seconds, detail="lock taken at start")
        if returncode == 0:
            detail = f"exited 0 without writing {RECORD_FILE}"
        elif returncode < 0:
            detail = f"killed by {_signal_name(-returncode)}"
        elif returncode > 128:
            detail = f"exit {returncode} ({_signal_name(returncode - 128)}?)"
        else:
            detail = f"exit {returncode}"
        error = _error_line(_tail(log_path))
        return Outcome(run, FAILED, log_path, returncode, seconds, f"{detail}: {error}" if error else detail)

    def checkpoint(self, run: Run, log_path: str, gpu: Optional[str] = None):
        """submitit calls this on timeout or preemption: resubmit the same call."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, run, log_path, gpu)


def _run_process(command, env, log) -> Optional[int]:
    """Run ``command`` from the repository root in its own process group; stop it if we are stopped."""
    with _ACTIVE_GUARD:  # started and registered together, or not at all once stopping
        if _STOPPING.is_set():
            return None
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        _ACTIVE.add(process)
    try:
        return process.wait()
    except BaseException:  # KeyboardInterrupt, or submitit's exit on timeout
        _stop(process)
        raise
    finally:
        with _ACTIVE_GUARD:
            _ACTIVE.discard(process)


def _stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_active_runs() -> int:
    """Stop every run this interpreter started and that is still going, and start no other."""
    with _ACTIVE_GUARD:
        _STOPPING.set()
        processes = list(_ACTIVE)
    for process in processes:
        _stop(process)
    return len(processes)


def _tail(path: str, size: int = 8192) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _error_line(text: str, width: int = 200) -> str:
    """The last line of ``text`` that reads as an error message ("error: ...", "ValueError: ..."), or ""."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("error:") or re.match(r"^[\w.]*(Error|Exception)\b", line):
            return line if len(line) <= width else line[:width - 3] + "..."
    return ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
