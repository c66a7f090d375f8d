"""grading/course/audit.py: the grading kernel's file and process guard."""

import subprocess
import sys
import textwrap

from grading.course.audit import decide


def test_most_specific_folder_decides():
    protected, allowed = ["/course", "/course/helpers"], ["/course/autograded/ann/ps1", "/usr"]
    assert not decide("/course/helpers/_reference/x.py", protected, allowed)
    assert not decide("/course/gradebook.db", protected, allowed)
    assert not decide("/course/autograded/bob/ps1/a.ipynb", protected, allowed)
    assert decide("/course/autograded/ann/ps1/data.npy", protected, allowed)
    assert decide("/usr/lib/python3/x.py", protected, allowed)
    assert decide("/elsewhere", protected, allowed)
    # an allowed folder that contains a protected one does not open it up
    assert not decide("/tmp/course/gradebook.db", ["/tmp/course"], ["/tmp"])


def test_guard_blocks_reads_processes_and_ctypes(tmp_path):
    secret = tmp_path / "course" / "helpers" / "_reference"
    secret.mkdir(parents=True)
    (secret / "answer.py").write_text("ANSWER = 42\n")
    work = tmp_path / "course" / "autograded" / "ann"
    work.mkdir(parents=True)
    (work / "mine.txt").write_text("ok")
    code = textwrap.dedent(f"""
        import ctypes, os, subprocess, sys
        sys.path.insert(0, {str(sys.path[0])!r})
        from grading.course.audit import install
        install([{str(tmp_path / "course")!r}], [{str(work)!r}])
        def attempt(label, fn):
            try:
                fn()
            except PermissionError as exc:
                print(label, "blocked")
            else:
                print(label, "ALLOWED")
        attempt("read", lambda: open({str(secret / "answer.py")!r}).read())
        attempt("list", lambda: os.listdir({str(tmp_path / "course")!r}))
        attempt("import", lambda: __import__("runpy").run_path({str(secret / "answer.py")!r}))
        attempt("process", lambda: subprocess.run(["cat", {str(secret / "answer.py")!r}]))
        attempt("system", lambda: os.system("true"))
        attempt("ctypes", lambda: ctypes.CDLL(None).open)
        attempt("pythonapi", lambda: ctypes.pythonapi.PyRun_SimpleString)
        print("own file", open({str(work / "mine.txt")!r}).read())
    """)
    root = str(__import__("pathlib").Path(__file__).resolve().parent.parent)
    out = subprocess.run([sys.executable, "-c", code.replace(repr(str(sys.path[0])), repr(root))],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert all(line.endswith("blocked") for line in lines[:-1]), out.stdout
    assert len(lines) == 8 and lines[-1] == "own file ok"
