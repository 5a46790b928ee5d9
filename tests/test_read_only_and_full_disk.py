"""Read-only media and a full disk (issue 12, items 3 and 6).

A store on a read-only file system is read (`results`, `report --format md`); writes onto one, or
under a file, are refused in one line before anything is written; a full disk during `run` is one
line, keeps what finished, leaves no staging folder, and the same command finishes the study later.

Read-only: `chmod a-w` does not stop root, so the tests that need a read-only file system mount one
in a private mount namespace (`unshare -rm`, a user namespace: no privilege needed where the kernel
allows them) and run the CLI in it; they skip where that is not allowed. The full-disk behaviour is
tested in process with a write that fails with ENOSPC, and on a real small tmpfs where one can be
mounted the same way.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import xstilts
from xstilts.cli import main
from xstilts.files import atomic_write_bytes

PINNED_STORE = Path(__file__).parent / "pinned" / "store"
SRC = Path(xstilts.__file__).resolve().parents[1]  # the package under test, for the child processes


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("xstilts: error: ")
    return err[0]


def in_namespace(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`sh -c script` as root of a private user and mount namespace (`$X` runs the CLI there).
    Skips the test where such a namespace, or a mount in it, is not allowed (exit 99 from the script)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) here: cannot mount a read-only or small file system")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    env["X"] = f"{sys.executable} -m xstilts.cli"
    done = subprocess.run(
        [unshare, "-rm", "sh", "-c", script, "sh", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode == 99 or (done.returncode != 0 and "unshare" in done.stderr[:200]):
        pytest.skip(f"cannot mount here: {done.stderr.strip()[:200]}")
    return done


# $1 is bind-mounted read-only onto itself; the rest is the command to run there.
READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99; shift; "$@"'


def cli_on_read_only(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return in_namespace(READ_ONLY, str(folder), sys.executable, "-m", "xstilts.cli", *argv)


def copy_of_pinned_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(PINNED_STORE, store)
    return store


def test_results_and_report_read_a_store_on_a_read_only_file_system(tmp_path: Path) -> None:
    store = copy_of_pinned_store(tmp_path)
    writable = copy_of_pinned_store(tmp_path / "w")
    for argv in (["results"], ["report", "--format", "md", "--resamples", "50", "--quiet"]):
        done = cli_on_read_only(store, *argv[:1], str(store), *argv[1:])
        assert done.returncode == 0, done.stderr
        expected = subprocess.run(
            [sys.executable, "-m", "xstilts.cli", argv[0], str(writable), *argv[1:]],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SRC)},
            check=True,
        )
        assert done.stdout.replace(str(store), "DIR") == expected.stdout.replace(str(writable), "DIR")
    # The HTML report is written into the store's folder: refused in one line, saying what works.
    done = cli_on_read_only(store, "report", str(store), "--resamples", "50", "--quiet")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "read-only file system" in line and "--format md" in line


def test_a_store_whose_wal_cannot_be_read_there_is_refused(tmp_path: Path) -> None:
    source = copy_of_pinned_store(tmp_path / "source")
    copied = tmp_path / "copied"
    conn = sqlite3.connect(source / "results.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    columns = "study, arm, run, phase, seed, task, task_version, language, split, metric || '-again', value"
    # Rows in the -wal file, not yet in the main file.
    conn.execute(f"INSERT INTO results SELECT {columns}, code_version, recorded_at FROM results")
    conn.commit()
    shutil.copytree(source, copied)  # copied while the writer is open: the -wal holds them
    conn.close()
    (copied / "results.sqlite-shm").unlink()
    assert (copied / "results.sqlite-wal").stat().st_size > 0
    done = cli_on_read_only(copied, "results", str(copied))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "results.sqlite-wal: rows not yet folded into results.sqlite" in done.stderr


def test_writes_onto_a_read_only_file_system_are_refused_in_one_line(tmp_path: Path, cache_dir: Path) -> None:
    store = copy_of_pinned_store(tmp_path)
    read_only = tmp_path / "ro"
    read_only.mkdir()
    script = (
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99\n'
        '$X results "$2" --csv "$1/rows.csv"; echo "rc=$?"\n'
        '$X run "$3" --out "$1/out" --cache-dir "$4" --quiet; echo "rc=$?"\n'
        '$X run "$3" --out "$2/out" --cache-dir "$1/cache" --quiet; echo "rc=$?"\n'
    )
    study = xstilts_demo_study()
    done = in_namespace(script, str(read_only), str(store), str(study), str(cache_dir))
    assert done.stdout.count("rc=2") == 3, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("xstilts: error: ") for line in lines), lines
    assert f"--csv {read_only}/rows.csv: folder {read_only}: cannot write there" in lines[0]
    assert f"--out {read_only}/out: cannot write there: {read_only} is on a read-only" in lines[1]
    assert f"--cache-dir {read_only}/cache: cannot write there" in lines[2]
    assert list(read_only.iterdir()) == [] and not (store / "out").exists()


def xstilts_demo_study() -> Path:
    from xstilts.demo import OWN_DATA_STUDY

    return Path(OWN_DATA_STUDY)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod a-w; the mount tests cover root")
def test_results_reads_a_store_in_a_folder_without_write_permission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = copy_of_pinned_store(tmp_path)
    for path in (store, *store.rglob("*")):
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        assert main(["results", str(store)]) == 0
        assert "study pinned" in capsys.readouterr().out
    finally:
        for path in (store, *store.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)


def test_report_export_under_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = copy_of_pinned_store(tmp_path)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert main(["report", str(store), "--export", "xtreme", "--to", str(a_file / "export")]) == 2
    assert f"--to {a_file / 'export'}: {a_file} is a file" in one_error_line(capsys)
    assert a_file.read_text() == ""


def test_a_failed_atomic_write_names_the_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FullFile:
        def __init__(self, fd: int, mode: str) -> None:
            os.close(fd)

        def __enter__(self) -> FullFile:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("xstilts.files.os.fdopen", FullFile)
    with pytest.raises(OSError) as raised:
        atomic_write_bytes(tmp_path / "scores.json", b"{}")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "scores.json")
    assert list(tmp_path.iterdir()) == []


def two_seed_study(tmp_path: Path, shared_data: Path) -> Path:
    from test_nothing_written import pawsx_study

    # Every run keeps its weights: the tmpfs test needs the second run not to fit beside the first
    # (with the default retention, the first target run's weights are deleted once it is scored).
    return pawsx_study(tmp_path, shared_data, seeds=[1, 2], checkpoints={"keep": "all"})


@pytest.mark.slow
def test_a_full_disk_during_run_keeps_what_finished_and_the_same_command_finishes(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from xstilts.engine import training
    from xstilts.results.store import ResultsStore

    study = two_seed_study(tmp_path, shared_data)
    out = tmp_path / "out"
    real_save = training.save_checkpoint
    saved: list[Path] = []

    def fills_the_disk(directory: Path, *args: Any) -> None:
        if saved:  # the second run's checkpoint: half written, then the disk is full
            directory.mkdir(parents=True)
            (directory / "heads.safetensors").write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(directory)
        real_save(directory, *args)

    monkeypatch.setattr(training, "save_checkpoint", fills_the_disk)
    argv = ["run", str(study), "--out", str(out), "--quiet", "--cache-dir", str(cache_dir)]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert "the disk is full" in line and str(out) in line and "run the same command again" in line
    done = sorted(out.glob("runs/target-*/DONE"))
    assert len(done) == 1  # the first seed's run, whole
    finished = done[0].parent
    kept = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    assert not list(out.rglob(".tmp-*")) and not (out / "results.json").exists()
    assert {r["seed"] for r in ResultsStore(out / "results.sqlite", create=False).rows()} == {1}

    monkeypatch.setattr(training, "save_checkpoint", real_save)  # room again
    assert main(argv) == 0
    assert len(list(out.glob("runs/target-*/DONE"))) == 2 and (out / "results.json").is_file()
    assert {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()} == kept  # reused, not retrained
    assert {r["seed"] for r in ResultsStore(out / "results.sqlite", create=False).rows()} == {1, 2}


@pytest.mark.slow
def test_a_full_tmpfs_during_run(tmp_path: Path, shared_data: Path, cache_dir: Path) -> None:
    """On a real 120 MiB tmpfs: the tiny model's first run (78 MB) fits, the second does not."""
    study = two_seed_study(tmp_path, shared_data)
    disk = tmp_path / "disk"
    disk.mkdir()
    report = tmp_path / "report"  # outside the tmpfs: what the namespace saw, for the assertions
    script = (
        'mount -t tmpfs -o size=120m none "$1" || exit 99\n'
        'run() { $X run "$2" --out "$1/out" --quiet --cache-dir "$3"; }\n'
        'run "$@" 2>"$4.err1"; echo $? >"$4.rc1"\n'
        'find "$1/out" | sort >"$4.files1"\n'
        'mount -o remount,size=400m "$1" || exit 99\n'
        'run "$@" 2>"$4.err2" >/dev/null; echo $? >"$4.rc2"\n'
        'find "$1/out" | sort >"$4.files2"\n'
    )
    done = in_namespace(script, str(disk), str(study), str(cache_dir), str(report))
    assert done.returncode == 0, done.stderr
    first = Path(f"{report}.err1").read_text().strip()
    assert Path(f"{report}.rc1").read_text().strip() == "2", first
    assert "\n" not in first and "the disk is full" in first and "Traceback" not in first
    files = Path(f"{report}.files1").read_text().splitlines()
    assert sum(f.endswith("/DONE") and "/target-" in f for f in files) == 1
    assert not [f for f in files if "/.tmp-" in f or f.endswith(".tmp")], files
    assert Path(f"{report}.rc2").read_text().strip() == "0", Path(f"{report}.err2").read_text()
    files = Path(f"{report}.files2").read_text().splitlines()
    assert sum(f.endswith("/DONE") and "/target-" in f for f in files) == 2
    assert any(f.endswith("/out/results.json") for f in files)


def test_a_full_disk_under_results_csv_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = copy_of_pinned_store(tmp_path)
    target = tmp_path / "rows.csv"

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr("xstilts.results.tables.export_csv", full)
    assert main(["results", str(store), "--csv", str(target)]) == 2
    line = one_error_line(capsys)
    assert line == f"xstilts: error: {target}: No space left on device (the disk is full)"
    assert not target.exists()
