"""What the Python tests share: paths, the reference output, one daemon.

tests/python.test sets MARCD_LIB, MARCD_BIN, MARCCTL and MARCD_SRCDIR to
the build and source trees; run by hand, the same variables (or a build in
the source tree) do.  One daemon, started on first use and stopped at exit,
serves the tests that need a running service.
"""

import atexit
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("MARCD_SRCDIR") or os.path.dirname(
    os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "client", "python"))

import marcd  # noqa: E402  (after the path is set)

DATA = os.path.join(SRCDIR, "tests", "data")
CORPUS = os.path.join(DATA, "corpus")
VALID = os.path.join(CORPUS, "valid")
MALFORMED = os.path.join(CORPUS, "malformed")
MARC8 = os.path.join(DATA, "marc8")


def _marcctl():
    env = os.environ.get("MARCCTL")
    if env:
        return env
    for d in (os.environ.get("MARCD_BUILDDIR"), SRCDIR):
        if d and os.path.exists(os.path.join(d, "marcctl")):
            return os.path.join(d, "marcctl")
    return "marcctl"


MARCCTL = _marcctl()


def valid_files():
    """Every file of the valid corpus (tests/data/marc8 if there is none)."""
    files = sorted(glob.glob(os.path.join(VALID, "*")))
    if not files:
        files = sorted(f for f in glob.glob(os.path.join(MARC8, "*"))
                       if not f.endswith((".mrk", ".txt", ".md")))
    return files


def marc8_files():
    return sorted(f for f in glob.glob(os.path.join(MARC8, "*"))
                  if not f.endswith((".mrk", ".txt", ".md")))


def malformed_files():
    return sorted(glob.glob(os.path.join(MALFORMED, "*")))


def dump_json(path, charset="auto"):
    """The reference: `marcctl dump --format marcjson`, one dict a record."""
    p = subprocess.run([MARCCTL, "dump", "--format", "marcjson",
                        "--charset", charset, path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError("marcctl dump %s: exit %d: %s" % (
            path, p.returncode, p.stderr.decode(errors="replace")))
    return [json.loads(line) for line in p.stdout.splitlines() if line]


def first_record_bytes(path):
    """The bytes of the first record of a file (by its leader length)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int(data[:5])
    return data[:n]


_big = {}


def record_counts(files):
    """{file: records} by `marcctl count` (one run for all)."""
    p = subprocess.run([MARCCTL, "count"] + list(files),
                       stdout=subprocess.PIPE, check=False)
    out = {}
    for line in p.stdout.decode().splitlines():
        n, name = line.split(None, 1)
        out[name] = int(n)
    return out


def big_file(records=20000):
    """A temporary file of at least `records` real records (the valid
    corpus repeated) and its record count; made once, removed at exit."""
    if records in _big:
        return _big[records]
    files = valid_files()
    counts = record_counts(files)
    fd, path = tempfile.mkstemp(prefix="marcd-pytest-", suffix=".mrc")
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    total = 0
    with os.fdopen(fd, "wb") as out:
        while total < records:
            for f in files:
                with open(f, "rb") as src:
                    out.write(src.read())
                total += counts[f]
    _big[records] = path, total
    return path, total


_daemon = None


def daemon():
    """The shared daemon for service-mode tests (started once)."""
    global _daemon
    if _daemon is None:
        _daemon = marcd.Daemon(workers=2, arena_size="128M").start()
        # wait until it accepts
        _daemon.client().close()
        atexit.register(_daemon.stop)
    return _daemon


def client(**kw):
    return marcd.Client(daemon().socket, **kw)


def read_all(path_or_data, charset="auto", **kw):
    """Records of a batch on the shared daemon, as dicts, plus its errors."""
    with client() as c:
        b = c.submit(path_or_data, charset=charset, **kw)
        recs = [r.as_dict() for r in b]
        return recs, b.errors


def _sf_same(g, w):
    # The package reads a subfield code that is not one ASCII character as
    # pymarc does (NFKD, the diacritics dropped: 'á' is 'a'), where marcctl
    # shows U+FFFD and the code's other UTF-8 bytes in the value.
    (gc, gv), = g.items()
    (wc, wv), = w.items()
    if gc == wc:
        return gv == wv
    return (wc == "\ufffd" and len(gc) == 1 and gc.isascii()
            and wv.lstrip("\ufffd") == gv.lstrip("\ufffd"))


def same_record_dict(g, w):
    """Whether two MARC-in-JSON dicts agree, but for the subfield codes
    the package normalises (see _sf_same)."""
    if g == w:
        return True
    if g.get("leader") != w.get("leader") or \
            len(g.get("fields", ())) != len(w.get("fields", ())):
        return False
    for gf, wf in zip(g["fields"], w["fields"]):
        if gf == wf:
            continue
        (gt, gd), = gf.items()
        (wt, wd), = wf.items()
        if gt != wt or not isinstance(gd, dict) or not isinstance(wd, dict):
            return False
        if (gd["ind1"], gd["ind2"]) != (wd["ind1"], wd["ind2"]) or \
                len(gd["subfields"]) != len(wd["subfields"]):
            return False
        if not all(_sf_same(a, b)
                   for a, b in zip(gd["subfields"], wd["subfields"])):
            return False
    return True


def assert_same_list(tc, got, want, what=""):
    """Compare long lists without unittest's diff (far too slow on them).
    Record dicts may differ only in normalised subfield codes."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w and not (isinstance(g, dict) and isinstance(w, dict)
                           and same_record_dict(g, w)):
            tc.fail("%s: item %d differs:\n got %r\nwant %r"
                    % (what, i, g, w))
    if len(got) != len(want):
        tc.fail("%s: %d items, want %d" % (what, len(got), len(want)))


def proc_cmdlines():
    """{pid: cmdline} of every process we can see."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    out[int(d)] = f.read().replace(b"\0", b" ").decode(
                        errors="replace")
            except OSError:
                pass
    return out


def child_env(**extra):
    """Environment for a child python that imports marcd like we do."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(SRCDIR, "client", "python"), HERE] +
        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env
