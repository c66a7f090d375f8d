"""``GuardedExecute``: nbgrader's ``Execute`` that survives hostile cells.

nbgrader's own behaviour, and what this adds:

* a dead kernel (``os._exit``, ``exit()``, a crash, the memory limit) raises
  ``DeadKernelError`` and nbgrader discards the whole submission. Here the cell that killed
  the kernel gets an error output, later cells are not run (grade cells get an error
  output saying so), and the cells that completed keep their results: partial credit for
  the work done before the crash.
* a timed-out cell is interrupted and execution continues (nbgrader's default). If the
  kernel then does not answer a probe (a loop that swallows ``KeyboardInterrupt``), the
  kernel is killed and treated as dead.
* output is capped *while* it arrives (nbgrader's ``LimitOutput`` runs after execution,
  when a flood has already filled the grader's memory): per cell, and per notebook in count
  and bytes. Hidden-test records have a budget of their own (count per test cell, bytes per
  record and per notebook), so a flood of other output cannot starve them; a record is kept
  only in the output of a test cell; one emitted anywhere else is dropped and reported.
* a wall-clock budget per notebook (``notebook_timeout``), not only per cell: each cell's
  timeout is cut to what is left; when the budget is spent the kernel is stopped, the cells
  that completed keep their points and the rest score 0, with the reason (and where the
  budget came from) in the report. By default the budget comes from the work: a multiple of
  the source notebook's run time measured at release (``budget.py``).
* the kernel runs in the bubblewrap sandbox (``sandbox.py``); once it listens, and in any
  case before a cell runs, its socket folder is sealed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Enum, Integer

from . import findings
from .sandbox import KERNEL_VARIANT_ENV, SandboxKernelManager

KERNEL_DIED = "KernelDied"
NOT_RUN = "CellNotRun"
BUDGET = "NotebookTimeBudget"
TRUNCATED = "\n[output truncated by the grader: this cell printed more than {} bytes]\n"
NB_TRUNCATED = "\n[output dropped by the grader: the notebook's outputs passed {}]\n"


def _kernel_variant(resources) -> None:
    """Tell the sandbox this submission's variant setting (``variants.for_submission``), from its student id."""
    from . import variants
    from .paths import GRADING

    os.environ.pop(KERNEL_VARIANT_ENV, None)
    info = resources.get("nbgrader", {}) if isinstance(resources, dict) else {}
    if info.get("student") and info.get("assignment"):
        root = Path(os.environ.get("COURSE_ROOT") or GRADING)
        setting, _variant, _others = variants.for_submission(root, info["student"], info["assignment"])
        os.environ[KERNEL_VARIANT_ENV] = setting


def _size(out) -> int:
    try:
        return len(json.dumps(out, default=str))
    except Exception:
        return 1 << 30


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """Execute a submission in the sandbox kernel; see the module docstring."""

    max_output_bytes = Integer(
        200_000, help="Output kept per cell (bytes of JSON); the rest is dropped as it arrives."
    ).tag(config=True)
    max_payload_bytes = Integer(
        2_000_000, help="Largest hidden-test record kept per output (they are exempt from the cap)."
    ).tag(config=True)
    max_payloads_per_cell = Integer(
        8, help="Hidden-test records kept per test cell (a test cell makes one per grade_hidden call)."
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        3_000_000, help="Output kept per notebook (bytes of JSON), hidden-test records aside."
    ).tag(config=True)
    max_notebook_outputs = Integer(2000, help="Outputs kept per notebook, hidden-test records aside.").tag(config=True)
    max_notebook_record_bytes = Integer(
        16_000_000, help="Hidden-test records kept per notebook (bytes of JSON; stripped after verification)."
    ).tag(config=True)
    notebook_timeout = Integer(
        None, allow_none=True,
        help="Wall-clock seconds for the whole notebook (kernel start included); 0: no budget; None: from the "
             "source notebook's run time measured at release (budget.py)."
    ).tag(config=True)
    probe_timeout = Integer(15, help="Seconds a kernel has to answer after a timed-out cell.").tag(config=True)
    # Every output has arrived when the last cell's reply does, so nothing is lost by killing the
    # kernel; a graceful shutdown polls for the kernel's exit and costs ~0.3 s per notebook.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="How the kernel is stopped after the last cell.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        kwargs.setdefault("store_widget_state", False)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._dead_reason = None
        self._sizes = {}
        self._nb_bytes = 0
        self._nb_outputs = 0
        self._record_bytes = 0
        self._nb_capped = False
        self._payloads = {}
        self._stray = set()
        self._cell_timeout = self.timeout
        self._budget, self._budget_why = self._notebook_budget(resources)
        self._deadline = time.monotonic() + self._budget if self._budget > 0 else None
        # the sandbox replaces the kernel command; python3 always exists, whatever the notebook names
        self.kernel_name = "python3"
        _kernel_variant(resources)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            os.environ.pop(KERNEL_VARIANT_ENV, None)
            self.timeout = self._cell_timeout
            if self._stray:
                findings.note(self.log, f"a hidden-test record outside a test cell was dropped (cells "
                                        f"{sorted(self._stray)}): answers are read only from the test cells' "
                                        "own outputs")
            if self._nb_capped:
                findings.note(self.log, f"the notebook's outputs passed the grader's cap ({self.max_notebook_outputs} "
                                        f"outputs, {self.max_notebook_output_bytes} bytes); later outputs were dropped")

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self._seal()
        return kc

    # nbclient binds the synchronous name to *its* coroutine, which the override above would not
    # change: nbconvert's preprocess (the path autograde takes) calls this one
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _seal(self) -> None:
        seal = getattr(self.km, "seal", None)
        if seal is not None:
            seal()

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        # whatever path started the kernel, no cell runs before its socket folder is sealed
        self._seal()
        if self._dead_reason is not None:
            cell.outputs = [_error(NOT_RUN, f"not run: {self._dead_reason}")] if utils.is_grade(cell) else []
            cell.execution_count = None
            return cell, resources
        left = None if self._deadline is None else self._deadline - time.monotonic()
        if left is not None and left <= 0:
            self._out_of_time(cell, index, ran=False)
            return cell, resources
        self.timeout = self._cell_timeout if left is None else max(1, min(self._cell_timeout, int(left) + 1))
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stop(cell, index, "the kernel died while running this cell (os._exit, exit(), memory limit "
                       "or a crash)")
            return cell, resources
        except Exception as exc:  # e.g. no IOPub output: the student's code broke the kernel's messaging
            self._kill()
            self._stop(cell, index, f"the kernel stopped responding ({type(exc).__name__})")
            return cell, resources
        timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.outputs)
        if timed_out and self._deadline is not None and time.monotonic() >= self._deadline - 0.5:
            self._out_of_time(cell, index, ran=True)
        elif timed_out and not self._responsive():
            self._kill()
            self._dead_reason = f"cell {index} timed out and the kernel did not respond to an interrupt"
        return cell, resources

    def _notebook_budget(self, resources) -> tuple[int, str]:
        if self.notebook_timeout is not None:
            return self.notebook_timeout, "GuardedExecute.notebook_timeout"
        from . import budget
        from .paths import GRADING

        info = resources.get("nbgrader", {}) if isinstance(resources, dict) else {}
        return budget.budget(Path(os.environ.get("COURSE_ROOT") or GRADING), info.get("assignment"),
                             info.get("notebook"))

    def _out_of_time(self, cell, index: int, ran: bool) -> None:
        """The notebook's time budget is spent: stop the kernel; this and later cells score 0."""
        why = f"the notebook used up its time budget of {self._budget} s"
        findings.note(self.log, f"{why} ({self._budget_why}) at cell {index}; that cell and the later ones "
                                "were not graded")
        self._kill()
        self._dead_reason = f"{why} (at cell {index})"
        if ran:
            cell.outputs.append(_error(BUDGET, f"{why}; this cell was stopped and the later cells were not run"))
        else:
            cell.outputs = [_error(BUDGET, f"not run: {why}")] if utils.is_grade(cell) else []
            cell.execution_count = None

    def _stop(self, cell, index: int, why: str) -> None:
        self._dead_reason = f"{why.split(' (')[0].replace('this cell', f'cell {index}')}; later cells were not run"
        cell.outputs.append(_error(KERNEL_DIED, f"{why}; the cells after it were not run"))

    def _responsive(self) -> bool:
        saved = self.timeout
        self.timeout = self.probe_timeout
        try:
            async def send():
                return await ensure_async(self.kc.execute("pass", store_history=False))

            msg_id = run_sync(send)()
            return self.wait_for_reply(msg_id) is not None
        except Exception as exc:
            self.log.warning("the kernel did not answer after a timeout: %r", exc)
            return False
        finally:
            self.timeout = saved

    def _kill(self) -> None:
        try:
            async def stop():
                await ensure_async(self.km.shutdown_kernel(now=True))

            run_sync(stop)()
        except Exception as exc:  # already gone: nothing to stop
            self.log.warning("could not stop the kernel: %s", exc)

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return out
        size = _size(out)
        meta = out.get("metadata") or {}
        from helpers.checks.core import PAYLOAD_KEY  # here, not at the top: keeps numpy out of config loading

        record = False
        if isinstance(meta, dict) and PAYLOAD_KEY in meta:
            cell = self.nb.cells[cell_index]
            count = self._payloads.get(cell_index, 0) + 1
            self._payloads[cell_index] = count
            is_test = utils.is_grade(cell) and not utils.is_solution(cell)
            record = (is_test and count <= self.max_payloads_per_cell and size <= self.max_payload_bytes
                      and self._record_bytes + size <= self.max_notebook_record_bytes)
            if record:  # records have their own budget: a flood of other outputs cannot starve them
                self._record_bytes += size
                return out
            if not is_test:
                self._stray.add(cell_index)
            meta.pop(PAYLOAD_KEY, None)  # kept as an ordinary output, under the caps below
        used = self._sizes.get(cell_index, 0)
        self._sizes[cell_index] = used + size
        if used + size > self.max_output_bytes:  # the cell's cap
            _drop(outs, out)
            if used <= self.max_output_bytes:
                outs.append(new_output("stream", name="stdout", text=TRUNCATED.format(self.max_output_bytes)))
                self._sizes[cell_index] = self.max_output_bytes + 1
            return out
        if self._nb_capped or self._nb_outputs >= self.max_notebook_outputs or \
                self._nb_bytes + size > self.max_notebook_output_bytes:  # the notebook's cap
            _drop(outs, out)
            if not self._nb_capped:
                self._nb_capped = True
                outs.append(new_output("stream", name="stdout", text=NB_TRUNCATED.format(
                    f"{self.max_notebook_outputs} outputs or {self.max_notebook_output_bytes} bytes")))
            return out
        self._nb_outputs += 1
        self._nb_bytes += size
        return out

    def _update_display_id(self, display_id, msg):
        """Ignored: an update would replace a kept output's data and metadata past every cap."""

    def handle_comm_msg(self, outs, msg, cell_index):
        """Ignored: widget state would be stored in the notebook past every cap (nothing graded uses it)."""


def _drop(outs, out) -> None:
    if outs and outs[-1] is out:
        outs.pop()
