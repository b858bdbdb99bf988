"""Data Tools sandbox kernel: a persistent Python session speaking JSON lines on stdin/stdout.

Requests:  {"id": 1, "op": "execute", "code": "..."}
Replies:   {"id": 1, "type": "stream", "name": "stdout", "text": "..."}
           {"id": 1, "type": "display", "data": {"image/png": "...", "text/plain": "..."}, "is_result": false}
           {"id": 1, "type": "error", "ename": "...", "evalue": "...", "traceback": "..."}
           {"id": 1, "type": "done", "execution_count": 3, "dropped": 0}
Uses IPython's InteractiveShell (Jupyter semantics) when installed, plain exec otherwise.
"""
import ast
import base64
import json
import os
import resource
import signal
import sys
import traceback

OUTPUT_CAP = int(os.environ.get("DATATOOLS_OUTPUT_CAP", str(1024 * 1024)))
TABLE_ROWS = 1000


def set_limits():
    """The fallback limits only (the launcher sets them when no cgroup is available): RLIMIT_AS for memory,
    RLIMIT_NPROC for processes (non-root). With a cgroup, memory and processes are limited from outside."""
    mem = int(os.environ.get("DATATOOLS_RLIMIT_AS", "0"))
    if mem > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    nproc = int(os.environ.get("DATATOOLS_RLIMIT_NPROC", "0"))
    if nproc > 0:
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        except (ValueError, OSError):
            pass
    fsize = int(os.environ.get("DATATOOLS_RLIMIT_FSIZE", "0"))
    if fsize:
        # no file grows past this (data roots included); Python ignores SIGXFSZ, so the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cwd = os.environ.get("DATATOOLS_CWD")
    if cwd:
        os.chdir(cwd)


# the protocol gets its own copy of fd 1; fd 1 itself goes to stderr so that child processes writing to
# stdout cannot corrupt the protocol
_proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
_current = {"id": None, "used": 0, "dropped": 0}


def send(msg):
    _proto.write(json.dumps(msg, default=str) + "\n")
    _proto.flush()


class Stream:
    """sys.stdout / sys.stderr during a call: forwards text, keeps at most OUTPUT_CAP bytes per call."""

    def __init__(self, name):
        self.name = name
        self.encoding = "utf-8"

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        n = len(text.encode("utf-8", "replace"))
        room = OUTPUT_CAP - _current["used"]
        if room <= 0:
            _current["dropped"] += n
            return len(text)
        if n > room:
            keep = text.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
            _current["dropped"] += n - len(keep.encode("utf-8"))
            text, n = keep, len(keep.encode("utf-8"))
        _current["used"] += n
        send({"id": _current["id"], "type": "stream", "name": self.name, "text": text})
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return 2


def jsonable(v):
    try:
        import numpy as np
        if isinstance(v, np.generic):
            return v.item()
    except Exception:
        pass
    if v is None or isinstance(v, (bool, int, float, str)):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return None
        return v
    return str(v)


def table_of(obj):
    """A pandas DataFrame or Series as a table part (first TABLE_ROWS rows)."""
    try:
        import pandas as pd
    except Exception:
        return None
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if not isinstance(obj, pd.DataFrame):
        return None
    df = obj
    show_index = not isinstance(df.index, pd.RangeIndex)
    head = df.head(TABLE_ROWS)
    if show_index:
        head = head.reset_index()
    columns = [{"name": str(c), "type": str(t)} for c, t in zip(head.columns, head.dtypes)]
    rows = [[jsonable(v) for v in r] for r in head.itertuples(index=False, name=None)]
    return {"columns": columns, "rows": rows, "totalRows": int(len(df)), "truncated": len(df) > TABLE_ROWS}


# Bounded memory: what one display or error may carry to the server (the repr of a 300 MB string, a huge cell in a
# DataFrame, an enormous image) is cut here, with its full size said, before it is sent.
TEXT_CAP = OUTPUT_CAP
CELL_CAP = 10_000
IMAGE_CAP = 16 * 1024 * 1024


def cut(text, cap):
    if len(text) <= cap:
        return text
    return text[:cap] + f"\n… [cut: {len(text):,} characters in all]"


def bounded_table(t):
    for row in t["rows"]:
        for i, v in enumerate(row):
            if isinstance(v, str) and len(v) > CELL_CAP:
                row[i] = v[:CELL_CAP] + f"… [cut: {len(v):,} chars in all]"
    return t


def emit_display(data, is_result=False, obj=None):
    out = {}
    for k, v in data.items():
        if k in ("text/plain", "text/html", "image/svg+xml", "text/markdown"):
            out[k] = cut(v if isinstance(v, str) else str(v), TEXT_CAP)
        elif k == "application/json":
            try:
                size = len(json.dumps(v, default=str))
            except Exception:
                size = TEXT_CAP + 1
            if size <= TEXT_CAP:
                out[k] = v
        elif k in ("image/png", "image/jpeg"):
            b64 = v if isinstance(v, str) else base64.b64encode(v).decode("ascii")
            if len(b64) <= IMAGE_CAP:
                out[k] = b64
            elif "text/plain" not in data:
                out["text/plain"] = f"[an image of {len(b64):,} base64 characters was left out: over the {IMAGE_CAP:,} limit; save it to a file]"
    if obj is not None:
        t = table_of(obj)
        if t is not None:
            out["application/vnd.datatools.table+json"] = bounded_table(t)
    send({"id": _current["id"], "type": "display", "data": out, "is_result": is_result})


def send_error(ename, evalue, tb):
    send({"id": _current["id"], "type": "error", "ename": ename, "evalue": cut(str(evalue), 100_000), "traceback": cut(str(tb), TEXT_CAP)})


def make_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.displayhook import DisplayHook

    shell = InteractiveShell.instance(colors="NoColor", history_length=0)
    shell.history_manager.enabled = False

    class Hook(DisplayHook):
        def __call__(self, result=None):
            if result is None:
                return
            self.check_for_underscore()
            data, _md = self.shell.display_formatter.format(result)
            self.update_user_ns(result)
            emit_display(data, True, result)

    hook = Hook(shell=shell, cache_size=0)
    shell.displayhook = hook
    shell.display_trap.hook = hook

    def publish(data, metadata=None, source=None, *, transient=None, update=False, **kw):
        emit_display(data)

    shell.display_pub.publish = publish

    def show_tb(etype, evalue, stb):
        send_error(etype.__name__, str(evalue), "\n".join(stb))

    shell._showtraceback = show_tb
    try:
        shell.run_line_magic("matplotlib", "inline")
    except Exception:
        pass
    # DataFrames become tables; the display formatter still provides text/plain and text/html

    def run(code):
        r = shell.run_cell(code, store_history=True)
        return shell.execution_count - 1 if r.execution_count is None else r.execution_count

    return run


def make_plain():
    ns = {"__name__": "__main__"}
    count = [0]

    def run(code):
        count[0] += 1
        try:
            tree = ast.parse(code, "<cell>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<cell>", "exec"), ns)
            if last is not None:
                v = eval(compile(last, "<cell>", "eval"), ns)
                if v is not None:
                    emit_display({"text/plain": repr(v)}, True, v)
        except BaseException as e:  # noqa: BLE001 - every failure is reported to the caller
            if isinstance(e, SystemExit):
                pass
            send_error(type(e).__name__, str(e), traceback.format_exc())
        return count[0]

    return run


# SIGINT from the host (a timeout or a cancel) interrupts the running cell, as Jupyter's interrupt does: the cell gets
# a KeyboardInterrupt and the session keeps its state. Between cells it is ignored, so it can never end the kernel.
_running = [False]


def _on_sigint(signum, frame):
    if _running[0]:
        raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGINT, _on_sigint)
    set_limits()
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        run = make_ipython()
        engine = "ipython"
    except Exception:
        run = make_plain()
        engine = "plain"
    stdin = sys.stdin
    send({"type": "ready", "engine": engine, "python": sys.version.split()[0], "pid": os.getpid()})
    for line in stdin:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        _current.update(id=req.get("id"), used=0, dropped=0)
        if req.get("op") == "execute":
            sys.stdout, sys.stderr = Stream("stdout"), Stream("stderr")
            # the interrupt window closes as soon as the cell returns: a SIGINT that arrives while the error of a
            # cell is being reported must not escape the loop and end the kernel (the host sends one per cell)
            try:
                _running[0] = True
                try:
                    count = run(req.get("code", ""))
                finally:
                    _running[0] = False
            except BaseException as e:  # noqa: BLE001
                _running[0] = False
                send_error(type(e).__name__, str(e), traceback.format_exc())
                count = None
            finally:
                sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            send({"id": req.get("id"), "type": "done", "execution_count": count, "dropped": _current["dropped"]})


if __name__ == "__main__":
    main()
